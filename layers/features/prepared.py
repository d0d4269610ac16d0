"""Polygons prepared for the vector tiles at load time, one geometry per zoom band.

Drawing a commune in a tile used to mean, per request: clip, simplify, project to Web Mercator
and let ``ST_AsMVTGeom`` snap and repair. The table ``tile_geometries`` keeps, per row of a
polygon table and per zoom band (:func:`layers.features.tiles.tile_band`), the geometry already
in EPSG:3857, simplified to :data:`SIMPLIFY_UNITS` tile units of the band's zoom (a quarter
of a pixel of a 256-pixel tile: the drawing does not change), snapped to that zoom's tile-unit
grid (which lines up with every tile of the zoom) and valid; zooms from
:data:`~layers.features.tiles.FULL_BAND` on share the projected geometry itself. A tile then
only clips what it shows (:mod:`layers.features.postgis`).

The rows follow the data: :func:`prepare_tile_geometries` runs in the store's write
transaction after every load, replacement or removal of a dataset (migration 0009 fills it for
stores loaded before).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import Connection, delete

from layers.features.tiles import FULL_BAND, band_grid
from layers.sql import quoted, statement
from layers.tables import table_named

#: Polygon tables served as tiles, with the key their features are identified by.
PREPARED_TABLES: Final = {"communes": "cut"}
TILE_GEOMETRIES: Final = "tile_geometries"
#: Douglas–Peucker tolerance in tile units: 4096 units span 256 pixels, so 4 is 1/4 pixel.
SIMPLIFY_UNITS: Final = 4.0
#: Settings of the write transaction while the geometries are made, put back after. ST_IsValid
#: sends a NOTICE per invalid band geometry (dozens per load) that nobody reads. The planner's
#: cost of the statement, mostly PostGIS function costs, sits at the default JIT threshold
#: (a row estimate a little higher crosses it): compiling then takes longer (~25 ms) than it
#: saves on a few thousand rows.
_PREPARING_SETTINGS: Final = {"client_min_messages": "warning", "jit": "off"}


def prepare_tile_geometries(connection: Connection, datasets: Iterable[str | None]) -> None:
    """Replace the prepared tile geometries of ``datasets`` by those of their current rows.

    Call it inside the write transaction that changed the datasets, after the change: rows of
    a removed or retired dataset lose their geometries, rows just loaded get theirs. Datasets
    of tables that are not prepared cost two index probes.
    """
    names = sorted({d for d in datasets if d is not None})
    if not names:
        return
    prepared = table_named(TILE_GEOMETRIES)
    connection.execute(delete(prepared).where(prepared.c.dataset.in_(names)))
    bands = list(range(FULL_BAND + 1))
    with _local_settings(connection, _PREPARING_SETTINGS):
        for table_name, key in PREPARED_TABLES.items():
            connection.execute(
                statement("tile_geometries", table=quoted(table_name), key=quoted(key)),
                {
                    "datasets": names,
                    "table_name": table_name,
                    "bands": bands,
                    "grids": [band_grid(b) for b in bands],
                    "tolerances": [band_grid(b) * SIMPLIFY_UNITS for b in bands],
                },
            )


@contextmanager
def _local_settings(connection: Connection, settings: dict[str, str]) -> Iterator[None]:
    """Change ``settings`` for the open transaction only, and put the previous values back.

    ``set_config(..., true)`` is ``SET LOCAL``: even if the block fails, the values end with
    the transaction; restoring them keeps the rest of a successful transaction unchanged.
    """
    names = list(settings)
    change = statement("set_local_settings")
    values = list(settings.values())
    previous = connection.execute(change, {"names": names, "settings": values}).scalars().all()
    yield
    connection.execute(change, {"names": names, "settings": list(previous)})
