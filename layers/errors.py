"""Exceptions raised by layers for problems a user can act on."""

from domain.errors import GeogapsError


class LayerError(GeogapsError):
    """A user-facing problem with an input file or the store; the message says what to do."""


class MissingCRSError(LayerError):
    """The file declares no coordinate reference system and none was given."""


class SchemaError(LayerError):
    """The file lacks the columns its kind needs."""


class DependencyError(LayerError):
    """A dataset needs another one (e.g. the commune list) that is not loaded yet."""


class StoreWriteError(LayerError):
    """The store refused the rows of a dataset; the transaction was rolled back."""
