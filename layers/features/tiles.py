"""The tile matrix set of every vector tile (WebMercatorQuad), a tile's envelopes and zoom bands.

The rules are developmentseed's tipg's (1.6.1, ``tipg.collections``), so both servers put the
same features in a tile:

* **Which rows.** A row is in tile ``z/x/y`` when its stored geometry (EPSG:4326) intersects the
  tile's own bounds, **without the buffer**, taken from Web Mercator to lon/lat with pyproj's
  ``transform_bounds`` (tipg's ``cql_where(tile=...)``: ``ST_Intersects(geom, envelope)`` in the
  column's SRID). A feature that only reaches the buffer is not drawn, by tipg nor here.
* **Which geometry.** ``ST_AsMVTGeom(geom, tile bounds in EPSG:3857, 4096, buffer, clip=true)``:
  extent :data:`TILE_EXTENT` units, :data:`TILE_BUFFER` units of buffer, clipped to the buffered
  tile; a geometry that vanishes at that resolution is NULL and ``ST_AsMVT`` skips it, in both.
* **Where geogaps differs (only in cost).** Polygons are read from geometries prepared at load
  time for the zoom's band (:func:`tile_band`): already in EPSG:3857, simplified to four tile
  units (a quarter pixel) and snapped to the band's tile-unit grid (a grid that lines up with
  every tile of that zoom), valid; they are clipped to the buffered tile before
  ``ST_AsMVTGeom``, so nothing is projected, simplified or repaired per request but the few
  vertices inside the tile.

The tile buffer is 64 units (tipg's default is 256; ``benchmarks/bench_ogc.py`` starts tipg with
``TIPG_TILE_BUFFER=64``), the extent 4096 as tipg's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import morecantile
import pyproj

from layers.errors import TileOutsideMatrixError
from layers.queries import BBox
from layers.schema import SRID

#: The tile matrix set of every tile: Web Mercator, 256-pixel tiles, zoom 0 to 24.
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
#: Tile grid (MVT extent) and the buffer around it, in tile units, that keeps edges seamless.
TILE_EXTENT = 4096
TILE_BUFFER = 64
#: Zooms from this one on share one band: the whole geometry, projected but not snapped (the
#: boundaries hold no detail finer than a tile unit of this zoom, about 76 m).
FULL_BAND = 7
#: Width of the Web Mercator square, in metres.
_WORLD = 2 * WEB_MERCATOR.xy_bbox.right


def check_tile(z: int, x: int, y: int) -> morecantile.Tile:
    """The Web Mercator tile ``z/x/y``; TileOutsideMatrixError if it is not in the matrix set."""
    if not (0 <= z <= WEB_MERCATOR.maxzoom and 0 <= x < 2**z and 0 <= y < 2**z):
        raise TileOutsideMatrixError(
            f"la tesela {z}/{x}/{y} no existe en WebMercatorQuad (zoom 0 a "
            f"{WEB_MERCATOR.maxzoom}, x e y de 0 a 2^zoom − 1)"
        )
    return morecantile.Tile(x, y, z)


@dataclass(frozen=True)
class TileEnvelopes:
    """The boxes one tile is made with.

    Attributes
    ----------
    bounds : BBox
        The tile in Web Mercator metres (the box of ``ST_AsMVTGeom``).
    clip : BBox
        ``bounds`` plus the buffer, in Web Mercator (polygons are clipped to it first).
    rows : BBox
        tipg's row filter: ``bounds`` without buffer, in lon/lat (EPSG:4326).
    lonlat_clip : BBox
        ``clip`` in lon/lat (the embedded store clips its lon/lat geometries to it).
    """

    bounds: BBox
    clip: BBox
    rows: BBox
    lonlat_clip: BBox


@cache
def _to_lonlat() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(3857, SRID, always_xy=True)


def tile_envelopes(tile: morecantile.Tile) -> TileEnvelopes:
    """The envelopes of ``tile`` (see :class:`TileEnvelopes` and the module's rules)."""
    left, bottom, right, top = WEB_MERCATOR.xy_bounds(tile)
    pad = (right - left) * TILE_BUFFER / TILE_EXTENT
    limit = WEB_MERCATOR.xy_bbox.right  # the square is symmetric about the origin
    clip = (
        max(left - pad, -limit),
        max(bottom - pad, -limit),
        min(right + pad, limit),
        min(top + pad, limit),
    )
    # tipg: TransformerFromCRS(tms_srid, column_srid).transform_bounds(tile's xy bounds)
    rows = _to_lonlat().transform_bounds(left, bottom, right, top)
    lonlat_clip = _to_lonlat().transform_bounds(*clip)
    return TileEnvelopes((left, bottom, right, top), clip, rows, lonlat_clip)


def tile_band(z: int) -> int:
    """The band of prepared geometries tiles of zoom ``z`` are drawn from."""
    return min(z, FULL_BAND)


def band_grid(band: int) -> float:
    """Metres of one tile unit at the band's zoom (its snapping grid); 0 for the full band."""
    return 0.0 if band >= FULL_BAND else _WORLD / 2**band / TILE_EXTENT


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
