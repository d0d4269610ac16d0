"""One table from exceptions to HTTP statuses, so user input never gets a 500.

Routes raise plain exceptions (``LookupError`` for an unknown id, ``ValueError`` for a bad
parameter, the database driver's errors when the store is down); the handlers registered by
:func:`install_error_handlers` turn each into its status with a ``{"detail": ...}`` body in Spanish
or in the store's own words.
"""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from domain.errors import InvalidInputError
from domain.errors import NotFoundError as NotFoundError
from layers.errors import DependencyError, LayerError
from layers.runs import RunConflictError

logger = logging.getLogger("geogaps.api")


class BadRequestError(InvalidInputError):
    """A malformed request (OGC API parameters: bbox, properties, unknown parameters) (400)."""


class BadParameterError(ValueError):
    """A query parameter the catalogue or the schema does not accept (422)."""


class PayloadTooLargeError(Exception):
    """An upload over the configured size limit (413)."""


class WritesDisabledError(Exception):
    """Writes are disabled because no API key is configured (403)."""


class BadApiKeyError(Exception):
    """A write without the right ``X-API-Key`` header (401)."""


class StoreUnavailableError(Exception):
    """The store cannot answer (database down, folder missing) (503)."""


#: Exception type → HTTP status, most specific first (the first match wins).
STATUS_TABLE: tuple[tuple[type[Exception], int], ...] = (
    (NotFoundError, 404),
    (RunConflictError, 409),
    (DependencyError, 409),
    (BadRequestError, 400),
    (BadParameterError, 422),
    (PayloadTooLargeError, 413),
    (WritesDisabledError, 403),
    (BadApiKeyError, 401),
    (StoreUnavailableError, 503),
    (OperationalError, 503),
    (PoolTimeoutError, 503),
    (psycopg.OperationalError, 503),
    (LayerError, 422),
    (LookupError, 404),
    (KeyError, 422),
    (ValueError, 422),
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


def message_of(error: Exception, status: int) -> str:
    """The ``detail`` shown for an exception."""
    if isinstance(error, DBAPIError) and isinstance(error.orig, psycopg.errors.UndefinedTable):
        return "esquema de la base de datos sin migrar: ejecute `geogaps db upgrade`"
    if status == 503:
        reason = getattr(error, "orig", None) or error
        first_line = str(reason).strip().splitlines()[0] if str(reason).strip() else ""
        return f"almacén de datos no disponible: {first_line}".rstrip(": ")
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return text.strip("'\"")


async def _handle(request: Request, error: Exception) -> JSONResponse:
    status = status_of(error)
    if status == 500:
        logger.exception("error inesperado en %s", request.url.path, exc_info=error)
        return JSONResponse({"detail": "error interno del servidor"}, status_code=500)
    headers = {"Retry-After": "5"} if status == 503 else None
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
    """Register the status table on ``app``."""
    for error_type, _ in STATUS_TABLE:
        app.add_exception_handler(error_type, _handle)
    app.add_exception_handler(DBAPIError, _handle)
