"""FastAPI application factory; the store (and its connection pool) lives in the lifespan.

Migrations are not run here (``geogaps db upgrade`` is that step): the app starts while the
database is down, answers 503 with a reason, and recovers by itself once it is back.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from geo_service import __version__
from geo_service.api import ROUTERS
from geo_service.api.deps import refuse_unknown_query_parameters
from geo_service.api.responses import COMMON_RESPONSES, GZIP_MINIMUM_SIZE, SafeJSONResponse
from geo_service.errors import install_error_handlers
from geo_service.services.cache import Caches
from geo_service.services.warm import Warmer, start_warm_up, warm_app
from geo_service.settings import Settings
from layers import open_store

DESCRIPTION = """
API de **geogaps**: brechas territoriales de las 345 comunas de Chile (agua, conectividad,
ruralidad), calculadas con datos públicos y guardadas como corridas reproducibles.

* Lecturas públicas; escrituras (`POST /datasets/{kind}`, `POST /runs`) con la cabecera
  `X-API-Key`.
* Toda lista va paginada (`total`, `next`); toda respuesta de puntajes dice de qué corrida viene.
* Errores: 404 id desconocido, 422 parámetro inválido, 413 archivo demasiado grande,
  503 almacén no disponible.
"""


def create_app(settings: Settings | None = None, *, warm: Warmer = warm_app) -> FastAPI:
    """Build the API for ``settings`` (read from the environment when omitted).

    With ``settings.warm_caches``, ``warm`` fills the caches in a background thread once the
    store is open (:func:`geo_service.services.warm.start_warm_up`): the worker takes
    connections at once and ``/ready`` answers 503 until ``warm`` returns.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Opening a store connects lazily: a database that is down does not stop the server.
        store = open_store(
            settings.database_url,
            settings.store_dir,
            pool_size=settings.pool_size,
            statement_timeout_ms=settings.statement_timeout_ms,
            create=False,  # serving never creates an embedded store (only `geogaps load` does)
        )
        app.state.store = store
        app.state.caches = Caches()
        # Not blocking: /health answers during the warm-up, /ready says 503 until it ends.
        warm_up = start_warm_up(app, warm) if settings.warm_caches else None
        if warm_up is None:
            # Imports live as long as the worker: keep them out of the collector's full passes
            # (the warm-up does this once the caches are filled).
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if warm_up is not None:
                # Its current step finishes before the store closes (waited for off the loop).
                await asyncio.to_thread(warm_up.close)
            store.close()

    app = FastAPI(
        title="geogaps",
        summary="Brechas territoriales de las comunas de Chile: capas y puntajes de brecha.",
        description=DESCRIPTION,
        version=__version__,
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
        # /docs and /redoc are served by geo_service.api.pages from vendored assets: FastAPI's
        # own pages load Swagger UI, ReDoc, a favicon and fonts from public CDNs.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.warm_up = None
    install_error_handlers(app)
    # Level 5: JSON shrinks nearly as much as at 9 for a fraction of the CPU per response.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_SIZE, compresslevel=5)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type"],
        )
    for router in ROUTERS:
        # Every documented route refuses unknown query parameters and documents the statuses
        # any route can answer (its own, such as 401 or 413, are declared where it is defined).
        app.include_router(
            router,
            dependencies=[Depends(refuse_unknown_query_parameters)],
            responses=COMMON_RESPONSES,
        )
    return app
