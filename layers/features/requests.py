"""What an items request asks for and what a page of features holds."""

from __future__ import annotations

import math
from dataclasses import dataclass

from layers.errors import FeatureQueryError
from layers.queries import BBox

#: Default and largest page of items (OGC API – Features ``limit``).
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
#: Decimal digits of GeoJSON coordinates: 6 digits of a degree is about 0.1 m.
GEOJSON_DIGITS = 6
#: Coordinate reference system of every response (longitude, latitude).
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def parse_bbox(raw: str) -> BBox:
    """``minLon,minLat,maxLon,maxLat`` (or the 6-number form with heights) as four floats.

    Raises
    ------
    FeatureQueryError
        For anything else, including west > east (crossing the antimeridian is not supported)
        and coordinates outside longitude/latitude ranges.
    """
    parts = raw.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise FeatureQueryError(
            f"bbox inválido {raw!r}: se esperan cuatro números lon_min,lat_min,lon_max,lat_max"
        )
    west, south, east, north = numbers
    if not (
        -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90
    ):
        raise FeatureQueryError(f"bbox inválido {raw!r}: coordenadas fuera de rango (CRS84)")
    if west > east or south > north:
        raise FeatureQueryError(
            f"bbox inválido {raw!r}: el mínimo debe ser menor o igual que el máximo"
        )
    return west, south, east, north


def tolerance_for_zoom(zoom: int) -> float:
    """Simplification tolerance in degrees: half a pixel of a 256-pixel tile at ``zoom``."""
    return 360.0 / (256 * 2.0**zoom) / 2


@dataclass(frozen=True)
class ItemsQuery:
    """What an items request asks for.

    Attributes
    ----------
    bbox : tuple of float or None
        Keep features intersecting this lon/lat box.
    limit, offset : int
        Page size (1 to :data:`MAX_LIMIT`) and start.
    properties : tuple of str or None
        Properties to return (all when None).
    simplify : float or None
        Douglas–Peucker tolerance in degrees for polygons (topology preserved).
    """

    bbox: BBox | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    properties: tuple[str, ...] | None = None
    simplify: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise FeatureQueryError(f"limit debe estar entre 1 y {MAX_LIMIT}")
        if self.offset < 0:
            raise FeatureQueryError("offset no puede ser negativo")
        if self.simplify is not None and not (0 <= self.simplify <= 1):
            raise FeatureQueryError("simplify debe estar entre 0 y 1 grado")


@dataclass(frozen=True)
class FeaturePage:
    """One page of items: GeoJSON features, comma-separated UTF-8 (no brackets), and counts."""

    features: bytes
    matched: int
    returned: int
    run_id: str | None = None
