"""Raster grids of the accessibility analysis: one continental grid and one per island commune.

Continental Chile is gridded in SIRGAS-Chile 2002 / UTM zone 19S (EPSG:5361), the national
geodetic frame. Although the country spans about 10° of longitude, its mainland lies within
6.7° of the zone's central meridian (69° W) and, south of 40° S where it reaches furthest west,
the meridians converge: the linear scale error is below 0.35 % everywhere on the mainland
(0.9996 on the central meridian, about 1.003 at Taitao), so a 1 km cell is 1 km within 3.5 m
and its area within 0.7 %. An equal-area projection would fix cell areas exactly but distort
distances more along a 4,300 km north–south country; travel time depends on distance, and the
dasymetric step re-normalises every commune's total, so small area errors never change totals.

Parts of the territory far off the coast — Isla de Pascua (05201), the Juan Fernández
archipelago (05104), the Desventuradas islands of Valparaíso (05101) — lie 600–3,700 km west of
the mainland. Gridding them on the continental grid would multiply its width by six, so parts
west of :data:`CONTINENTAL_WEST_LIMIT` are split off: a commune lying wholly offshore gets its
own small grid in its local UTM zone; offshore parts of a mainland commune are left out and
reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from affine import Affine

from domain.errors import InvalidInputError

#: CRS of the continental grid: SIRGAS-Chile 2002 / UTM zone 19S.
CONTINENTAL_CRS = "EPSG:5361"
#: Longitude (degrees) west of which land is offshore (the MODIS tile of Chile starts at 76° W).
CONTINENTAL_WEST_LIMIT = -76.0
CONTINENTAL = "continental"


@dataclass(frozen=True)
class GridSpec:
    """A north-up raster grid.

    Attributes
    ----------
    name : str
        ``"continental"`` or the CUT of the island commune the grid belongs to.
    crs : str
        CRS of the grid (an EPSG code string).
    transform : affine.Affine
        Pixel to CRS coordinates (top-left corner of the top-left cell).
    width, height : int
        Columns and rows.
    """

    name: str
    crs: str
    transform: Affine
    width: int
    height: int

    @property
    def resolution(self) -> float:
        """Cell size in CRS units (metres)."""
        return float(self.transform.a)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in the grid's CRS."""
        xmin, ymax = self.transform.c, self.transform.f
        return (
            xmin,
            ymax - self.height * self.resolution,
            xmin + self.width * self.resolution,
            ymax,
        )

    def cell_of(
        self, x: npt.ArrayLike, y: npt.ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, column and inside-the-grid flag of points given in the grid's CRS."""
        xs = np.asarray(x, dtype=float)
        ys = np.asarray(y, dtype=float)
        xmin, _, _, ymax = self.bounds
        col = np.floor((xs - xmin) / self.resolution)
        row = np.floor((ymax - ys) / self.resolution)
        inside = (
            np.isfinite(col) & np.isfinite(row) & (col >= 0) & (col < self.width) & (row >= 0)
        ) & (row < self.height)
        return (
            np.where(inside, row, 0).astype(np.int64),
            np.where(inside, col, 0).astype(np.int64),
            inside,
        )

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """X of every column centre and Y of every row centre."""
        xmin, _, _, ymax = self.bounds
        xs = xmin + (np.arange(self.width) + 0.5) * self.resolution
        ys = ymax - (np.arange(self.height) + 0.5) * self.resolution
        return xs, ys


def grid_around(
    name: str,
    crs: str,
    bounds: tuple[float, float, float, float],
    resolution: float,
    margin_cells: int = 2,
) -> GridSpec:
    """A grid of ``resolution`` covering ``bounds`` (snapped to multiples of the resolution).

    Snapping to whole multiples makes 1 km and 500 m grids nest, so a 1 km cell is exactly
    four 500 m cells.
    """
    if resolution <= 0:
        raise InvalidInputError(f"la resolución debe ser positiva, no {resolution}")
    xmin, ymin, xmax, ymax = bounds
    xmin = math.floor(xmin / resolution - margin_cells) * resolution
    ymin = math.floor(ymin / resolution - margin_cells) * resolution
    xmax = math.ceil(xmax / resolution + margin_cells) * resolution
    ymax = math.ceil(ymax / resolution + margin_cells) * resolution
    width = round((xmax - xmin) / resolution)
    height = round((ymax - ymin) / resolution)
    transform = Affine(resolution, 0.0, xmin, 0.0, -resolution, ymax)
    return GridSpec(name=name, crs=crs, transform=transform, width=width, height=height)


def per_land_cover_class(
    classes: npt.NDArray[np.integer],
    known: npt.NDArray[np.bool_],
    by_class: dict[int, float],
    unknown: float,
) -> npt.NDArray[np.float64]:
    """A value per cell from its IGBP land-cover class.

    ``unknown`` where the class is not known (``known`` False) or not listed in ``by_class``.
    """
    lookup = np.full(256, unknown)
    for value, weight in by_class.items():
        lookup[value] = weight
    values = lookup[np.clip(classes.astype(np.int64), 0, 255)]
    return np.where(known, values, unknown)


def local_utm_crs(longitude: float) -> str:
    """WGS 84 / UTM south zone of a longitude, for island grids."""
    zone = int(np.floor((longitude + 180.0) / 6.0)) % 60 + 1
    return f"EPSG:{32700 + zone}"


@dataclass(frozen=True)
class Territory:
    """Communes split between the continental grid and island grids.

    Attributes
    ----------
    continental : geopandas.GeoDataFrame
        ``cut`` and the mainland (and near-shore) part of every commune that has one, EPSG:4326.
    islands : geopandas.GeoDataFrame
        ``cut`` and geometry of communes lying wholly offshore, EPSG:4326.
    report : pandas.DataFrame
        One row per commune with an offshore part: ``cut``, ``treatment``
        (``"own_grid"`` or ``"offshore_part_dropped"``), ``offshore_area_km2``.
    """

    continental: gpd.GeoDataFrame
    islands: gpd.GeoDataFrame
    report: pd.DataFrame


def split_territory(communes: gpd.GeoDataFrame) -> Territory:
    """Split commune polygons (EPSG:4326) into continental parts and offshore island communes.

    A polygon part is offshore when its representative point lies west of
    :data:`CONTINENTAL_WEST_LIMIT`. Communes without geometry (Antártica Chilena in the
    bundled boundaries) are in neither frame.
    """
    frame = communes[["cut", communes.geometry.name]].copy()
    if frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    parts = frame.explode(index_parts=False).reset_index(drop=True)
    longitude = shapely.get_x(shapely.point_on_surface(np.asarray(parts.geometry.array)))
    offshore = longitude < CONTINENTAL_WEST_LIMIT
    area = parts.geometry.to_crs(6933).area.to_numpy() / 1e6
    parts = parts.assign(offshore=offshore, area_km2=area)

    def dissolve(subset: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        if subset.empty:
            return gpd.GeoDataFrame({"cut": []}, geometry=gpd.GeoSeries([], crs=communes.crs))
        out = subset.dissolve(by="cut", as_index=False)[["cut", "geometry"]]
        return gpd.GeoDataFrame(out, geometry="geometry", crs=communes.crs)

    mainland_cuts = set(parts.loc[~parts["offshore"], "cut"])
    continental = dissolve(parts[~parts["offshore"]])
    island_parts = parts[parts["offshore"] & ~parts["cut"].isin(mainland_cuts)]
    islands = dissolve(island_parts)
    offshore_area = parts[parts["offshore"]].groupby("cut")["area_km2"].sum()
    report = pd.DataFrame(
        {
            "cut": offshore_area.index.astype(str),
            "treatment": [
                "offshore_part_dropped" if cut in mainland_cuts else "own_grid"
                for cut in offshore_area.index
            ],
            "offshore_area_km2": offshore_area.to_numpy(),
        }
    )
    return Territory(continental=continental, islands=islands, report=report)


def continental_grid(continental: gpd.GeoDataFrame, resolution: float) -> GridSpec:
    """The continental grid covering every mainland commune part."""
    projected = continental.to_crs(CONTINENTAL_CRS)
    return grid_around(CONTINENTAL, CONTINENTAL_CRS, tuple(projected.total_bounds), resolution)


def island_grid(cut: str, geometry: gpd.GeoSeries, resolution: float) -> GridSpec:
    """A small grid of its own, in the local UTM zone, for an island commune."""
    crs = local_utm_crs(float(geometry.union_all().centroid.x))
    projected = geometry.to_crs(crs)
    return grid_around(cut, crs, tuple(projected.total_bounds), resolution)
