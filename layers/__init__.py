"""All input and output of geogaps: readers, validation, and the PostGIS and embedded stores.

The package's map: ``stores/`` (the two stores), ``features/`` (OGC collections and vector
tiles from either store), ``sql/`` (hand-written SQL), ``readers/`` (one module per family of
sources), ``loading/`` (load a file or a folder: validate, write, record), and the shared
``schema``, ``tables``, ``queries``, ``runs``, ``validation`` and ``constraints`` modules.
"""

from pathlib import Path

from layers.stores import EmbeddedStore, PostgisStore, Store


def open_store(
    database_url: str | None,
    store_dir: Path,
    *,
    pool_size: int = 5,
    statement_timeout_ms: int | None = None,
    create: bool = True,
) -> Store:
    """Open PostGIS when a database URL is given, the embedded store in ``store_dir`` otherwise.

    Nothing connects yet: a PostGIS store reaches the database on its first query. ``create``
    makes a missing embedded-store folder (loading does; serving and reading never do).
    """
    if database_url:
        return PostgisStore(
            database_url, pool_size=pool_size, statement_timeout_ms=statement_timeout_ms or None
        )
    return EmbeddedStore(store_dir, create=create)


__all__ = ["EmbeddedStore", "PostgisStore", "Store", "open_store"]
