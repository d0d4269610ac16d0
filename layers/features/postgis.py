"""Collections served from PostGIS: ONE parameterised statement per request.

As developmentseed's tipg does: ``bbox`` becomes ``geom && envelope AND ST_Intersects(geom,
envelope)`` (the GiST index), ``limit``/``offset`` page in SQL, and PostgreSQL itself assembles
the GeoJSON features (``ST_AsGeoJSON``, ``json_build_object``) or the Mapbox vector tile
(``ST_AsMVTGeom``, ``ST_AsMVT``), which reach Python as bytes and leave it untouched. The
statements are the ``.sql`` files of :mod:`layers.sql`, filled here with identifiers from the
collection descriptions; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, text

from layers.features.collections import Collection, Property
from layers.features.prepared import PREPARED_TABLES, TILE_GEOMETRIES
from layers.features.requests import GEOJSON_DIGITS, FeaturePage, ItemsQuery
from layers.features.source import FeatureSource
from layers.features.tiles import (
    TILE_BUFFER,
    TILE_EXTENT,
    check_tile,
    tile_band,
    tile_envelopes,
)
from layers.queries import BBox
from layers.runs import NATIONAL_SCOPE
from layers.schema import SRID
from layers.sql import fragment, quoted, statement

#: A geometry in EPSG:3857 as tile units of the tile, clipped to its buffer (tipg's call).
_MVT_GEOMETRY = (
    "ST_AsMVTGeom({geometry}, ST_MakeEnvelope(:tile_w, :tile_s, :tile_e, :tile_n, 3857), "
    f"{TILE_EXTENT}, {TILE_BUFFER}, true)"
)
#: The prepared geometry of the zoom's band, clipped to the buffered tile before encoding.
_CLIPPED_PREPARED = "ST_ClipByBox2D(p.geom, ST_MakeEnvelope(:clip_w, :clip_s, :clip_e, :clip_n))"


class PostgisFeatures(FeatureSource):
    """Collections served from PostGIS, one parameterised statement per request.

    The rows are filtered, ordered and paged first; only then are the newest national run's
    scores joined in, through a ``LATERAL`` probe of the ``score_results`` primary key per row,
    so a page of 100 communes reads 100 × 4 result rows, not the whole run.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- fragments ---------------------------------------------------------------------------

    @staticmethod
    def _newest_run(collection: Collection, params: dict[str, Any]) -> str:
        """The ``newest_run`` common table expression, when scores are joined."""
        if not collection.with_scores:
            return ""
        params["national_scope"] = NATIONAL_SCOPE
        return f"newest_run AS ({fragment('newest_national_run')}), "

    @staticmethod
    def _scores_join(
        collection: Collection, properties: tuple[Property, ...], params: dict[str, Any], rows: str
    ) -> str:
        """``LEFT JOIN LATERAL`` pivoting the run's results of ``rows.score_cut`` into columns."""
        wanted = [p for p in properties if not p.from_table]
        if not collection.with_scores or not wanted:
            return ""
        pivots = ["min(r.run_id) AS run_id"]
        challenges: dict[str, int] = {}
        for prop in wanted:
            if prop.challenge is None or prop.result is None:
                continue  # the run id: min(r.run_id) above
            number = challenges.setdefault(prop.challenge, len(challenges))
            params[f"challenge_{number}"] = prop.challenge
            pivots.append(
                f"max(r.{prop.result}) FILTER (WHERE r.challenge = :challenge_{number}) "
                f"AS {quoted(prop.name)}"
            )
        return " " + fragment("scores_join", pivots=", ".join(pivots), rows=rows)

    @staticmethod
    def _rows(
        collection: Collection,
        properties: tuple[Property, ...],
        geometry: str,
        where: str,
        tail: str,
    ) -> str:
        """``SELECT`` of the key, the table's properties, a geometry and the CUT to score."""
        columns = "".join(
            f", t.{quoted(p.column)} AS {quoted(p.name)}"
            for p in properties
            if p.column is not None
        )
        return fragment(
            "rows",
            key=quoted(collection.key),
            columns=columns,
            score_cut=", t.cut AS score_cut" if collection.with_scores else "",
            geometry=geometry,
            table=quoted(collection.table),
            where=where,
            tail=tail,
        )

    @staticmethod
    def _value(prop: Property, rows: str) -> str:
        """A property's value in the outer query: from the paged rows or the scores."""
        if prop.from_table:
            return f"{rows}.{quoted(prop.name)}"
        return f"s.{quoted(prop.name)}" if prop.from_scores else "s.run_id"

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
        return fragment("feature", geometry=geometry, digits=str(GEOJSON_DIGITS), properties=props)

    def _page(
        self,
        collection: Collection,
        properties: tuple[Property, ...],
        params: dict[str, Any],
        where: str,
        simplify: float | None,
        tail: str,
        matched: bool = False,
    ) -> Any:
        """The statement of a page of features; ``matched`` adds the count of every match."""
        count = f"(SELECT count(*) FROM {quoted(collection.table)} t {where}) AS matched, "
        run = "(SELECT run_id FROM newest_run) AS run_id, " if collection.with_scores else ""
        return statement(
            "page",
            newest_run=self._newest_run(collection, params),
            rows=self._rows(collection, properties, "t.geom", where, tail),
            matched=count if matched else "",
            run_id=run,
            feature=self._feature_text(collection, properties, simplify),
            scores=self._scores_join(collection, properties, params, "page"),
        )

    # -- requests ----------------------------------------------------------------------------

    def items(self, collection: Collection, query: ItemsQuery) -> FeaturePage:
        """One page of features; the count of all matches is a sub-select of the same query."""
        properties = collection.select(query.properties)
        params: dict[str, Any] = {"limit": query.limit, "offset": query.offset}
        if query.simplify:
            params["simplify"] = query.simplify
        where = self._where(collection, params, query.bbox)
        # the count of all matches reads neither the scores nor the geometries
        sql = self._page(
            collection,
            properties,
            params,
            where,
            query.simplify,
            f"ORDER BY t.{quoted(collection.key)} LIMIT :limit OFFSET :offset",
            matched=True,
        )
        with self.engine.connect() as connection:
            row = connection.execute(sql, params).mappings().one()
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
        where = self._where(collection, params, None)
        where += f" AND t.{quoted(collection.key)} = :feature_id"
        sql = self._page(collection, collection.properties, params, where, None, "LIMIT 1")
        with self.engine.connect() as connection:
            row = connection.execute(sql, params).mappings().one()
        if not row["returned"]:
            raise collection.missing(feature_id)
        return bytes(row["features"])

    def tile(self, collection: Collection, z: int, x: int, y: int) -> bytes:
        """``ST_AsMVT`` over the rows tipg would put in the tile (:mod:`layers.features.tiles`).

        Rows meet the tile's own lon/lat bounds (no buffer), through the GiST index of their
        geometry. Polygons are drawn from their geometry prepared for the zoom's band
        (:mod:`layers.features.prepared`, one primary-key probe per row), clipped to the
        buffered tile in Web Mercator before ``ST_AsMVTGeom``; points are only projected.
        Rows whose geometry vanishes at this zoom get a NULL ``ST_AsMVTGeom``, which
        ``ST_AsMVT`` skips (filtering them in SQL would compute every geometry twice).
        """
        envelopes = tile_envelopes(check_tile(z, x, y))
        params: dict[str, Any] = {"layer": collection.id}
        for name, box in (("tile", envelopes.bounds), ("clip", envelopes.clip)):
            for corner, value in zip(("w", "s", "e", "n"), box, strict=True):
                params[f"{name}_{corner}"] = value
        where = self._where(collection, params, envelopes.rows, name="rows")
        mvt_geometry = _MVT_GEOMETRY.format(geometry="ST_Transform(t.geom, 3857)")
        if collection.polygonal and collection.table in PREPARED_TABLES:
            params["prepared_table"] = collection.table
            params["band"] = tile_band(z)
            where = (
                f"LEFT JOIN {quoted(TILE_GEOMETRIES)} p ON p.table_name = :prepared_table "
                f"AND p.band = :band AND p.feature_key = t.{quoted(collection.key)}::text {where}"
            )
            # The original only where the prepared geometry vanishes (tipg would draw it).
            prepared = _MVT_GEOMETRY.format(geometry=_CLIPPED_PREPARED)
            mvt_geometry = f"COALESCE({prepared}, {mvt_geometry})"
        mvt_geometry += " AS mvt_geom"
        properties = collection.properties
        values = ", ".join(f"{self._value(p, 'tile_rows')} AS {quoted(p.name)}" for p in properties)
        sql = statement(
            "tile",
            newest_run=self._newest_run(collection, params),
            rows=self._rows(collection, properties, mvt_geometry, where, ""),
            values=values,
            scores=self._scores_join(collection, properties, params, "tile_rows"),
            extent=str(TILE_EXTENT),
        )
        with self.engine.connect() as connection:
            data = connection.execute(sql, params).scalar_one()
        return bytes(data or b"")

    def extents(self, collections: Iterable[Collection]) -> dict[str, BBox | None]:
        """``ST_Extent`` of every collection, in one statement."""
        params: dict[str, Any] = {}
        parts = []
        for number, collection in enumerate(collections):
            params[f"id_{number}"] = collection.id
            where = "WHERE TRUE"
            if collection.category is not None:
                params[f"category_{number}"] = collection.category
                where = f"WHERE t.category = :category_{number}"
            parts.append(
                fragment("extent", number=str(number), table=quoted(collection.table), where=where)
            )
        with self.engine.connect() as connection:
            rows = connection.execute(text(" UNION ALL ".join(parts)), params).mappings().all()
        return {
            row["id"]: None if row["w"] is None else (row["w"], row["s"], row["e"], row["n"])
            for row in rows
        }
