"""OGC API – Features (Part 1: core, GeoJSON, OpenAPI 3.0).

Paths are a contract: ``/``, ``/conformance``, ``/collections``, ``/collections/{id}``,
``/collections/{id}/items`` and ``/collections/{id}/items/{featureId}`` (the vector tiles of the
same collections are :mod:`geo_service.api.tiles`). The routes stay thin: the collections are
:mod:`geo_service.services.collections`, the SQL and the embedded-store equivalents live in
:mod:`layers.features`; here requests are parsed, links written and bytes passed through.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from geo_service.api.deps import MAX_OFFSET
from geo_service.errors import BadRequestError
from geo_service.services.collections import collection_named, collections
from layers.features import (
    CRS84,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Collection,
    FeatureQueryError,
    FeatureSource,
    ItemsQuery,
    parse_bbox,
    tolerance_for_zoom,
)

GEOJSON = "application/geo+json"
#: FastAPI writes OpenAPI 3.1; the link says so.
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
#: The OpenAPI tag of the features and tiles routes.
TAG = "OGC API – Features y teselas vectoriales"


def accepted_format(
    f: Annotated[
        str | None,
        Query(description="Formato de la respuesta: sólo `json` (GeoJSON); se acepta y se ignora."),
    ] = None,
) -> None:
    """``f=json`` (or ``geojson``) is accepted and ignored, for clients that send it; 400 else.

    Unknown parameters (``crs``, ``bbox-crs``: only CRS84 is served) are refused by the app's
    check of every documented route (/req/core/query-param-unknown).
    """
    if f not in (None, "json", "geojson"):
        raise BadRequestError("formato no disponible: sólo f=json (GeoJSON)")


router = APIRouter(tags=[TAG], dependencies=[Depends(accepted_format)])


class GeoJSONResponse(Response):
    """A GeoJSON body, already encoded."""

    media_type = GEOJSON


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
ERRORS: dict[int | str, dict[str, Any]] = {
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


def feature_source(request: Request) -> FeatureSource:
    """The feature source of the store opened by the application's lifespan."""
    source: FeatureSource = request.app.state.store.feature_source()
    return source


def base_url(request: Request) -> str:
    """The service's base URL, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def _collection_info(
    request: Request, collection: Collection, extent: tuple[float, ...] | None
) -> CollectionInfo:
    base = base_url(request)
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
    base = base_url(request)
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
    extents = feature_source(request).extents(collections().values())
    base = base_url(request)
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
    responses=ERRORS,
    summary="Una colección",
    description="Título, descripción, extensión y enlaces de una colección.",
)
def collection_info(request: Request, collection_id: CollectionId) -> CollectionInfo:
    """One collection."""
    collection = collection_named(collection_id)
    extent = feature_source(request).extents([collection]).get(collection.id)
    return _collection_info(request, collection, extent)


def _feature_collection(
    request: Request, collection: Collection, query: ItemsQuery, source: FeatureSource
) -> bytes:
    """The FeatureCollection document around a page of features assembled by the store."""
    try:
        page = source.items(collection, query)
    except FeatureQueryError as error:
        raise BadRequestError(str(error)) from None
    links = [
        Link(href=str(request.url), rel="self", type=GEOJSON, title="Esta página"),
        Link(
            href=f"{base_url(request)}/collections/{collection.id}",
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
        **ERRORS,
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
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_OFFSET,
            description="Objetos a saltar antes de la página (máximo 10.000.000).",
        ),
    ] = 0,
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
    collection = collection_named(collection_id)
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
        raise BadRequestError(str(error)) from None
    body = _feature_collection(request, collection, query, feature_source(request))
    return GeoJSONResponse(body)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_class=GeoJSONResponse,
    responses={
        200: {
            "description": "Un objeto (GeoJSON Feature).",
            "content": {GEOJSON: {"schema": _FEATURE_SCHEMA}},
        },
        **ERRORS,
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
    collection = collection_named(collection_id)
    feature = feature_source(request).item(collection, feature_id)
    base = base_url(request)
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
