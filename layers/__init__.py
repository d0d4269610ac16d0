"""All input and output of geogaps: readers, validation, and the PostGIS and embedded stores."""

from pathlib import Path

from layers.embedded import EmbeddedStore
from layers.postgis import PostgisStore
from layers.store import Store


def open_store(
    database_url: str | None,
    store_dir: Path,
    *,
    pool_size: int = 5,
    statement_timeout_ms: int | None = None,
) -> Store:
    """Open PostGIS when a database URL is given, the embedded store in ``store_dir`` otherwise.

    Nothing connects yet: a PostGIS store reaches the database on its first query.
    """
    if database_url:
        return PostgisStore(
            database_url, pool_size=pool_size, statement_timeout_ms=statement_timeout_ms or None
        )
    return EmbeddedStore(store_dir)


__all__ = ["EmbeddedStore", "PostgisStore", "Store", "open_store"]
