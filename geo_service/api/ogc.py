"""OGC API – Features (Part 1: core, GeoJSON, OpenAPI 3.0) and Mapbox vector tiles.

Paths are a contract: ``/``, ``/conformance``, ``/collections``, ``/collections/{id}``,
``/collections/{id}/items``, ``/collections/{id}/items/{featureId}``,
``/tiles/{collection}/{z}/{x}/{y}.pbf`` and ``/tiles/{collection}.json``. The routes stay thin:
the collection catalogue, the SQL and the embedded-store equivalents live in
:mod:`layers.features`; here requests are parsed, links written and bytes passed through.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from layers.features import (
    CRS84,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    WEB_MERCATOR,
    Collection,
    FeatureQueryError,
    FeatureSource,
    ItemsQuery,
    TileOutsideMatrixError,
    UnknownCollectionError,
    UnknownFeatureError,
    collection_named,
    collections,
    feature_source,
    parse_bbox,
    tilejson_bounds,
    tolerance_for_zoom,
)

GEOJSON = "application/geo+json"
MVT = "application/vnd.mapbox-vector-tile"
#: FastAPI writes OpenAPI 3.1; the link says so.
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
#: Largest zoom the TileJSON advertises (points and simplified polygons are exact by then).
TILE_MAXZOOM = 16

router = APIRouter(tags=["OGC API – Features y teselas vectoriales"])


class GeoJSONResponse(Response):
    """A GeoJSON body, already encoded."""

    media_type = GEOJSON


class VectorTileResponse(Response):
    """A Mapbox vector tile (protobuf)."""

    media_type = MVT


class Link(BaseModel):
    """A link of the OGC API (``rel``, media ``type``, ``title``)."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    """Entry point of the OGC API."""

    title: str
    description: str
    links: list[Link]


class ConformanceDeclaration(BaseModel):
    """Conformance classes the service implements."""

    conformsTo: list[str]  # noqa: N815 - name fixed by OGC API – Features


class SpatialExtent(BaseModel):
    """Bounding box of a collection in CRS84 (longitude, latitude)."""

    bbox: list[list[float]]
    crs: str = CRS84


class Extent(BaseModel):
    """Extent of a collection."""

    spatial: SpatialExtent


class CollectionInfo(BaseModel):
    """Description of one feature collection."""

    id: str
    title: str
    description: str
    links: list[Link]
    extent: Extent | None = None
    itemType: str = "feature"  # noqa: N815 - name fixed by OGC API – Features
    crs: list[str] = Field(default_factory=lambda: [CRS84])


class CollectionList(BaseModel):
    """Every collection of the service."""

    links: list[Link]
    collections: list[CollectionInfo]


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


_FEATURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "geometry": {"type": "object", "nullable": True},
        "properties": {"type": "object", "nullable": True},
    },
}
_LINK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["href", "rel"],
    "properties": {k: {"type": "string"} for k in ("href", "rel", "type", "title")},
}
_FEATURE_COLLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": _FEATURE_SCHEMA},
        "links": {"type": "array", "items": _LINK_SCHEMA},
        "timeStamp": {"type": "string", "format": "date-time"},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0},
    },
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Parámetro inválido (bbox, properties, simplify…)."},
    404: {"description": "Colección u objeto inexistente; el mensaje lo nombra."},
}

CollectionId = Annotated[
    str,
    Path(
        description="Identificador de la colección: " + ", ".join(collections()) + ".",
        examples=["comunas"],
    ),
]


#: ``f=json`` is accepted (and ignored: GeoJSON is the only encoding) for clients that send it.
FORMAT_PARAMETERS = frozenset({"f"})
ITEMS_PARAMETERS = FORMAT_PARAMETERS | {"bbox", "limit", "offset", "properties", "simplify", "zoom"}


def _refuse_unknown_parameters(request: Request, allowed: frozenset[str]) -> None:
    """400 naming a query parameter the API does not define.

    OGC API – Features Part 1 requires it (/req/core/query-param-unknown); ``crs`` and
    ``bbox-crs`` are refused this way too, as only CRS84 is served.
    """
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise HTTPException(
            400,
            f"parámetro desconocido: {', '.join(unknown)}; los parámetros válidos son "
            f"{', '.join(sorted(allowed))} (sólo se sirve CRS84)",
        )
    if request.query_params.get("f", "json") not in ("json", "geojson"):
        raise HTTPException(400, "formato no disponible: sólo f=json (GeoJSON)")


def _source(request: Request) -> FeatureSource:
    """The feature source of the store opened by the application's lifespan."""
    return feature_source(request.app.state.store)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _collection(collection_id: str) -> Collection:
    try:
        return collection_named(collection_id)
    except UnknownCollectionError as error:
        raise HTTPException(404, str(error)) from None


def _collection_info(
    request: Request, collection: Collection, extent: tuple[float, ...] | None
) -> CollectionInfo:
    base = _base(request)
    return CollectionInfo(
        id=collection.id,
        title=collection.title,
        description=collection.description,
        links=[
            Link(
                href=f"{base}/collections/{collection.id}",
                rel="self",
                type="application/json",
                title=collection.title,
            ),
            Link(
                href=f"{base}/collections/{collection.id}/items",
                rel="items",
                type=GEOJSON,
                title=f"{collection.title} (GeoJSON)",
            ),
            Link(
                href=f"{base}/tiles/{collection.id}.json",
                rel="describedby",
                type="application/json",
                title=f"{collection.title}: TileJSON de las teselas vectoriales",
            ),
        ],
        extent=None if extent is None else Extent(spatial=SpatialExtent(bbox=[list(extent)])),
    )


@router.get(
    "/",
    response_model=LandingPage,
    response_model_exclude_none=True,
    summary="Página de inicio de OGC API – Features",
    description="Enlaces a la descripción del servicio (OpenAPI), la conformidad y los datos.",
)
def landing_page(request: Request) -> LandingPage:
    """Landing page: links to the OpenAPI document, conformance and collections."""
    base = _base(request)
    return LandingPage(
        title="geogaps: brechas territoriales de las comunas de Chile",
        description=(
            "Comunas con sus puntajes de brecha, sistemas de agua potable rural, "
            "establecimientos de salud y educacionales y proyectos, como OGC API – Features "
            "y teselas vectoriales."
        ),
        links=[
            Link(href=f"{base}/", rel="self", type="application/json", title="Esta página"),
            Link(
                href=f"{base}/openapi.json",
                rel="service-desc",
                type=OPENAPI,
                title="Definición OpenAPI del servicio",
            ),
            Link(
                href=f"{base}/docs",
                rel="service-doc",
                type="text/html",
                title="Documentación interactiva del servicio",
            ),
            Link(
                href=f"{base}/conformance",
                rel="conformance",
                type="application/json",
                title="Clases de conformidad que implementa el servicio",
            ),
            Link(
                href=f"{base}/collections",
                rel="data",
                type="application/json",
                title="Colecciones de objetos geográficos",
            ),
        ],
    )


@router.get(
    "/conformance",
    response_model=ConformanceDeclaration,
    summary="Clases de conformidad",
    description="OGC API – Features Parte 1: núcleo, GeoJSON y OpenAPI 3.0.",
)
def conformance() -> ConformanceDeclaration:
    """Conformance classes: Part 1 core, GeoJSON and OpenAPI 3.0."""
    return ConformanceDeclaration(conformsTo=CONFORMANCE)


@router.get(
    "/collections",
    response_model=CollectionList,
    response_model_exclude_none=True,
    summary="Colecciones",
    description="Cada colección con su título, descripción, extensión (calculada) y enlaces.",
)
def collection_list(request: Request) -> CollectionList:
    """Every collection with its extent, computed from the data."""
    extents = _source(request).extents()
    base = _base(request)
    return CollectionList(
        links=[
            Link(
                href=f"{base}/collections", rel="self", type="application/json", title="Esta página"
            )
        ],
        collections=[
            _collection_info(request, c, extents.get(c.id)) for c in collections().values()
        ],
    )


@router.get(
    "/collections/{collection_id}",
    response_model=CollectionInfo,
    response_model_exclude_none=True,
    responses=_ERRORS,
    summary="Una colección",
    description="Título, descripción, extensión y enlaces de una colección.",
)
def collection_info(request: Request, collection_id: CollectionId) -> CollectionInfo:
    """One collection."""
    collection = _collection(collection_id)
    return _collection_info(request, collection, _source(request).extents().get(collection.id))


def _feature_collection(
    request: Request, collection: Collection, query: ItemsQuery, source: FeatureSource
) -> bytes:
    """The FeatureCollection document around a page of features assembled by the store."""
    try:
        page = source.items(collection, query)
    except FeatureQueryError as error:
        raise HTTPException(400, str(error)) from None
    links = [
        Link(href=str(request.url), rel="self", type=GEOJSON, title="Esta página"),
        Link(
            href=f"{_base(request)}/collections/{collection.id}",
            rel="collection",
            type="application/json",
            title=collection.title,
        ),
    ]
    if query.offset + page.returned < page.matched:
        links.append(
            Link(
                href=str(
                    request.url.include_query_params(
                        offset=query.offset + page.returned, limit=query.limit
                    )
                ),
                rel="next",
                type=GEOJSON,
                title="Página siguiente",
            )
        )
    if query.offset > 0:
        links.append(
            Link(
                href=str(
                    request.url.include_query_params(
                        offset=max(query.offset - query.limit, 0), limit=query.limit
                    )
                ),
                rel="prev",
                type=GEOJSON,
                title="Página anterior",
            )
        )
    links_json = "[" + ",".join(link.model_dump_json(exclude_none=True) for link in links) + "]"
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    run = f',"run_id":"{page.run_id}"' if page.run_id else ""
    head = (
        f'{{"type":"FeatureCollection","numberMatched":{page.matched},'
        f'"numberReturned":{page.returned},"timeStamp":"{stamp}"{run},'
        f'"links":{links_json},"features":['
    )
    return head.encode("utf-8") + page.features + b"]}"


@router.get(
    "/collections/{collection_id}/items",
    response_class=GeoJSONResponse,
    responses={
        200: {
            "description": "Página de objetos (GeoJSON FeatureCollection) con enlaces next/prev.",
            "content": {GEOJSON: {"schema": _FEATURE_COLLECTION_SCHEMA}},
        },
        **_ERRORS,
    },
    summary="Objetos de una colección",
    description=(
        "Objetos de la colección como GeoJSON, ordenados por su identificador, con "
        "`numberMatched`, `numberReturned` y enlaces `next`/`prev`. La consulta la arma y "
        "responde PostgreSQL en una sola sentencia (índice espacial para `bbox`)."
    ),
)
def items(
    request: Request,
    collection_id: CollectionId,
    bbox: Annotated[
        str | None,
        Query(
            description=(
                "Caja lon_min,lat_min,lon_max,lat_max en grados (CRS84): objetos que la "
                "intersectan."
            ),
            examples=["-71.7,-30.5,-70.0,-29.0"],
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Objetos por página (máximo {MAX_LIMIT}).")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="Objetos a saltar antes de la página.")] = 0,
    properties: Annotated[
        str | None,
        Query(
            description="Propiedades a devolver, separadas por comas (todas si se omite).",
            examples=["cut,name,agua_score,agua_rank"],
        ),
    ] = None,
    simplify: Annotated[
        float | None,
        Query(
            ge=0,
            le=1,
            description=(
                "Tolerancia de simplificación de polígonos en grados (Douglas–Peucker "
                "conservando la topología); 0,001 ≈ 100 m."
            ),
        ),
    ] = None,
    zoom: Annotated[
        int | None,
        Query(
            ge=0,
            le=24,
            description=(
                "Nivel de zoom del mapa: simplifica los polígonos a medio píxel de ese zoom "
                "(se ignora si se da `simplify`)."
            ),
        ),
    ] = None,
) -> Response:
    """A page of features as a GeoJSON FeatureCollection."""
    _refuse_unknown_parameters(request, ITEMS_PARAMETERS)
    collection = _collection(collection_id)
    try:
        query = ItemsQuery(
            bbox=None if bbox is None else parse_bbox(bbox),
            limit=limit,
            offset=offset,
            properties=None
            if properties is None
            else tuple(p.strip() for p in properties.split(",") if p.strip()),
            simplify=simplify
            if simplify is not None
            else (None if zoom is None else tolerance_for_zoom(zoom)),
        )
    except FeatureQueryError as error:
        raise HTTPException(400, str(error)) from None
    body = _feature_collection(request, collection, query, _source(request))
    return GeoJSONResponse(body)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_class=GeoJSONResponse,
    responses={
        200: {
            "description": "Un objeto (GeoJSON Feature).",
            "content": {GEOJSON: {"schema": _FEATURE_SCHEMA}},
        },
        **_ERRORS,
    },
    summary="Un objeto de una colección",
    description="Un objeto por su identificador (CUT en `comunas`).",
)
def item(
    request: Request,
    collection_id: CollectionId,
    feature_id: Annotated[str, Path(description="Identificador del objeto.", examples=["04101"])],
) -> Response:
    """One feature, with links to itself and its collection."""
    _refuse_unknown_parameters(request, FORMAT_PARAMETERS)
    collection = _collection(collection_id)
    try:
        feature = _source(request).item(collection, feature_id)
    except UnknownFeatureError as error:
        raise HTTPException(404, str(error)) from None
    base = _base(request)
    links = [
        Link(href=str(request.url), rel="self", type=GEOJSON, title="Este objeto"),
        Link(
            href=f"{base}/collections/{collection.id}",
            rel="collection",
            type="application/json",
            title=collection.title,
        ),
    ]
    links_json = ",".join(link.model_dump_json(exclude_none=True) for link in links)
    # the store's Feature ends with "}": add the links before it
    return GeoJSONResponse(feature[:-1] + f',"links":[{links_json}]}}'.encode())


@router.get(
    "/tiles/{collection_id}.json",
    response_model=TileJSON,
    responses=_ERRORS,
    summary="TileJSON de las teselas vectoriales de una colección",
    description=(
        "TileJSON 3.0.0: plantilla de URL de las teselas Mapbox Vector Tile (WebMercatorQuad), "
        "extensión de los datos y campos de la capa."
    ),
)
def tilejson(request: Request, collection_id: CollectionId) -> TileJSON:
    """TileJSON of a collection's tiles; bounds from the data, clipped to WebMercatorQuad."""
    collection = _collection(collection_id)
    bounds = tilejson_bounds(_source(request).extents().get(collection.id))
    fields = {
        p.name: p.type.capitalize().replace("Integer", "Number") for p in collection.properties
    }
    center_zoom = 4 if collection.polygonal else 6
    return TileJSON(
        name=collection.id,
        description=collection.description,
        tiles=[f"{_base(request)}/tiles/{collection.id}/{{z}}/{{x}}/{{y}}.pbf"],
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
        **_ERRORS,
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
    collection = _collection(collection_id)
    try:
        data = _source(request).tile(collection, z, x, y)
    except TileOutsideMatrixError as error:
        raise HTTPException(404, str(error)) from None
    if not data:
        return Response(status_code=204)
    return VectorTileResponse(data)
