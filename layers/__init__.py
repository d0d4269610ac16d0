"""All input and output of geogaps: readers, validation, and the PostGIS and embedded stores."""

from pathlib import Path

from layers.embedded import EmbeddedStore
from layers.postgis import PostgisStore
from layers.store import Store


def open_store(database_url: str | None, store_dir: Path) -> Store:
    """Open PostGIS when a database URL is given, the embedded store in ``store_dir`` otherwise."""
    if database_url:
        return PostgisStore(database_url)
    return EmbeddedStore(store_dir)


__all__ = ["EmbeddedStore", "PostgisStore", "Store", "open_store"]
