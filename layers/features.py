"""Feature collections and vector tiles for GIS clients, read from either store.

The collections that OGC API – Features and the vector tiles serve are described once, in
:func:`collections`: id, Spanish title and description, table, key, geometry type, the
allow-listed properties and an optional category filter. Every endpoint reads that catalogue.

PostGIS answers each request with ONE parameterised query, in the way developmentseed's tipg
does: ``bbox`` becomes ``geom && envelope AND ST_Intersects(geom, envelope)`` (the GiST index),
``limit``/``offset`` page in SQL, and PostgreSQL itself assembles the GeoJSON features
(``ST_AsGeoJSON``, ``json_build_object``) or the Mapbox vector tile (``ST_AsMVTGeom``,
``ST_AsMVT``), which reach Python as bytes and leave it untouched. The embedded store applies the
same filters with shapely on its reads and encodes tiles with ``mapbox_vector_tile``.

The ``comunas`` collection carries the newest national score run joined in: score, rank, tier
and tier label of every challenge of the catalogue and of the composite index.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import geopandas as gpd
import mapbox_vector_tile  # type: ignore[import-untyped]
import morecantile
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import Boolean, Engine, Float, Integer, text

from layers.embedded import EmbeddedStore
from layers.postgis import PostgisStore
from layers.runs import NATIONAL_SCOPE
from layers.schema import SRID
from layers.store import Store
from layers.tables import table_named

#: The tile matrix set of every tile: Web Mercator, 256-pixel tiles, zoom 0 to 24.
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
#: Default and largest page of items (OGC API – Features ``limit``).
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
#: Tile grid (MVT extent) and the buffer around it, in tile units, that keeps edges seamless.
TILE_EXTENT = 4096
TILE_BUFFER = 64
#: Decimal digits of GeoJSON coordinates: 6 digits of a degree is about 0.1 m.
GEOJSON_DIGITS = 6
#: Coordinate reference system of every response (longitude, latitude).
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

PropertyType = Literal["string", "number", "integer", "boolean"]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SCORE_FIELDS: tuple[tuple[str, PropertyType, str], ...] = (
    ("score", "number", "puntaje de brecha (mayor = más brecha)"),
    ("rank", "integer", "lugar nacional (1 = mayor brecha)"),
    ("tier", "integer", "tramo de prioridad (1 = muy alta)"),
    ("tier_label", "string", "tramo de prioridad"),
)


class FeatureQueryError(ValueError):
    """A request parameter a collection cannot answer (bad bbox, unknown property…)."""


class UnknownCollectionError(LookupError):
    """No collection has the requested id."""


class UnknownFeatureError(LookupError):
    """The collection has no feature with the requested id."""


class TileOutsideMatrixError(LookupError):
    """The requested tile is not part of the WebMercatorQuad tile matrix set."""


@dataclass(frozen=True)
class Property:
    """One allow-listed property of a collection.

    Attributes
    ----------
    name : str
        Name in GeoJSON ``properties`` and in tiles; also the frame column of the embedded store.
    title : str
        Spanish description for the OpenAPI document and TileJSON.
    type : {"string", "number", "integer", "boolean"}
        JSON type of the values.
    sql : str
        SQL expression that yields the value (table alias ``t``, scores alias ``s``).
    """

    name: str
    title: str
    type: PropertyType
    sql: str

    def __post_init__(self) -> None:
        # Names are written into SQL as literals and aliases: only plain identifiers pass.
        if not _NAME.match(self.name):
            raise ValueError(f"property name {self.name!r} is not a plain identifier")


@dataclass(frozen=True)
class Collection:
    """A feature collection: one table, optionally filtered by category, with its properties.

    Attributes
    ----------
    id, title, description : str
        Identifier in the URL, Spanish title and description.
    table : str
        Table of :mod:`layers.schema` the features come from.
    key : str
        Column whose value is the feature id (unique within the collection).
    geometry_type : str
        GeoJSON geometry type of the features.
    properties : tuple of Property
        Properties clients may ask for, in output order.
    category : str or None
        Value of ``facilities.category`` the collection keeps, if any.
    with_scores : bool
        Whether the newest national score run is joined in (communes only).
    """

    id: str
    title: str
    description: str
    table: str
    key: str
    geometry_type: str
    properties: tuple[Property, ...]
    category: str | None = None
    with_scores: bool = False
    _by_name: dict[str, Property] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = table_named(self.table)
        if self.key not in table.c or "geom" not in table.c:
            raise ValueError(f"collection {self.id}: table {self.table} lacks its key or geom")
        object.__setattr__(self, "_by_name", {p.name: p for p in self.properties})

    @property
    def polygonal(self) -> bool:
        """Whether the geometries are (multi)polygons, the only ones worth simplifying."""
        return "Polygon" in self.geometry_type

    @property
    def key_is_integer(self) -> bool:
        """Whether feature ids are integers (ids in URLs are then parsed as such)."""
        return isinstance(table_named(self.table).c[self.key].type, Integer)

    def select(self, names: Sequence[str] | None) -> tuple[Property, ...]:
        """The properties named in ``names`` (all when None), in the order asked for.

        Raises
        ------
        FeatureQueryError
            If a name is not a property of the collection; the message lists the valid ones.
        """
        if names is None:
            return self.properties
        unknown = [n for n in names if n not in self._by_name]
        if unknown:
            raise FeatureQueryError(
                f"la colección {self.id!r} no tiene la(s) propiedad(es) "
                f"{', '.join(map(repr, unknown))}; sus propiedades son "
                f"{', '.join(self._by_name)}"
            )
        return tuple(self._by_name[n] for n in dict.fromkeys(names))

    def feature_id(self, raw: str) -> str | int:
        """A feature id from a URL segment, typed like the key column.

        Raises
        ------
        UnknownFeatureError
            If the id cannot be a key of this collection (e.g. text for an integer key).
        """
        if self.key_is_integer:
            try:
                number = int(raw)
            except ValueError:
                raise UnknownFeatureError(self._missing(raw)) from None
            if not -(2**63) <= number < 2**63:  # beyond bigint: no such row
                raise UnknownFeatureError(self._missing(raw))
            return number
        if "\x00" in raw:  # PostgreSQL text cannot hold NUL: no such row
            raise UnknownFeatureError(self._missing(raw))
        return raw

    def _missing(self, raw: object) -> str:
        return f"la colección {self.id!r} no tiene el objeto {raw!r}"


def _columns(table: str, titles: dict[str, str]) -> tuple[Property, ...]:
    """Properties read straight from ``table``'s columns, typed from the model."""
    columns = table_named(table).c
    return tuple(
        Property(name, title, _json_type(columns[name].type), f't."{name}"')
        for name, title in titles.items()
    )


def _json_type(column_type: Any) -> PropertyType:
    if isinstance(column_type, Boolean):
        return "boolean"
    if isinstance(column_type, Integer):
        return "integer"
    if isinstance(column_type, Float):
        return "number"
    return "string"


_FACILITY_TITLES = {
    "source_id": "Código del establecimiento en su fuente",
    "name": "Nombre",
    "facility_type": "Tipo de establecimiento",
    "level": "Nivel de atención",
    "operating_status": "Estado de funcionamiento",
    "ownership": "Dependencia",
    "cut": "Código único territorial (CUT) de la comuna",
    "outside_declared_commune": "El punto cae fuera de la comuna declarada",
}


@cache
def collections() -> dict[str, Collection]:
    """Every served collection by id (challenge ids come from the catalogue)."""
    from analysis import load_catalogue

    catalogue = load_catalogue()
    challenges = [(c.id, c.label) for c in catalogue.challenges]
    challenges.append((catalogue.composite_id, catalogue.composite_label))
    score_properties = tuple(
        Property(f"{challenge}_{suffix}", f"{label}: {what}", kind, f's."{challenge}_{suffix}"')
        for challenge, label in challenges
        for suffix, kind, what in _SCORE_FIELDS
    )
    communes = Collection(
        id="comunas",
        title="Comunas de Chile con sus puntajes de brecha",
        description=(
            "Límites de las 345 comunas con el puntaje, el lugar nacional y el nivel de "
            "prioridad de cada desafío y del índice compuesto, tomados de la corrida nacional "
            "de puntajes más reciente (run_id)."
        ),
        table="communes",
        key="cut",
        geometry_type="MultiPolygon",
        properties=(
            *_columns(
                "communes",
                {
                    "cut": "Código único territorial (CUT)",
                    "name": "Nombre de la comuna",
                    "province_name": "Provincia",
                    "region_code": "Código de región",
                    "region_name": "Región",
                    "area_km2": "Superficie (km²)",
                },
            ),
            Property(
                "run_id", "Corrida nacional de la que vienen los puntajes", "string", "s.run_id"
            ),
            *score_properties,
        ),
        with_scores=True,
    )
    apr = Collection(
        id="apr",
        title="Sistemas de agua potable rural (APR/SSR)",
        description="Sistemas de agua potable rural o servicios sanitarios rurales, como puntos.",
        table="apr_systems",
        key="id",
        geometry_type="Point",
        properties=_columns(
            "apr_systems",
            {
                "name": "Nombre del sistema",
                "cut": "Código único territorial (CUT) de la comuna",
                "connections": "Arranques (conexiones)",
                "beneficiaries": "Beneficiarios estimados",
                "status": "Estado",
                "network_status": "Estado de la red",
                "organisation_status": "Estado de la organización",
                "size_class": "Clasificación por tamaño",
                "water_source_type": "Tipo de fuente de agua",
                "source": "Archivo de origen",
                "outside_declared_commune": "El punto cae fuera de la comuna declarada",
            },
        ),
    )
    health = Collection(
        id="establecimientos_salud",
        title="Establecimientos de salud",
        description=(
            "Establecimientos de salud en funcionamiento (directorio MINSAL-DEIS); los "
            "cerrados no se cargan."
        ),
        table="facilities",
        key="id",
        geometry_type="Point",
        properties=_columns("facilities", _FACILITY_TITLES),
        category="salud",
    )
    schools = Collection(
        id="establecimientos_educacionales",
        title="Establecimientos educacionales",
        description=(
            "Establecimientos educacionales (directorio MINEDUC) en funcionamiento; los "
            "cerrados no se cargan."
        ),
        table="facilities",
        key="id",
        geometry_type="Point",
        properties=_columns("facilities", {**_FACILITY_TITLES, "level": "Nivel de enseñanza"}),
        category="educacion",
    )
    projects = Collection(
        id="proyectos",
        title="Proyectos de desarrollo (Huella Local)",
        description=(
            "Proyectos de las Mesas de Convergencia con tipología, etapa e inversión; los que "
            "no tienen coordenadas van sin geometría."
        ),
        table="project_sites",
        key="project_id",
        geometry_type="Point",
        properties=_columns(
            "project_sites",
            {
                "project_id": "Identificador del proyecto",
                "cut": "Código único territorial (CUT) de la comuna",
                "name": "Nombre del proyecto",
                "typology": "Tipología",
                "stage": "Etapa",
                "total_investment_clp": "Inversión total (CLP)",
                "private_contribution_clp": "Aporte privado (CLP)",
                "location_precision": "Precisión de la ubicación (exact, locality, commune)",
                "source_note": "Nota de la fuente",
                "outside_declared_commune": "El punto cae fuera de la comuna declarada",
            },
        ),
    )
    return {c.id: c for c in (communes, apr, health, schools, projects)}


def collection_named(collection_id: str) -> Collection:
    """The collection called ``collection_id``.

    Raises
    ------
    UnknownCollectionError
        Naming the id and listing the collections.
    """
    try:
        return collections()[collection_id]
    except KeyError:
        raise UnknownCollectionError(
            f"no existe la colección {collection_id!r}; las colecciones son "
            f"{', '.join(collections())}"
        ) from None


# -- requests ---------------------------------------------------------------------------------


BBox = tuple[float, float, float, float]


def parse_bbox(raw: str) -> BBox:
    """``minLon,minLat,maxLon,maxLat`` (or the 6-number form with heights) as four floats.

    Raises
    ------
    FeatureQueryError
        For anything else, including west > east (crossing the antimeridian is not supported)
        and coordinates outside longitude/latitude ranges.
    """
    parts = raw.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise FeatureQueryError(
            f"bbox inválido {raw!r}: se esperan cuatro números lon_min,lat_min,lon_max,lat_max"
        )
    west, south, east, north = numbers
    if not (
        -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90
    ):
        raise FeatureQueryError(f"bbox inválido {raw!r}: coordenadas fuera de rango (CRS84)")
    if west > east or south > north:
        raise FeatureQueryError(
            f"bbox inválido {raw!r}: el mínimo debe ser menor o igual que el máximo"
        )
    return west, south, east, north


def tolerance_for_zoom(zoom: int) -> float:
    """Simplification tolerance in degrees: half a pixel of a 256-pixel tile at ``zoom``."""
    return 360.0 / (256 * 2**zoom) / 2


@dataclass(frozen=True)
class ItemsQuery:
    """What an items request asks for.

    Attributes
    ----------
    bbox : tuple of float or None
        Keep features intersecting this lon/lat box.
    limit, offset : int
        Page size (1 to :data:`MAX_LIMIT`) and start.
    properties : tuple of str or None
        Properties to return (all when None).
    simplify : float or None
        Douglas–Peucker tolerance in degrees for polygons (topology preserved).
    """

    bbox: BBox | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    properties: tuple[str, ...] | None = None
    simplify: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise FeatureQueryError(f"limit debe estar entre 1 y {MAX_LIMIT}")
        if self.offset < 0:
            raise FeatureQueryError("offset no puede ser negativo")
        if self.simplify is not None and not (0 <= self.simplify <= 1):
            raise FeatureQueryError("simplify debe estar entre 0 y 1 grado")


@dataclass(frozen=True)
class FeaturePage:
    """One page of items: GeoJSON features, comma-separated UTF-8 (no brackets), and counts."""

    features: bytes
    matched: int
    returned: int
    run_id: str | None = None


def check_tile(z: int, x: int, y: int) -> morecantile.Tile:
    """The Web Mercator tile ``z/x/y``; TileOutsideMatrixError if it is not in the matrix set."""
    if not (0 <= z <= WEB_MERCATOR.maxzoom and 0 <= x < 2**z and 0 <= y < 2**z):
        raise TileOutsideMatrixError(
            f"la tesela {z}/{x}/{y} no existe en WebMercatorQuad (zoom 0 a "
            f"{WEB_MERCATOR.maxzoom}, x e y de 0 a 2^zoom − 1)"
        )
    return morecantile.Tile(x, y, z)


def tile_bounds(tile: morecantile.Tile) -> tuple[BBox, BBox]:
    """Web Mercator bounds of ``tile`` and the lon/lat bounds of it plus its buffer."""
    left, bottom, right, top = WEB_MERCATOR.xy_bounds(tile)
    pad = (right - left) * TILE_BUFFER / TILE_EXTENT
    limit = WEB_MERCATOR.xy_bbox.right  # the square is symmetric about the origin
    south_west = WEB_MERCATOR.lnglat(max(left - pad, -limit), max(bottom - pad, -limit))
    north_east = WEB_MERCATOR.lnglat(min(right + pad, limit), min(top + pad, limit))
    buffered = (south_west.x, south_west.y, north_east.x, north_east.y)
    return (left, bottom, right, top), buffered


def tilejson_bounds(extent: BBox | None) -> list[float]:
    """TileJSON ``bounds``: the data extent clipped to what WebMercatorQuad covers."""
    west, south, east, north = WEB_MERCATOR.bbox
    if extent is None:
        return [west, south, east, north]
    return [
        max(extent[0], west),
        max(extent[1], south),
        min(extent[2], east),
        min(extent[3], north),
    ]


# -- sources ----------------------------------------------------------------------------------


class FeatureSource(ABC):
    """Answers items, single features, tiles and extents for the collections of one store."""

    @abstractmethod
    def items(self, collection: Collection, query: ItemsQuery) -> FeaturePage:
        """One page of features matching ``query``, in key order."""

    @abstractmethod
    def item(self, collection: Collection, feature_id: str) -> bytes:
        """One GeoJSON Feature (UTF-8); UnknownFeatureError naming the id otherwise."""

    @abstractmethod
    def tile(self, collection: Collection, z: int, x: int, y: int) -> bytes:
        """The Mapbox vector tile ``z/x/y`` of the collection (one layer named after its id).

        Empty when no feature reaches the tile.
        """

    @abstractmethod
    def extents(self) -> dict[str, BBox | None]:
        """Lon/lat extent of every collection (None when it holds no geometry)."""


def feature_source(store: Store) -> FeatureSource:
    """The feature source of ``store`` (SQL for PostGIS, shapely for the embedded store)."""
    if isinstance(store, PostgisStore):
        return PostgisFeatures(store.reads)
    if isinstance(store, EmbeddedStore):
        return EmbeddedFeatures(store)
    raise TypeError(f"no feature source for {type(store).__name__}")


# -- PostGIS ----------------------------------------------------------------------------------

# The newest national run, one probe of the (scope, created_at DESC) index.
_NEWEST_NATIONAL_RUN = (
    "SELECT run_id FROM score_runs WHERE scope = :national_scope "
    "ORDER BY created_at DESC, run_id LIMIT 1"
)


class PostgisFeatures(FeatureSource):
    """Collections served from PostGIS, one parameterised statement per request.

    The rows are filtered, ordered and paged first; only then are the newest national run's
    scores joined in, through a ``LATERAL`` probe of the ``score_results`` primary key per row,
    so a page of 100 communes reads 100 × 4 result rows, not the whole run.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def _head(collection: Collection, params: dict[str, Any]) -> str:
        """``WITH`` clause start: the newest national run when scores are joined."""
        if not collection.with_scores:
            return "WITH "
        params["national_scope"] = NATIONAL_SCOPE
        return f"WITH newest_run AS ({_NEWEST_NATIONAL_RUN}), "

    @staticmethod
    def _scores_join(
        collection: Collection, properties: tuple[Property, ...], params: dict[str, Any], rows: str
    ) -> str:
        """``LEFT JOIN LATERAL`` pivoting the run's results of ``rows.score_cut`` into columns."""
        wanted = [p for p in properties if p.sql.startswith("s.")]
        if not collection.with_scores or not wanted:
            return ""
        pivots = ["min(r.run_id) AS run_id"]
        challenges: dict[str, int] = {}
        for prop in wanted:
            for suffix, _, _ in _SCORE_FIELDS:
                challenge = prop.name.removesuffix(f"_{suffix}")
                if challenge != prop.name and prop.name not in ("run_id",):
                    number = challenges.setdefault(challenge, len(challenges))
                    params[f"challenge_{number}"] = challenge
                    pivots.append(
                        f"max(r.{suffix}) FILTER (WHERE r.challenge = :challenge_{number}) "
                        f'AS "{prop.name}"'
                    )
                    break
        return (
            f" LEFT JOIN LATERAL (SELECT {', '.join(pivots)} FROM score_results r "
            "WHERE r.run_id = (SELECT run_id FROM newest_run) "
            f"AND r.cut = {rows}.score_cut) s ON TRUE"
        )

    @staticmethod
    def _rows(
        collection: Collection,
        properties: tuple[Property, ...],
        geometry: str,
        where: str,
        tail: str,
    ) -> str:
        """``SELECT`` of the key, the table's properties, a geometry and the CUT to score."""
        columns = "".join(f', {p.sql} AS "{p.name}"' for p in properties if p.sql.startswith("t."))
        score_cut = ", t.cut AS score_cut" if collection.with_scores else ""
        return (
            f'SELECT t."{collection.key}" AS feature_id{columns}{score_cut}, {geometry} '
            f'FROM "{collection.table}" t {where} {tail}'
        )

    @staticmethod
    def _value(prop: Property, rows: str) -> str:
        """A property's value in the outer query: from the paged rows or the scores."""
        return f'{rows}."{prop.name}"' if prop.sql.startswith("t.") else f"{prop.sql}"

    @staticmethod
    def _where(
        collection: Collection, params: dict[str, Any], bbox: BBox | None, name: str = "bbox"
    ) -> str:
        conditions = ["TRUE"]
        if collection.category is not None:
            params["category"] = collection.category
            conditions.append("t.category = :category")
        if bbox is not None:
            for corner, value in zip(("w", "s", "e", "n"), bbox, strict=True):
                params[f"{name}_{corner}"] = value
            envelope = f"ST_MakeEnvelope(:{name}_w, :{name}_s, :{name}_e, :{name}_n, {SRID})"
            conditions.append(f"t.geom && {envelope} AND ST_Intersects(t.geom, {envelope})")
        return "WHERE " + " AND ".join(conditions)

    def _feature_text(
        self, collection: Collection, properties: tuple[Property, ...], simplify: float | None
    ) -> str:
        """SQL text expression of one GeoJSON Feature of a row of ``page``."""
        geometry = "page.geom"
        if simplify and collection.polygonal:
            geometry = f"ST_SimplifyPreserveTopology({geometry}, :simplify)"
        pairs = ", ".join(f"'{p.name}', {self._value(p, 'page')}" for p in properties)
        props = f"json_build_object({pairs})::text" if properties else "'{}'"
        return (
            '\'{"type":"Feature","id":\' || to_json(page.feature_id)::text || '
            f"',\"geometry\":' || coalesce(ST_AsGeoJSON({geometry}, {GEOJSON_DIGITS}), 'null') "
            f"|| ',\"properties\":' || {props} || '}}'"
        )

    def _page_sql(
        self,
        collection: Collection,
        properties: tuple[Property, ...],
        params: dict[str, Any],
        where: str,
        simplify: float | None,
        tail: str,
        matched: bool = False,
    ) -> str:
        """The statement of a page of features; ``matched`` adds the count of every match."""
        count = f'(SELECT count(*) FROM "{collection.table}" t {where}) AS matched, '
        run = "(SELECT run_id FROM newest_run) AS run_id, " if collection.with_scores else ""
        return (
            self._head(collection, params)
            + f"page AS ({self._rows(collection, properties, 't.geom', where, tail)}) "
            + "SELECT count(*) AS returned, "
            + (count if matched else "")
            + run
            + "convert_to(coalesce(string_agg("
            + self._feature_text(collection, properties, simplify)
            + ", ',' ORDER BY page.feature_id), ''), 'UTF8') AS features FROM page"
            + self._scores_join(collection, properties, params, "page")
        )

    def items(self, collection: Collection, query: ItemsQuery) -> FeaturePage:
        """One page of features; the count of all matches is a sub-select of the same query."""
        properties = collection.select(query.properties)
        params: dict[str, Any] = {"limit": query.limit, "offset": query.offset}
        if query.simplify:
            params["simplify"] = query.simplify
        where = self._where(collection, params, query.bbox)
        # the count of all matches reads neither the scores nor the geometries
        sql = self._page_sql(
            collection,
            properties,
            params,
            where,
            query.simplify,
            f'ORDER BY t."{collection.key}" LIMIT :limit OFFSET :offset',
            matched=True,
        )
        with self.engine.connect() as connection:
            row = connection.execute(text(sql), params).mappings().one()
        return FeaturePage(
            features=bytes(row["features"]),
            matched=int(row["matched"]),
            returned=int(row["returned"]),
            run_id=row.get("run_id"),
        )

    def item(self, collection: Collection, feature_id: str) -> bytes:
        """One Feature by id (the primary key or indexed key column)."""
        key = collection.feature_id(feature_id)
        params: dict[str, Any] = {"feature_id": key}
        where = self._where(collection, params, None) + f' AND t."{collection.key}" = :feature_id'
        sql = self._page_sql(collection, collection.properties, params, where, None, "LIMIT 1")
        with self.engine.connect() as connection:
            row = connection.execute(text(sql), params).mappings().one()
        if not row["returned"]:
            raise UnknownFeatureError(collection._missing(feature_id))
        return bytes(row["features"])

    def tile(self, collection: Collection, z: int, x: int, y: int) -> bytes:
        """``ST_AsMVT`` over the rows whose geometry meets the buffered tile.

        Rows whose geometry vanishes at this zoom get a NULL ``ST_AsMVTGeom``, which
        ``ST_AsMVT`` skips (filtering them in SQL would compute every geometry twice).
        """
        tile = check_tile(z, x, y)
        (left, bottom, right, top), buffered = tile_bounds(tile)
        params: dict[str, Any] = {
            "left": left,
            "bottom": bottom,
            "right": right,
            "top": top,
            "layer": collection.id,
            # Simplify in degrees to about a quarter of a tile unit before projecting: the
            # tile cannot show more, and projecting fewer vertices is most of the saving.
            "tolerance": (buffered[2] - buffered[0]) / (TILE_EXTENT + 2 * TILE_BUFFER) / 4,
        }
        where = self._where(collection, params, buffered, name="tile")
        geometry = "t.geom"
        if collection.polygonal:
            clip = "ST_MakeEnvelope(:tile_w, :tile_s, :tile_e, :tile_n, 4326)"
            geometry = f"ST_Simplify(ST_ClipByBox2D({geometry}, {clip}), :tolerance, true)"
        mvt_geometry = (
            f"ST_AsMVTGeom(ST_Transform({geometry}, 3857), "
            f"ST_MakeEnvelope(:left, :bottom, :right, :top, 3857), "
            f"{TILE_EXTENT}, {TILE_BUFFER}, true) AS mvt_geom"
        )
        properties = collection.properties
        values = ", ".join(f'{self._value(p, "tile_rows")} AS "{p.name}"' for p in properties)
        sql = (
            self._head(collection, params)
            + f"tile_rows AS ({self._rows(collection, properties, mvt_geometry, where, '')}), "
            + f"features AS (SELECT {values}, tile_rows.mvt_geom FROM tile_rows"
            + self._scores_join(collection, properties, params, "tile_rows")
            + " ORDER BY tile_rows.feature_id) "
            + f"SELECT ST_AsMVT(features.*, :layer, {TILE_EXTENT}, 'mvt_geom') FROM features"
        )
        with self.engine.connect() as connection:
            data = connection.execute(text(sql), params).scalar_one()
        return bytes(data or b"")

    def extents(self) -> dict[str, BBox | None]:
        """``ST_Extent`` of every collection, in one statement."""
        params: dict[str, Any] = {}
        parts = []
        for number, collection in enumerate(collections().values()):
            params[f"id_{number}"] = collection.id
            where = "WHERE TRUE"
            if collection.category is not None:
                params[f"category_{number}"] = collection.category
                where = f"WHERE t.category = :category_{number}"
            parts.append(
                f"SELECT :id_{number} AS id, ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, "
                f'ST_YMax(e) AS n FROM (SELECT ST_Extent(t.geom) AS e FROM "{collection.table}"'
                f" t {where}) AS x"
            )
        with self.engine.connect() as connection:
            rows = connection.execute(text(" UNION ALL ".join(parts)), params).mappings().all()
        return {
            row["id"]: None if row["w"] is None else (row["w"], row["s"], row["e"], row["n"])
            for row in rows
        }


# -- embedded store ---------------------------------------------------------------------------

_TO_MERCATOR = pyproj.Transformer.from_crs(SRID, 3857, always_xy=True)


class EmbeddedFeatures(FeatureSource):
    """Collections served from the embedded GeoParquet store, filtered with shapely.

    Tables keyed by a surrogate ``id`` in PostGIS keep no id in the embedded files; there a
    feature's id is its 1-based place in the table's row order (dataset, then file order).
    Either way the id is stable until its dataset is reloaded.
    """

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store

    def _scores(self, collection: Collection, cuts: list[str]) -> pd.DataFrame:
        """The newest national run's results of ``cuts``, one row per CUT, named as properties."""
        names = [p.name for p in collection.properties if p.sql.startswith("s.")]
        wide = pd.DataFrame({"cut": cuts})
        try:
            run = self.store.newest_run(NATIONAL_SCOPE)
        except LookupError:
            return wide.assign(**{name: None for name in names})
        results = self.store.run_results(run.run_id, cuts=cuts)
        for challenge, rows in results.groupby("challenge"):
            by_cut = rows.set_index("cut")
            for suffix, _, _ in _SCORE_FIELDS:
                name = f"{challenge}_{suffix}"
                if name in names:
                    wide[name] = wide["cut"].map(by_cut[suffix])
        wide["run_id"] = run.run_id
        return wide.assign(**{name: None for name in names if name not in wide.columns})

    def _rows(self, collection: Collection, bbox: BBox | None) -> gpd.GeoDataFrame:
        """Matching rows in key order with the key, the table's properties and the geometry."""
        table_columns = [p.name for p in collection.properties if p.sql.startswith("t.")]
        equals: dict[str, object] | None = None
        if collection.category is not None:
            equals = {"category": collection.category}
        if collection.key == "id":
            columns = list(dict.fromkeys([*table_columns, "geom", "category"]))
            columns = [c for c in columns if c in table_named(collection.table).c]
            frame = self.store.read(collection.table, columns=columns)
            frame.insert(0, "id", np.arange(1, len(frame) + 1))
            if equals is not None:
                frame = frame[frame["category"] == collection.category]
            if bbox is not None:
                frame = frame[
                    shapely.intersects(np.asarray(frame.geometry.array), shapely.box(*bbox))
                ]
        else:
            columns = list(dict.fromkeys([collection.key, *table_columns, "geom"]))
            frame = self.store.read(collection.table, columns=columns, bbox=bbox, equals=equals)
        frame = frame.sort_values(collection.key, kind="stable").reset_index(drop=True)
        return gpd.GeoDataFrame(frame, geometry="geom", crs=f"EPSG:{SRID}")

    def _with_scores(self, collection: Collection, page: pd.DataFrame) -> pd.DataFrame:
        if not collection.with_scores or page.empty:
            return page
        scores = self._scores(collection, [str(c) for c in page["cut"]])
        return page.merge(scores, on="cut", how="left")

    @staticmethod
    def _features(
        frame: pd.DataFrame,
        collection: Collection,
        properties: tuple[Property, ...],
        simplify: float | None,
    ) -> bytes:
        geometries = np.asarray(frame["geom"].array)
        if simplify and collection.polygonal:
            geometries = shapely.simplify(geometries, simplify, preserve_topology=True)
        texts = ["null" if g is None else shapely.to_geojson(g) for g in geometries]
        records = _json_records(frame, [p.name for p in properties])
        features = [
            '{"type":"Feature","id":'
            + json.dumps(_plain(key))
            + ',"geometry":'
            + geometry
            + ',"properties":'
            + json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            + "}"
            for key, geometry, record in zip(frame[collection.key], texts, records, strict=True)
        ]
        return ",".join(features).encode("utf-8")

    def items(self, collection: Collection, query: ItemsQuery) -> FeaturePage:
        """The matching rows (bbox pushed into the Parquet read), then the page."""
        properties = collection.select(query.properties)
        rows = self._rows(collection, query.bbox)
        page = self._with_scores(collection, rows.iloc[query.offset : query.offset + query.limit])
        run_id = None
        if collection.with_scores:
            try:
                run_id = self.store.newest_run(NATIONAL_SCOPE).run_id
            except LookupError:
                run_id = None
        return FeaturePage(
            features=self._features(page, collection, properties, query.simplify),
            matched=len(rows),
            returned=len(page),
            run_id=run_id,
        )

    def item(self, collection: Collection, feature_id: str) -> bytes:
        """One Feature by id."""
        key = collection.feature_id(feature_id)
        rows = self._rows(collection, None)
        match = self._with_scores(collection, rows[rows[collection.key] == key].head(1))
        if match.empty:
            raise UnknownFeatureError(collection._missing(feature_id))
        return self._features(match, collection, collection.properties, None)

    def tile(self, collection: Collection, z: int, x: int, y: int) -> bytes:
        """Clip to the buffered tile, project to Web Mercator and encode with mapbox_vector_tile."""
        tile = check_tile(z, x, y)
        bounds, buffered = tile_bounds(tile)
        rows = self._rows(collection, buffered)
        rows = self._with_scores(collection, rows[rows["geom"].notna()])
        if rows.empty:
            return b""
        geometries = np.asarray(rows["geom"].array)
        if collection.polygonal:
            geometries = shapely.clip_by_rect(geometries, *buffered)
        left, bottom, right, _ = bounds
        scale = TILE_EXTENT / (right - left)  # tiles are square

        def to_tile_units(lonlat: np.ndarray) -> np.ndarray:
            x, y = _TO_MERCATOR.transform(lonlat[:, 0], lonlat[:, 1])
            return np.column_stack(((x - left) * scale, (y - bottom) * scale))

        # Snapped to whole tile units by GEOS, which keeps polygons valid (or empties them).
        in_tile = shapely.set_precision(shapely.transform(geometries, to_tile_units), 1.0)
        records = _json_records(rows, [p.name for p in collection.properties])
        features = [
            {"geometry": geometry, "properties": {k: v for k, v in record.items() if v is not None}}
            for geometry, record in zip(in_tile, records, strict=True)
            if not shapely.is_empty(geometry)
        ]
        if not features:
            return b""
        encoded: bytes = mapbox_vector_tile.encode(
            [{"name": collection.id, "features": features}],
            default_options={"extents": TILE_EXTENT, "y_coord_down": False},
        )
        return encoded

    def extents(self) -> dict[str, BBox | None]:
        """Total bounds of every collection's geometries."""
        extents: dict[str, BBox | None] = {}
        for collection in collections().values():
            equals: dict[str, object] | None = None
            if collection.category is not None:
                equals = {"category": collection.category}
            frame = self.store.read(collection.table, columns=["geom"], equals=equals)
            geometries = frame.geometry.dropna()
            geometries = geometries[~geometries.is_empty]
            if geometries.empty:
                extents[collection.id] = None
            else:
                west, south, east, north = (float(v) for v in geometries.total_bounds)
                extents[collection.id] = (west, south, east, north)
        return extents


def _plain(value: Any) -> Any:
    """A JSON-ready Python value from a pandas/numpy cell (NA and NaN become None)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value


def _json_records(frame: pd.DataFrame, names: list[str]) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts of plain JSON values, in ``names`` order."""
    columns = [[_plain(v) for v in frame[name].tolist()] for name in names]
    return (
        [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
        if names
        else [{} for _ in range(len(frame))]
    )
