"""The two stores that hold geogaps' tables, and what they share.

:mod:`layers.stores.base` is the :class:`Store` every caller sees; :mod:`layers.stores.postgis`
keeps the tables in PostGIS (its connections in ``postgis_connections``, its SQLAlchemy
queries in ``postgis_queries``) and :mod:`layers.stores.embedded` in GeoParquet files of a
local folder (file handling in ``embedded_files``). Each gives its OGC feature source
(:mod:`layers.features`) through :meth:`Store.feature_source`.
"""

from layers.stores.base import Store
from layers.stores.embedded import EmbeddedStore
from layers.stores.postgis import PostgisStore

__all__ = ["EmbeddedStore", "PostgisStore", "Store"]
