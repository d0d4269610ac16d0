"""One table from the project's exceptions to HTTP statuses.

Routes, services, stores and the analysis raise the project's own exceptions
(:mod:`domain.errors` and their subclasses here and in :mod:`layers.errors`); the handlers
registered by :func:`install_error_handlers` turn each into its status with a ``{"detail": ...}``
body in Spanish. Only those classes are in the table: a built-in ``ValueError``, ``KeyError`` or
``LookupError`` is a bug, answered as a logged 500 ("error interno"), never as "bad parameter".
The database driver's connection errors are the one outside family: the store is down (503).
"""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from domain.errors import (
    ConflictError,
    ForbiddenError,
    GeogapsError,
    InvalidInputError,
    NotFoundError,
    StaleVersionError,
    UnauthenticatedError,
    UnavailableError,
    VersionRequiredError,
)
from layers.errors import DependencyError, LayerError
from layers.runs import RunConflictError

logger = logging.getLogger("geogaps.api")

__all__ = [
    "BadApiKeyError",
    "BadParameterError",
    "BadRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "StoreUnavailableError",
    "WritesDisabledError",
    "install_error_handlers",
    "message_of",
    "refused_input",
    "status_of",
]


class BadParameterError(InvalidInputError):
    """A query parameter the catalogue or the schema does not accept (422)."""


class BadRequestError(InvalidInputError):
    """A malformed request (OGC API parameters: bbox, properties, unknown parameters) (400)."""


class PayloadTooLargeError(GeogapsError):
    """An upload over the configured size limit (413)."""


class WritesDisabledError(GeogapsError):
    """Writes are disabled because no API key is configured (403)."""


class BadApiKeyError(GeogapsError):
    """A write without the right ``X-API-Key`` header (401)."""


class StoreUnavailableError(UnavailableError):
    """The store cannot answer (database down, folder missing) (503)."""


def refused_input(error: ValidationError) -> BadParameterError:
    """A pydantic refusal of user input (weights, parameters) as one Spanish sentence.

    pydantic's own text carries a link to its documentation and the whole input; clients get
    only the reasons the validators wrote.
    """
    reasons = [str(item["msg"]).removeprefix("Value error, ") for item in error.errors()]
    return BadParameterError("; ".join(dict.fromkeys(reasons)) or "parámetros no válidos")


#: Exception type → HTTP status, most specific first (the first match wins).
STATUS_TABLE: tuple[tuple[type[Exception], int], ...] = (
    (NotFoundError, 404),
    (UnauthenticatedError, 401),
    (ForbiddenError, 403),
    (StaleVersionError, 412),
    (VersionRequiredError, 428),
    (RunConflictError, 409),
    (DependencyError, 409),
    (ConflictError, 409),
    (BadRequestError, 400),
    (PayloadTooLargeError, 413),
    (WritesDisabledError, 403),
    (BadApiKeyError, 401),
    (UnavailableError, 503),
    (OperationalError, 503),
    (PoolTimeoutError, 503),
    (psycopg.OperationalError, 503),
    (InvalidInputError, 422),
    (LayerError, 422),
    (GeogapsError, 422),
)


def status_of(error: Exception) -> int:
    """The HTTP status of an exception (500 for anything unexpected)."""
    for error_type, status in STATUS_TABLE:
        if isinstance(error, error_type):
            return status
    if isinstance(error, DBAPIError) and (
        error.connection_invalidated or isinstance(error.orig, psycopg.errors.UndefinedTable)
    ):
        return 503
    return 500


#: What a client is told when the database does not answer. The driver's own words are logged,
#: never sent: they name hosts, ports, users and SQL.
DATABASE_DOWN = (
    "almacén de datos no disponible: la base de datos no responde; reintente en unos segundos"
)


def message_of(error: Exception, status: int) -> str:
    """The ``detail`` shown for an exception (never a host, a port or SQL)."""
    if isinstance(error, DBAPIError) and isinstance(error.orig, psycopg.errors.UndefinedTable):
        return "esquema de la base de datos sin migrar: ejecute `geogaps db upgrade`"
    if status == 503:
        if isinstance(error, UnavailableError):
            return str(error)
        logger.warning("almacén de datos no disponible: %s", error)
        return DATABASE_DOWN
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return text


async def _handle(request: Request, error: Exception) -> JSONResponse:
    status = status_of(error)
    if status == 500:
        logger.error("error inesperado en %s", request.url.path, exc_info=error)
        return JSONResponse({"detail": "error interno del servidor"}, status_code=500)
    headers = {"Retry-After": "5"} if status == 503 else None
    if isinstance(error, UnauthenticatedError):
        headers = {"WWW-Authenticate": "Bearer"}
    message = message_of(error, status)
    if status == 422:
        # The shape FastAPI documents for every 422, so clients parse one format.
        body: dict[str, object] = {
            "detail": [{"loc": ["query"], "msg": message, "type": "value_error"}]
        }
    else:
        body = {"detail": message}
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the status table on ``app``; anything else is a logged 500."""
    for error_type, _ in STATUS_TABLE:
        app.add_exception_handler(error_type, _handle)
    app.add_exception_handler(DBAPIError, _handle)
    app.add_exception_handler(Exception, _handle)
