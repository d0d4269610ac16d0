"""Friction surface: the speed of travel through every cell, and the minutes to cross it.

The model is AccessMod's (WHO): a speed per land-cover class off the road network, the road
speed where a mapped road crosses the cell, barriers where nobody travels. Speeds are
*effective motorised* speeds, because no national road network is bundled: in a land-cover
cell the speed stands for the trip over the dense but unmapped rural road network (gravel and
earth roads reach almost every Chilean rural settlement), slower through forest and wetland
than across cropland. Where a road network is loaded (Petorca's ``Red_PRE_2018``, or any
MOP/OSM network a user loads) the cell takes the faster of its land-cover and road speeds.

Barriers: snow and ice (IGBP 15) and land outside Chile are impassable. Water — lakes, fjords
and the sea within :data:`FERRY_REACH_M` of Chilean land — is crossed by boat at
:data:`FERRY_SPEED_KMH`, so Chiloé, the Aysén and Magallanes archipelagos and lake shores stay
connected as they are by the barges and ferries that serve them; open ocean is impassable.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import ndimage

from analysis.accessibility.grid import per_land_cover_class
from domain.text import fold

FloatGrid = npt.NDArray[np.float64]

#: Effective speed (km/h) off the mapped road network by MODIS IGBP class.
LAND_COVER_SPEED_KMH: dict[int, float] = {
    0: 15.0,  # water: boat / ferry crossing (see FERRY_SPEED_KMH)
    1: 20.0,  # forests (1-5): winding roads, few of them
    2: 20.0,
    3: 20.0,
    4: 20.0,
    5: 20.0,
    6: 25.0,  # shrublands
    7: 25.0,
    8: 30.0,  # savannas and grassland
    9: 30.0,
    10: 30.0,
    11: 10.0,  # permanent wetland
    12: 40.0,  # cropland: dense rural road grid
    13: 40.0,  # urban and built-up
    14: 35.0,  # cropland / natural vegetation mosaic
    15: 0.0,  # snow and ice: barrier
    16: 30.0,  # barren: desert and puna, crossed by few but straight roads
}
#: Speed where land cover is unknown (island grids, beyond the land-cover raster).
UNKNOWN_SPEED_KMH = 30.0
#: Boat speed over water, km/h.
FERRY_SPEED_KMH = 15.0
#: Sea within this distance of Chilean land is navigable; open ocean is a barrier, metres.
FERRY_REACH_M = 20_000.0
#: Speed on foot where a facility sits on a barrier cell, km/h (to leave it).
WALKING_SPEED_KMH = 4.0

#: Road speeds (km/h) by surface (MOP ``CARPETA``, OSM ``surface``).
SURFACE_SPEED_KMH: dict[str, float] = {
    "pavimento": 80.0,
    "asfalto": 80.0,
    "hormigon": 80.0,
    "paved": 80.0,
    "asphalt": 80.0,
    "concrete": 80.0,
    "calle": 30.0,
    "conector": 40.0,
    "ripio": 50.0,
    "gravel": 50.0,
    "compacted": 50.0,
    "finegravel": 50.0,
    "unpaved": 40.0,
    "tierra": 35.0,
    "dirt": 35.0,
    "earth": 35.0,
    "ground": 35.0,
    "huella": 25.0,
    "sendero": 5.0,
}
#: Road speeds (km/h) by OSM ``highway`` class or MOP road type, when the surface says nothing.
ROAD_TYPE_SPEED_KMH: dict[str, float] = {
    "motorway": 100.0,
    "trunk": 90.0,
    "primary": 80.0,
    "secondary": 70.0,
    "tertiary": 60.0,
    "unclassified": 40.0,
    "residential": 30.0,
    "livingstreet": 20.0,
    "service": 20.0,
    "track": 25.0,
    "path": 5.0,
    "footway": 5.0,
    "bridleway": 5.0,
    "steps": 3.0,
    "autopista": 100.0,
    "huella": 25.0,
    "sendero": 5.0,
    "vial": 40.0,
}
#: Speed of a road whose surface and type are both unknown, km/h.
DEFAULT_ROAD_SPEED_KMH = 30.0
#: Unpaved OSM surfaces cap the speed of a fast highway class.
UNPAVED_CAP_KMH = 50.0
_UNPAVED = {
    "ripio",
    "gravel",
    "compacted",
    "finegravel",
    "unpaved",
    "tierra",
    "dirt",
    "earth",
    "ground",
    "huella",
    "sendero",
}


def road_speeds(road_type: pd.Series, surface: pd.Series) -> npt.NDArray[np.float64]:
    """Speed of each road segment from its surface, else its type (MOP or OSM words).

    A segment whose surface is unpaved is capped at :data:`UNPAVED_CAP_KMH` even if its class
    is fast (an OSM ``primary`` road with ``surface=gravel``).
    """
    types = [fold(v) if isinstance(v, str) else "" for v in road_type]
    surfaces = [fold(v) if isinstance(v, str) else "" for v in surface]
    speeds = np.empty(len(types))
    for i, (kind, cover) in enumerate(zip(types, surfaces, strict=True)):
        by_type = ROAD_TYPE_SPEED_KMH.get(kind.removesuffix("link"))
        by_surface = SURFACE_SPEED_KMH.get(cover)
        if by_surface is not None and by_type is not None:
            speed = min(by_type, UNPAVED_CAP_KMH) if cover in _UNPAVED else by_type
            speed = min(speed, by_surface) if cover in _UNPAVED else speed
        elif by_surface is not None:
            speed = by_surface
        elif by_type is not None:
            speed = by_type
        else:
            speed = DEFAULT_ROAD_SPEED_KMH
        speeds[i] = speed
    return speeds


def land_cover_speed(classes: npt.NDArray[np.integer], known: npt.NDArray[np.bool_]) -> FloatGrid:
    """Off-road speed of every cell from its IGBP class (``known`` False → unknown)."""
    return per_land_cover_class(classes, known, LAND_COVER_SPEED_KMH, UNKNOWN_SPEED_KMH)


def navigable_sea(
    land: npt.NDArray[np.bool_],
    water: npt.NDArray[np.bool_],
    resolution: float,
    reach_m: float = FERRY_REACH_M,
) -> npt.NDArray[np.bool_]:
    """Water cells outside the land mask but within ``reach_m`` of it (coastal navigation)."""
    distance: FloatGrid = ndimage.distance_transform_edt(~land) * resolution
    return water & ~land & (distance <= reach_m)


def speed_surface(
    land: npt.NDArray[np.bool_],
    classes: npt.NDArray[np.integer],
    known: npt.NDArray[np.bool_],
    resolution: float,
    road_speed: FloatGrid | None = None,
) -> FloatGrid:
    """Speed (km/h) of every cell; 0 marks a barrier.

    Parameters
    ----------
    land : ndarray of bool
        Cells inside a commune of the grid.
    classes : ndarray of int
        IGBP class of every cell (255 where unknown).
    known : ndarray of bool
        Whether the class is known.
    resolution : float
        Cell size, metres.
    road_speed : ndarray, optional
        Fastest road speed through each cell (0 where no road).
    """
    speed = np.where(land, land_cover_speed(classes, known), 0.0)
    # Outside the communes only water is crossed, by boat and near the coast; beyond the land
    # cover raster (islands) the sea around the land counts as water.
    water = (classes == 0) | ~known
    sea = navigable_sea(land, water, resolution)
    speed = np.where(sea, FERRY_SPEED_KMH, speed)
    if road_speed is not None:
        # A road also bridges a barrier (ice, water) it crosses.
        speed = np.maximum(speed, road_speed)
    return speed


def minutes_per_cell(speed: FloatGrid, resolution: float) -> FloatGrid:
    """Minutes to cross one cell at its speed (``inf`` = impassable), for ``MCP_Geometric``."""
    with np.errstate(divide="ignore"):
        return np.where(speed > 0, (resolution / 1000.0) / speed * 60.0, np.inf)
