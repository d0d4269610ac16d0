"""Mapbox vector tiles of the OGC collections, and their TileJSON.

Paths are a contract: ``/tiles/{collection}/{z}/{x}/{y}.pbf`` and ``/tiles/{collection}.json``.
A tile outside WebMercatorQuad is a 404 naming it
(:class:`layers.errors.TileOutsideMatrixError`); a tile no feature reaches is a 204.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from geo_service.api.ogc import (
    ERRORS,
    TAG,
    CollectionId,
    accepted_format,
    base_url,
    feature_source,
)
from geo_service.services.collections import collection_named
from layers.features import WEB_MERCATOR, tilejson_bounds

MVT = "application/vnd.mapbox-vector-tile"
#: Largest zoom the TileJSON advertises (points and simplified polygons are exact by then).
TILE_MAXZOOM = 16

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
        **ERRORS,
    },
    summary="Tesela vectorial (Mapbox Vector Tile)",
    description=(
        "Tesela z/x/y de WebMercatorQuad armada por PostGIS (`ST_AsMVT`) o, en el almacén "
        "embebido, con mapbox-vector-tile. Sin objetos responde 204."
    ),
)
def tile(
    request: Request,
    collection_id: CollectionId,
    z: Annotated[int, Path(ge=0, le=24, description="Nivel de zoom.")],
    x: Annotated[int, Path(ge=0, description="Columna de la tesela.")],
    y: Annotated[int, Path(ge=0, description="Fila de la tesela (desde el norte).")],
) -> Response:
    """One vector tile; 204 when no feature reaches it."""
    collection = collection_named(collection_id)
    data = feature_source(request).tile(collection, z, x, y)
    if not data:
        return Response(status_code=204)
    return VectorTileResponse(data)
