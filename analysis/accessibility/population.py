"""Dasymetric population surface: census zones and commune totals spread over a grid.

Every cell belongs to exactly one commune, the one covering most of it (exact fractional
coverage from exactextract); the raster summed over the cells of a commune therefore is that
commune's population, to floating-point precision. Within a commune:

* **Urban population** (INE projection of the chosen year, area ``urbana``) goes into the
  commune's 2017 urban census zones, in proportion to each zone's 2017 count and, within a
  zone, to the share of each cell the zone covers. This is the 2017 pattern scaled to the
  projection year.
* **Rural population** (area ``rural``) goes over the rest of the commune in proportion to a
  weight ``w = h(land cover) × (1 − urban share of the cell) × c × g(d) × (1 + b·marker)``:
  ``g`` falls with the distance ``d`` to the nearest urban zone or marker
  (:func:`settlement_decay`); ``h`` is
  the habitability of the cell's MODIS IGBP class (:data:`HABITABILITY`: no one on water,
  snow/ice or barren land), ``c`` the share of the cell inside the commune, and ``marker`` is
  1 within :data:`MARKER_RADIUS_M` of a settlement marker (a rural school, an APR system, a
  mapped village), which multiplies the weight by ``1 + b`` (:data:`MARKER_BOOST`).
* A commune whose weights are all zero (its only land is masked: small islands, ice) falls
  back to spreading over its whole area, and is reported (``rural_fallback``); one with urban
  population but no urban-zone cell spreads it like its rural population (``urban_fallback``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from scipy import ndimage

from analysis.accessibility.grid import GridSpec, per_land_cover_class

FloatGrid = npt.NDArray[np.float64]

#: Relative habitability of each MODIS IGBP class for rural population (0 = nobody lives
#: there). Cropland and cropland mosaics carry most Chilean rural settlement (the central
#: valley, the southern lake district); grassland and savanna pastoral settlement; shrubland
#: and forest dispersed settlement; wetlands little. Water (0), snow and ice (15) and barren
#: land (16: the Atacama, high Andes) get none. Classes are coarse (0.05°, about 5 km), so
#: these weights shape a commune's rural distribution; they never change its total.
HABITABILITY: dict[int, float] = {
    0: 0.0,  # water
    1: 0.3,  # evergreen needleleaf forest
    2: 0.3,  # evergreen broadleaf forest
    3: 0.3,  # deciduous needleleaf forest
    4: 0.3,  # deciduous broadleaf forest
    5: 0.3,  # mixed forest
    6: 0.3,  # closed shrubland
    7: 0.3,  # open shrubland
    8: 0.5,  # woody savanna
    9: 0.5,  # savanna
    10: 0.5,  # grassland
    11: 0.1,  # permanent wetland
    12: 1.0,  # cropland
    13: 1.0,  # urban and built-up (outside census urban zones: peri-urban rural)
    14: 1.0,  # cropland / natural vegetation mosaic
    15: 0.0,  # snow and ice
    16: 0.0,  # barren
}
#: Habitability where land cover is unknown (outside the land-cover raster: the islands).
UNKNOWN_HABITABILITY = 0.5
#: Cells within this distance of a settlement marker get the boost, metres.
MARKER_RADIUS_M = 2000.0
#: Distance (m) over which rural density falls by e away from towns and settlement markers.
DECAY_SCALE_M = 10_000.0
#: Lowest distance weight, so that remote habitable land keeps a thin population.
DECAY_FLOOR = 0.05
#: Multiplier minus one applied near markers: rural people live around the schools, water
#: committees and villages that serve them, about four times more than in open country.
MARKER_BOOST = 4.0


def settlement_decay(
    settled: npt.NDArray[np.bool_], resolution: float, scale_m: float = DECAY_SCALE_M
) -> FloatGrid:
    """Weight falling with the distance to the nearest known settlement.

    ``max(exp(−d / scale_m), DECAY_FLOOR)``, with ``d`` the distance from the cell to the
    nearest urban-zone or marker cell: rural people live along the valleys and roads that lead
    out of towns and villages, thinning out with distance, as WorldPop's distance-to-settlement
    covariates capture. The floor keeps remote land inhabited, thinly. Without any settlement
    on the grid every weight is 1.
    """
    if not settled.any():
        return np.ones(settled.shape)
    distance = ndimage.distance_transform_edt(~settled) * resolution
    decay: FloatGrid = np.maximum(np.exp(-distance / scale_m), DECAY_FLOOR)
    return decay


def habitability(classes: npt.NDArray[np.integer], known: npt.NDArray[np.bool_]) -> FloatGrid:
    """Habitability weight of every cell from its IGBP class (``known`` False → unknown)."""
    return per_land_cover_class(classes, known, HABITABILITY, UNKNOWN_HABITABILITY)


@dataclass(frozen=True)
class Coverage:
    """Exact coverage of polygons over a grid, as flat (polygon, cell, fraction) triples."""

    polygon: npt.NDArray[np.int64]
    cell: npt.NDArray[np.int64]
    fraction: FloatGrid


def coverage(grid: GridSpec, polygons: gpd.GeoSeries) -> Coverage:
    """Fraction of every grid cell covered by each polygon (exactextract ``coverage``).

    ``polygons`` must be in the grid's CRS. Cell ids are row-major (``row * width + col``).
    """
    if len(polygons) == 0:
        empty = np.array([], dtype=np.int64)
        return Coverage(empty, empty, np.array([], dtype=float))
    source = NumPyRasterSource(np.zeros(grid.shape, dtype=np.uint8), *grid.bounds)
    frame = gpd.GeoDataFrame(geometry=polygons.reset_index(drop=True))
    table = exact_extract(source, frame, ["cell_id", "coverage"], output="pandas")
    lengths = table["cell_id"].map(len).to_numpy()
    polygon = np.repeat(np.arange(len(table), dtype=np.int64), lengths)
    cell = np.concatenate([np.asarray(v, dtype=np.int64) for v in table["cell_id"]])
    fraction = np.concatenate([np.asarray(v, dtype=float) for v in table["coverage"]])
    return Coverage(polygon, cell, fraction)


def owner_grid(grid: GridSpec, communes: Coverage, count: int) -> npt.NDArray[np.int32]:
    """Index of the commune covering most of each cell (−1 outside every commune).

    A commune too small to cover most of any cell is given the cell it covers most, so every
    commune inside the grid owns at least one cell and keeps its population.
    """
    size = grid.width * grid.height
    owner = np.full(size, -1, dtype=np.int32)
    order = np.argsort(communes.fraction, kind="stable")
    owner[communes.cell[order]] = communes.polygon[order]  # the largest fraction writes last
    owned = np.bincount(owner[owner >= 0], minlength=count)
    for index in np.flatnonzero(owned == 0):
        mine = communes.polygon == index
        if mine.any():
            best = communes.cell[mine][np.argmax(communes.fraction[mine])]
            owner[best] = index
    return owner.reshape(grid.shape)


def marker_mask(
    grid: GridSpec, x: npt.ArrayLike, y: npt.ArrayLike, radius_m: float = MARKER_RADIUS_M
) -> npt.NDArray[np.bool_]:
    """Cells within ``radius_m`` (cell-centre distance) of any marker point."""
    mask = np.zeros(grid.shape, dtype=bool)
    row, col, inside = grid.cell_of(x, y)
    mask[row[inside], col[inside]] = True
    radius = int(np.floor(radius_m / grid.resolution))
    if radius >= 1 and mask.any():
        offsets = np.arange(-radius, radius + 1)
        disk = (offsets[:, None] ** 2 + offsets[None, :] ** 2) <= radius**2
        mask = ndimage.binary_dilation(mask, structure=disk)
    return mask


@dataclass(frozen=True)
class PopulationSurface:
    """Population per cell and what the allocation did per commune.

    Attributes
    ----------
    total, rural : ndarray of float64, shape ``grid.shape``
        Inhabitants per cell (rural is the rural part of total).
    owner : ndarray of int32
        Index into ``report`` of the commune each cell belongs to (−1: none).
    report : pandas.DataFrame
        One row per commune: ``cut``, ``population_input``, ``urban_input``, ``rural_input``,
        ``population_raster`` (sum of its cells), ``cells``, ``urban_fallback``,
        ``rural_fallback``.
    """

    total: FloatGrid
    rural: FloatGrid
    owner: npt.NDArray[np.int32]
    report: pd.DataFrame


def allocate_population(
    grid: GridSpec,
    communes: gpd.GeoDataFrame,
    urban_zones: gpd.GeoDataFrame,
    population: pd.DataFrame,
    habitability_weights: FloatGrid,
    markers: npt.NDArray[np.bool_] | None = None,
    marker_boost: float = MARKER_BOOST,
) -> PopulationSurface:
    """Spread every commune's urban and rural population over the grid.

    Parameters
    ----------
    grid : GridSpec
        Target grid.
    communes : geopandas.GeoDataFrame
        ``cut`` and geometry, in the grid's CRS.
    urban_zones : geopandas.GeoDataFrame
        ``cut``, ``population_2017`` and geometry, in the grid's CRS.
    population : pandas.DataFrame
        ``cut``, ``urban`` and ``rural`` inhabitants of the target year.
    habitability_weights : ndarray
        Habitability of every cell (see :func:`habitability`).
    markers : ndarray of bool, optional
        Cells near settlement markers (see :func:`marker_mask`).
    marker_boost : float
        Weight multiplier minus one near markers.

    Returns
    -------
    PopulationSurface
    """
    cuts = communes["cut"].astype(str).to_numpy()
    count = len(cuts)
    size = grid.width * grid.height
    wanted = population.assign(cut=population["cut"].astype(str)).set_index("cut")
    urban_input = wanted["urban"].reindex(cuts).fillna(0.0).to_numpy(dtype=float)
    rural_input = wanted["rural"].reindex(cuts).fillna(0.0).to_numpy(dtype=float)

    commune_cover = coverage(grid, communes.geometry)
    owner = owner_grid(grid, commune_cover, count).ravel()
    owned = owner >= 0
    # Share of each cell inside its owner commune.
    inside_share = np.zeros(size)
    is_owner = owner[commune_cover.cell] == commune_cover.polygon
    inside_share[commune_cover.cell[is_owner]] = commune_cover.fraction[is_owner]

    # Urban: 2017 zone counts spread by coverage, kept only in cells of the zone's commune.
    zone_cuts = urban_zones["cut"].astype(str).to_numpy()
    position = {cut: i for i, cut in enumerate(cuts)}
    zone_commune = np.array([position.get(cut, -1) for cut in zone_cuts], dtype=np.int64)
    zone_population = pd.to_numeric(urban_zones["population_2017"], errors="coerce")
    zone_population = zone_population.fillna(0.0).to_numpy(dtype=float)
    zone_cover = coverage(grid, urban_zones.geometry)
    zone_total_cover = np.bincount(zone_cover.polygon, zone_cover.fraction, len(zone_cuts))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = zone_cover.fraction / zone_total_cover[zone_cover.polygon]
    keep = owner[zone_cover.cell] == zone_commune[zone_cover.polygon]
    keep &= zone_commune[zone_cover.polygon] >= 0
    urban_pattern = np.bincount(
        zone_cover.cell[keep],
        (zone_population[zone_cover.polygon] * share)[keep],
        size,
    )
    urban_fraction = np.minimum(np.bincount(zone_cover.cell, zone_cover.fraction, size), 1.0)

    rural_weight = habitability_weights.ravel() * (1.0 - urban_fraction) * inside_share
    settled = urban_fraction.reshape(grid.shape) > 0
    if markers is not None:
        settled |= markers
    rural_weight = rural_weight * settlement_decay(settled, grid.resolution).ravel()
    if markers is not None:
        rural_weight = rural_weight * (1.0 + marker_boost * markers.ravel())
    rural_weight = np.where(owned, rural_weight, 0.0)
    area_weight = np.where(owned, inside_share, 0.0)

    owner_index = np.where(owned, owner, 0)

    def per_commune(values: npt.NDArray[Any]) -> FloatGrid:
        sums: FloatGrid = np.bincount(owner_index[owned], values[owned], count).astype(float)
        return sums

    def spread(
        weight: npt.NDArray[Any], fallback: npt.NDArray[Any], inhabitants: FloatGrid
    ) -> tuple[npt.NDArray[Any], FloatGrid, npt.NDArray[np.bool_]]:
        """Spread inhabitants by ``weight``, or by ``fallback`` where ``weight`` has none.

        Returns the weights used, the cells' inhabitants and which communes fell back.
        """
        empty = (per_commune(weight) <= 0) & (inhabitants > 0)
        weight = np.where(empty[owner_index] & owned, fallback, weight)
        spread_out = _scaled(weight, per_commune(weight), inhabitants, owner_index, owned)
        return weight, spread_out, empty

    # Masked-only communes spread over their whole area; urban people without an urban zone
    # live where the rural ones do.
    rural_weight, rural, rural_fallback = spread(rural_weight, area_weight, rural_input)
    _, urban, urban_fallback = spread(urban_pattern, rural_weight, urban_input)

    total = urban + rural
    cells = np.bincount(owner_index[owned], minlength=count)
    report = pd.DataFrame(
        {
            "cut": cuts,
            "population_input": urban_input + rural_input,
            "urban_input": urban_input,
            "rural_input": rural_input,
            "population_raster": per_commune(total),
            "rural_raster": per_commune(rural),
            "cells": cells,
            "urban_fallback": urban_fallback,
            "rural_fallback": rural_fallback,
        }
    )
    return PopulationSurface(
        total=total.reshape(grid.shape),
        rural=rural.reshape(grid.shape),
        owner=owner.reshape(grid.shape).astype(np.int32),
        report=report,
    )


def _scaled(
    weight: FloatGrid,
    weight_sum: FloatGrid,
    target: FloatGrid,
    owner_index: npt.NDArray[np.int64],
    owned: npt.NDArray[np.bool_],
) -> FloatGrid:
    """Scale each commune's weights so they add up to its target."""
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(weight_sum > 0, target / weight_sum, 0.0)
    return np.where(owned, weight * factor[owner_index], 0.0)
