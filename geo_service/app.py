"""FastAPI application factory; the store (and its connection pool) lives in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from geo_service import __version__, api_analysis, api_decision
from geo_service.ogc import router as ogc_router
from geo_service.routes import router
from geo_service.settings import Settings
from geo_service.web import exports as web_exports
from geo_service.web import router as web_router
from layers import open_store


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for ``settings`` (read from the environment when omitted)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings.database_url, settings.store_dir)
        store.migrate()
        app.state.store = store
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="geogaps",
        summary="Brechas territoriales de las comunas de Chile: capas y puntajes de brecha.",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(router)
    app.include_router(api_decision.router)
    app.include_router(api_analysis.router)
    app.include_router(ogc_router)
    app.include_router(web_router)
    app.include_router(web_exports)
    return app
