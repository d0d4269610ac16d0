"""Typed dependencies every router shares.

The store, the caches, the settings, the API key and the common query parameters.
"""

from __future__ import annotations

import functools
import hmac
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from analysis import load_catalogue
from domain import REGION_PATTERN
from geo_service.errors import (
    BadApiKeyError,
    BadParameterError,
    BadRequestError,
    WritesDisabledError,
)
from geo_service.services.cache import Caches
from geo_service.settings import Settings
from layers.stores import Store

MAX_PAGE = 10_000


# The dependencies that do no input/output are coroutines: FastAPI runs a plain function
# dependency in a worker thread, a hop that costs more than a cached answer does.


async def get_store(request: Request) -> Store:
    """The store opened by the application's lifespan."""
    store: Store = request.app.state.store
    return store


async def get_caches(request: Request) -> Caches:
    """The application's caches (made in the lifespan)."""
    caches: Caches = request.app.state.caches
    return caches


def get_settings(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


def require_api_key(
    request: Request,
    x_api_key: Annotated[
        str | None, Header(description="Clave de escritura (GEOGAPS_API_KEY).")
    ] = None,
) -> None:
    """Writes need ``X-API-Key`` equal to ``GEOGAPS_API_KEY``; without a key they are off."""
    configured = get_settings(request).api_key
    if configured is None or not configured.get_secret_value():
        raise WritesDisabledError(
            "escrituras deshabilitadas: configure GEOGAPS_API_KEY en el servidor para habilitarlas"
        )
    if x_api_key is None or not hmac.compare_digest(
        x_api_key.encode("utf-8"), configured.get_secret_value().encode("utf-8")
    ):
        raise BadApiKeyError("falta la cabecera X-API-Key o no coincide con la clave del servidor")


StoreDep = Annotated[Store, Depends(get_store)]
CachesDep = Annotated[Caches, Depends(get_caches)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
WriteAccess = Depends(require_api_key)

RegionQuery = Annotated[
    str | None,
    Query(
        pattern=REGION_PATTERN,
        description="Código de región de dos dígitos (01 a 16).",
        examples=["04"],
    ),
]
RunIdQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9a-f]{64}$",
        description="Id de una corrida guardada; por omisión, la nacional más reciente.",
    ),
]
LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_PAGE, description="Filas por página (máximo 10 000).")
]
#: Largest offset of any page: far beyond every table, and far below what a database integer holds.
MAX_OFFSET = 10_000_000
OffsetQuery = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="Filas a saltar (máximo 10.000.000).")
]


@functools.lru_cache(maxsize=1)
def catalogue_score_ids() -> tuple[str, ...]:
    """Score ids (challenges and composite) of the packaged catalogue."""
    return tuple(load_catalogue().score_ids)


def check_challenge(challenge: str | None, catalogue_ids: tuple[str, ...] | None = None) -> None:
    """422 naming an unknown challenge and the valid ones."""
    catalogue_ids = catalogue_ids or catalogue_score_ids()
    if challenge is not None and challenge not in catalogue_ids:
        raise BadParameterError(
            f"desafío desconocido {challenge!r}; los desafíos son {', '.join(catalogue_ids)}"
        )


def _query_names(dependant: Dependant) -> frozenset[str]:
    """Every query parameter a route declares, its dependencies' included."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


_DECLARED: dict[int, frozenset[str]] = {}


async def refuse_unknown_query_parameters(request: Request) -> None:
    """400 naming a query parameter the route does not define (every documented route).

    A misspelt parameter (``regoin=04``) would otherwise be ignored and answer for the whole
    country. Pages (not in the OpenAPI document) keep their own parameters, such as the map's
    ``pesos``.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    declared = _DECLARED.get(id(route))
    if declared is None:
        declared = _DECLARED.setdefault(id(route), _query_names(route.dependant))
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        valid = ", ".join(sorted(declared)) or "ninguno"
        raise BadRequestError(
            f"parámetro desconocido: {', '.join(unknown)}; los parámetros válidos son {valid}"
        )
