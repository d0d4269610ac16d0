"""The project's own exceptions: problems a person can act on, each with a Spanish message.

Every package raises these (or subclasses) for user input, unknown ids and unavailable data;
the API's status table maps only these classes, so a built-in ``ValueError`` or ``KeyError``
raised by a bug is a logged 500, never a "bad parameter". They also derive from the matching
built-in (``LookupError``, ``ValueError``) so code that catches the built-in keeps working.
"""

from __future__ import annotations


class GeogapsError(Exception):
    """A problem a user can act on; the message says what to do."""


class NotFoundError(GeogapsError, LookupError):
    """An id, CUT, table, collection, feature or run that does not exist."""


class InvalidInputError(GeogapsError, ValueError):
    """A parameter, weight, file or value that is not acceptable; the message names it."""


class ConflictError(GeogapsError):
    """The request contradicts what is stored (a run in progress, a missing prerequisite)."""


class UnavailableError(GeogapsError):
    """The data store cannot answer right now (database down, folder missing)."""


class UnknownIdError(NotFoundError, KeyError):
    """An unknown id asked for like a mapping key (a challenge, an indicator, a commune).

    Also a ``KeyError``, so code that catches one keeps working and the message reads as before.
    """


class UnauthenticatedError(GeogapsError):
    """No credential, or one that matches nobody (401)."""


class ForbiddenError(GeogapsError):
    """A known credential that may not do this (another Mesa's data, a role too low) (403)."""


class StaleVersionError(ConflictError):
    """A write based on a version someone else has changed since (412)."""


class VersionRequiredError(InvalidInputError):
    """A change sent without the version it is based on (``If-Match``) (428)."""
