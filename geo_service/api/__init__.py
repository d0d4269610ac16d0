"""The HTTP API: one router module per resource family, mounted by the app from :data:`ROUTERS`."""

from fastapi import APIRouter

from geo_service.api import (
    communes,
    datasets,
    decision,
    exports,
    gaps,
    map_layers,
    mesas,
    ogc,
    pages,
    robustness,
    runs,
    scores,
    system,
    tiles,
)

#: Every router of the service, in the order the app mounts them (the OpenAPI lists them so).
ROUTERS: tuple[APIRouter, ...] = (
    system.router,
    datasets.router,
    runs.router,
    scores.router,
    communes.router,
    gaps.router,
    ogc.router,
    tiles.router,
    pages.router,
    map_layers.router,
    exports.router,
    decision.router,
    robustness.router,
    mesas.router,
)
