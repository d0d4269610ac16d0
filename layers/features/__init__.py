"""Feature collections and vector tiles for GIS clients (OGC API – Features), from either store.

A :class:`Collection` describes what is served (table, key, geometry, allow-listed
:class:`Property` values); which collections exist is the service's choice
(:mod:`geo_service.services.collections`). Each store answers through its
:class:`FeatureSource` (:meth:`layers.stores.base.Store.feature_source`): PostGIS with one SQL
statement per request (:mod:`layers.features.postgis`), the embedded store with shapely and
``mapbox_vector_tile`` (:mod:`layers.features.embedded`).
"""

from layers.errors import FeatureQueryError, TileOutsideMatrixError, UnknownFeatureError
from layers.features.collections import (
    RUN_ID,
    SCORE_RESULTS,
    Collection,
    Property,
    PropertyType,
    table_properties,
)
from layers.features.requests import (
    CRS84,
    DEFAULT_LIMIT,
    GEOJSON_DIGITS,
    MAX_LIMIT,
    FeaturePage,
    ItemsQuery,
    parse_bbox,
    tolerance_for_zoom,
)
from layers.features.source import FeatureSource
from layers.features.tiles import (
    TILE_BUFFER,
    TILE_EXTENT,
    WEB_MERCATOR,
    TileEnvelopes,
    check_tile,
    tile_band,
    tile_envelopes,
    tilejson_bounds,
)

__all__ = [
    "CRS84",
    "DEFAULT_LIMIT",
    "GEOJSON_DIGITS",
    "MAX_LIMIT",
    "RUN_ID",
    "SCORE_RESULTS",
    "TILE_BUFFER",
    "TILE_EXTENT",
    "WEB_MERCATOR",
    "Collection",
    "FeaturePage",
    "FeatureQueryError",
    "FeatureSource",
    "ItemsQuery",
    "Property",
    "PropertyType",
    "TileEnvelopes",
    "TileOutsideMatrixError",
    "UnknownFeatureError",
    "check_tile",
    "parse_bbox",
    "table_properties",
    "tile_band",
    "tile_envelopes",
    "tilejson_bounds",
    "tolerance_for_zoom",
]
