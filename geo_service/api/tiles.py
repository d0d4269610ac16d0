"""Mapbox vector tiles of the OGC collections, and their TileJSON.

Paths are a contract: ``/tiles/{collection}/{z}/{x}/{y}.pbf`` and ``/tiles/{collection}.json``.
A tile outside WebMercatorQuad is a 404 naming it
(:class:`layers.errors.TileOutsideMatrixError`); a tile no feature reaches is a 204.

A tile's bytes depend only on the loaded data (the store's data state), on the newest national
run (the communes carry its scores) and on the tile: together they make its ``ETag``. A client
sending it back in ``If-None-Match`` gets a 304 without a query, and the worker keeps recent
tiles in its cache (namespace ``tiles``) under the same version, so a repeated tile costs no
query either; a load, a replacement or a removal of a dataset, or a new run, changes the
version and with it every ``ETag``.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from domain.errors import NotFoundError
from geo_service.api.deps import CachesDep, StoreDep
from geo_service.api.ogc import (
    ERRORS,
    TAG,
    CollectionId,
    accepted_format,
    base_url,
    feature_source,
)
from geo_service.services.cache import Caches
from geo_service.services.collections import collection_named
from geo_service.services.serving import resolve_run
from layers.features import WEB_MERCATOR, Collection, check_tile, tilejson_bounds
from layers.stores import Store

MVT = "application/vnd.mapbox-vector-tile"
#: Largest zoom the TileJSON advertises (points and simplified polygons are exact by then).
TILE_MAXZOOM = 16
#: Clients and proxies may reuse a tile for a minute, then ask again with its ETag (a 304).
TILE_CACHE_CONTROL = "public, max-age=60, must-revalidate"

router = APIRouter(tags=[TAG], dependencies=[Depends(accepted_format)])


class VectorTileResponse(Response):
    """A Mapbox vector tile (protobuf)."""

    media_type = MVT


class VectorLayer(BaseModel):
    """A layer of the vector tiles and its fields (name → type)."""

    id: str
    description: str
    minzoom: int
    maxzoom: int
    fields: dict[str, str]


class TileJSON(BaseModel):
    """TileJSON 3.0.0 of a collection's vector tiles."""

    model_config = ConfigDict(populate_by_name=True)

    tilejson: str = "3.0.0"
    name: str
    description: str
    version: str = "1.0.0"
    scheme: str = "xyz"
    tiles: list[str]
    minzoom: int
    maxzoom: int
    bounds: list[float]
    center: list[float]
    vector_layers: list[VectorLayer]


@router.get(
    "/tiles/{collection_id}.json",
    response_model=TileJSON,
    responses=ERRORS,
    summary="TileJSON de las teselas vectoriales de una colección",
    description=(
        "TileJSON 3.0.0: plantilla de URL de las teselas Mapbox Vector Tile (WebMercatorQuad), "
        "extensión de los datos y campos de la capa."
    ),
)
def tilejson(request: Request, collection_id: CollectionId) -> TileJSON:
    """TileJSON of a collection's tiles; bounds from the data, clipped to WebMercatorQuad."""
    collection = collection_named(collection_id)
    extent = feature_source(request).extents([collection]).get(collection.id)
    bounds = tilejson_bounds(extent)
    fields = {
        p.name: p.type.capitalize().replace("Integer", "Number") for p in collection.properties
    }
    center_zoom = 4 if collection.polygonal else 6
    return TileJSON(
        name=collection.id,
        description=collection.description,
        tiles=[f"{base_url(request)}/tiles/{collection.id}/{{z}}/{{x}}/{{y}}.pbf"],
        minzoom=WEB_MERCATOR.minzoom,
        maxzoom=TILE_MAXZOOM,
        bounds=bounds,
        center=[(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, center_zoom],
        vector_layers=[
            VectorLayer(
                id=collection.id,
                description=collection.title,
                minzoom=WEB_MERCATOR.minzoom,
                maxzoom=TILE_MAXZOOM,
                fields=fields,
            )
        ],
    )


@router.get(
    "/tiles/{collection_id}/{z}/{x}/{y}.pbf",
    response_class=VectorTileResponse,
    responses={
        200: {
            "description": "Tesela Mapbox Vector Tile con una capa nombrada como la colección.",
            "content": {MVT: {"schema": {"type": "string", "format": "binary"}}},
        },
        204: {"description": "Tesela vacía: ningún objeto la alcanza."},
        304: {"description": "La tesela no cambió desde la ETag enviada en If-None-Match."},
        **ERRORS,
    },
    summary="Tesela vectorial (Mapbox Vector Tile)",
    description=(
        "Tesela z/x/y de WebMercatorQuad armada por PostGIS (`ST_AsMVT`) o, en el almacén "
        "embebido, con mapbox-vector-tile. Sin objetos responde 204. Lleva una `ETag` que "
        "cambia cuando se carga, reemplaza o elimina un conjunto de datos o cuando hay una "
        "corrida nacional nueva; con `If-None-Match` igual a esa ETag responde 304 sin cuerpo. "
        "Mismas reglas que tipg: entran los objetos que tocan la tesela (sin el margen) y se "
        "recortan a la tesela más 64 unidades de margen, en una grilla de 4096."
    ),
)
def tile(
    request: Request,
    store: StoreDep,
    caches: CachesDep,
    collection_id: CollectionId,
    z: Annotated[int, Path(ge=0, le=24, description="Nivel de zoom.")],
    x: Annotated[int, Path(ge=0, description="Columna de la tesela.")],
    y: Annotated[int, Path(ge=0, description="Fila de la tesela (desde el norte).")],
    if_none_match: Annotated[
        str | None,
        Header(description="ETag de una tesela ya recibida: si sigue vigente, responde 304."),
    ] = None,
) -> Response:
    """One vector tile (204 when no feature reaches it), with its ETag; 304 when unchanged."""
    collection = collection_named(collection_id)
    check_tile(z, x, y)
    version = _tile_version(store, caches, collection)
    digest = hashlib.sha256(f"{version}|{collection.id}|{z}/{x}/{y}".encode()).hexdigest()
    headers = {"ETag": f'"{digest[:32]}"', "Cache-Control": TILE_CACHE_CONTROL}
    if if_none_match is not None and _matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    data = caches.get_or_make(
        "tiles",
        (collection.id, z, x, y),
        lambda: feature_source(request).tile(collection, z, x, y),
        state=version,
    )
    if not data:
        return Response(status_code=204, headers=headers)
    return VectorTileResponse(data, headers=headers)


def _tile_version(store: Store, caches: Caches, collection: Collection) -> str:
    """What a collection's tiles are made from: the data state and, with scores, the run."""
    state = caches.data_state(store)
    if not collection.with_scores:
        return state
    try:
        run_id = resolve_run(store, None, caches=caches).run_id
    except NotFoundError:  # no national run yet: the scores are empty
        run_id = ""
    return f"{state}|{run_id}"


def _matches(if_none_match: str, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks) or is *."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags
