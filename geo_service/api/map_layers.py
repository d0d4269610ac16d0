"""The map's light layers: simplified commune and region outlines and the point overlays.

Each layer is built once per data state (or region) and kept as JSON bytes with their gzip copy;
a client that accepts gzip gets the compressed bytes without recompressing them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from geo_service.api.deps import CachesDep, RegionQuery, StoreDep
from geo_service.services.cache import Caches
from geo_service.services.map_data import json_bytes, outlines, overlay
from layers.stores import Store
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


def _outline_layer(
    request: Request, store: Store, caches: Caches, name: str, regions: bool
) -> Response:
    """Commune outlines, or the regions dissolved from them, as a cached GeoJSON layer."""

    def build() -> tuple[bytes, bytes]:
        frame = outlines(store, caches)
        if regions:
            return json_bytes(
                feature_collection(region_outlines(frame), ["region_code", "region_name"])
            )
        return json_bytes(feature_collection(frame, ["cut", "name", "region_code", "label_point"]))

    payload = caches.get_or_make("page", name, build, state=caches.data_state(store))
    return _json_response(request, payload, GEOJSON)


@router.get("/mapa/capas/comunas.geojson")
def communes_layer(request: Request, store: StoreDep, caches: CachesDep) -> Response:
    """Commune outlines, simplified as one coverage (shared borders kept)."""
    return _outline_layer(request, store, caches, "communes.geojson", regions=False)


@router.get("/mapa/capas/regiones.geojson")
def regions_layer(request: Request, store: StoreDep, caches: CachesDep) -> Response:
    """Region outlines, the union of their simplified communes."""
    return _outline_layer(request, store, caches, "regions.geojson", regions=True)


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
