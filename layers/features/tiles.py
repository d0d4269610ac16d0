"""The tile matrix set of every vector tile (WebMercatorQuad) and the bounds of one tile."""

from __future__ import annotations

import morecantile

from layers.errors import TileOutsideMatrixError
from layers.queries import BBox

#: The tile matrix set of every tile: Web Mercator, 256-pixel tiles, zoom 0 to 24.
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
#: Tile grid (MVT extent) and the buffer around it, in tile units, that keeps edges seamless.
TILE_EXTENT = 4096
TILE_BUFFER = 64


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
