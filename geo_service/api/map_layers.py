"""The map's light layers: simplified commune and region outlines and the point overlays.

Each layer is built once per data state (or region) and kept as JSON bytes with their gzip copy;
a client that accepts gzip gets the compressed bytes without recompressing them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from geo_service.api.deps import CachesDep, RegionQuery, StoreDep
from geo_service.services.map_data import json_bytes, outlines, overlay
from maps.geometry import feature_collection, region_outlines

router = APIRouter(include_in_schema=False)
GEOJSON = "application/geo+json"


def _json_response(request: Request, payload: tuple[bytes, bytes], media_type: str) -> Response:
    """Cached JSON (plain, gzip) bytes; the gzip copy when the client accepts it (~5x smaller)."""
    headers = {"Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(payload[1], media_type=media_type, headers=headers)
    return Response(payload[0], media_type=media_type, headers=headers)


@router.get("/mapa/capas/comunas.geojson")
def communes_layer(request: Request, store: StoreDep, caches: CachesDep) -> Response:
    """Commune outlines, simplified as one coverage (shared borders kept)."""
    payload = caches.get_or_make(
        "page",
        "communes.geojson",
        lambda: json_bytes(
            feature_collection(
                outlines(store, caches), ["cut", "name", "region_code", "label_point"]
            )
        ),
        state=caches.data_state(store),
    )
    return _json_response(request, payload, GEOJSON)


@router.get("/mapa/capas/regiones.geojson")
def regions_layer(request: Request, store: StoreDep, caches: CachesDep) -> Response:
    """Region outlines, the union of their simplified communes."""
    payload = caches.get_or_make(
        "page",
        "regions.geojson",
        lambda: json_bytes(
            feature_collection(
                region_outlines(outlines(store, caches)), ["region_code", "region_name"]
            )
        ),
        state=caches.data_state(store),
    )
    return _json_response(request, payload, GEOJSON)


@router.get("/mapa/capas/{name}.geojson")
def overlay_layer(
    request: Request,
    store: StoreDep,
    caches: CachesDep,
    name: Annotated[str, Path(pattern=r"^[a-z]+$")],
    region: RegionQuery = None,
) -> Response:
    """A point overlay of the map (APR, projects, health, schools, Huella Local, travel times)."""
    payload = caches.get_or_make(
        "page",
        ("overlay", name, region or ""),
        lambda: json_bytes(overlay(store, caches, name, region)),
        state=caches.data_state(store),
    )
    return _json_response(request, payload, GEOJSON)
