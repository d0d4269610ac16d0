"""Collections served from the embedded GeoParquet store, filtered and encoded in Python.

The same filters as the SQL of :mod:`layers.features.postgis`, applied with shapely on the
store's reads (bbox and category pushed into the Parquet reader); tiles are encoded with
``mapbox_vector_tile``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import mapbox_vector_tile  # type: ignore[import-untyped]
import numpy as np
import pandas as pd
import pyproj
import shapely

from layers.errors import UnknownRunError
from layers.features.collections import Collection, Property
from layers.features.requests import FeaturePage, ItemsQuery
from layers.features.source import FeatureSource
from layers.features.tiles import TILE_EXTENT, check_tile, tile_envelopes
from layers.queries import BBox
from layers.runs import NATIONAL_SCOPE
from layers.schema import SRID
from layers.tables import table_named

if TYPE_CHECKING:
    from layers.stores.base import Store

_TO_MERCATOR = pyproj.Transformer.from_crs(SRID, 3857, always_xy=True)


class EmbeddedFeatures(FeatureSource):
    """Collections served from the embedded GeoParquet store, filtered with shapely.

    Tables keyed by a surrogate ``id`` in PostGIS keep no id in the embedded files; there a
    feature's id is its 1-based place in the table's row order (dataset, then file order).
    Either way the id is stable until its dataset is reloaded.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def _newest_run_id(self) -> str | None:
        try:
            return self.store.newest_run(NATIONAL_SCOPE).run_id
        except UnknownRunError:
            return None

    def _scores(self, collection: Collection, cuts: list[str]) -> pd.DataFrame:
        """The newest national run's results of ``cuts``, one row per CUT, named as properties."""
        wanted = [p for p in collection.properties if not p.from_table]
        wide = pd.DataFrame({"cut": cuts})
        run_id = self._newest_run_id()
        if run_id is None:
            return wide.assign(**{p.name: None for p in wanted})
        results = self.store.run_results(run_id, cuts=cuts)
        by_challenge = {str(c): rows.set_index("cut") for c, rows in results.groupby("challenge")}
        for prop in wanted:
            rows = by_challenge.get(prop.challenge or "")
            if prop.from_scores and rows is not None:
                wide[prop.name] = wide["cut"].map(rows[prop.result])
        wide["run_id"] = run_id
        return wide.assign(**{p.name: None for p in wanted if p.name not in wide.columns})

    def _rows(self, collection: Collection, bbox: BBox | None) -> gpd.GeoDataFrame:
        """Matching rows in key order with the key, the table's properties and the geometry."""
        renamed = {p.column: p.name for p in collection.properties if p.column is not None}
        table_columns = list(renamed)
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
        for column, name in renamed.items():
            if column != name:
                frame[name] = frame[column]
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
        if frame.empty:  # past the end, or nothing in the bbox: an empty collection, as PostGIS
            return b""
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
        return FeaturePage(
            features=self._features(page, collection, properties, query.simplify),
            matched=len(rows),
            returned=len(page),
            run_id=self._newest_run_id() if collection.with_scores else None,
        )

    def item(self, collection: Collection, feature_id: str) -> bytes:
        """One Feature by id."""
        key = collection.feature_id(feature_id)
        rows = self._rows(collection, None)
        match = self._with_scores(collection, rows[rows[collection.key] == key].head(1))
        if match.empty:
            raise collection.missing(feature_id)
        return self._features(match, collection, collection.properties, None)

    def tile(self, collection: Collection, z: int, x: int, y: int) -> bytes:
        """The rows tipg would put in the tile, clipped, projected and encoded.

        Rows as :mod:`layers.features.tiles` says (tipg's rule), clipped to the buffered tile,
        projected to Web Mercator and encoded with mapbox_vector_tile.
        """
        envelopes = tile_envelopes(check_tile(z, x, y))
        rows = self._rows(collection, envelopes.rows)
        rows = self._with_scores(collection, rows[rows["geom"].notna()])
        if rows.empty:
            return b""
        geometries = np.asarray(rows["geom"].array)
        if collection.polygonal:
            geometries = shapely.clip_by_rect(geometries, *envelopes.lonlat_clip)
        left, bottom, right, _ = envelopes.bounds
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

    def extents(self, collections: Iterable[Collection]) -> dict[str, BBox | None]:
        """Total bounds of every collection's geometries."""
        extents: dict[str, BBox | None] = {}
        for collection in collections:
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
