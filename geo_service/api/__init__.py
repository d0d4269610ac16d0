"""The HTTP API: one router module per resource family, mounted by the app from :data:`ROUTERS`."""

from fastapi import APIRouter

from geo_service.api import communes, decision, gaps, ogc, pages, robustness, runs, system, tiles

#: Every router of the service, in the order the app mounts them (the OpenAPI lists them so).
ROUTERS: tuple[APIRouter, ...] = (
    system.router,
    runs.router,
    communes.router,
    gaps.router,
    ogc.router,
    tiles.router,
    pages.router,
    pages.exports,
    decision.router,
    robustness.router,
)
