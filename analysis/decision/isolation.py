"""Isolation the way SUBDERE measures it, emulated on geogaps' travel-time surfaces.

SUBDERE's method (2013; updated as ILCA 2021) measures, for every place where people live, a
*grado de integración* (travel time to basic services and to a goods-and-services provider
centre) and *condiciones geográficas estructurales* (physical, climatic and terrain conditions;
travel time to the political-administrative centres), standardises them, combines them into an
isolation index and classifies each place as isolated or not. The components, weights,
reference times and thresholds live in ``analysis/catalogue/isolation.toml`` with their source;
the ones SUBDERE does not publish in a recoverable form are marked there as geogaps' own
assumptions, and so are the proxies for inputs missing here (road network, DEM, climate,
locality coordinates).

Here the places are the populated cells of the dasymetric population surface. For every cell:

* each travel time becomes ``min(minutes / reference, 1)`` (1 = as far as the reference or
  unreachable);
* integration = 1 − weighted mean of the integration times' scores;
* structure = weighted mean of the terrain harshness (friction surface averaged over a window)
  and the political-administrative centres' scores;
* index = ``w_s × structure + w_i × (1 − integration)``; isolated when ``index ≥ cell_threshold``.

Per commune: inhabitants of isolated cells and their share of the commune's population. The
uncertainty comes from draws of a common speed factor (travel times divided by it), seeded, so
each commune gets one isolated share per draw.

Everything here is pure: arrays and DataFrames in and out.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field
from scipy import ndimage

from analysis.accessibility.friction import minutes_per_cell

if TYPE_CHECKING:
    from analysis.accessibility.pipeline import AccessibilityResult, GridResult

FloatGrid = npt.NDArray[np.float64]
ISOLATION_CATALOGUE = "isolation.toml"
#: Destination kinds the political-administrative centres add to the accessibility kinds.
CENTRE_KINDS = ("capital_comunal", "capital_provincial", "capital_regional")
#: The terrain component is read from the friction surface, not from a travel time.
TERRAIN = "terreno"
ISOLATED = "aislada"
#: Speed draws evaluated together (bounds the memory of the national run).
DRAW_CHUNK = 10
NOT_ISOLATED = "no aislada"


class IsolationComponent(BaseModel):
    """One standardised input of the index (a travel time, or the terrain harshness)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    label: str
    destination: str
    reference_minutes: float = Field(ge=0.0)
    weight: float = Field(gt=0.0)
    source: str


class PublishedCount(BaseModel):
    """A published count of susceptible communes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int
    count: int
    source: str


class Calibration(BaseModel):
    """The published counts, the target range and the thresholds the curve walks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    published: tuple[PublishedCount, ...]
    target_min: int
    target_max: int
    thresholds: tuple[float, ...]
    vintages: str


class Uncertainty(BaseModel):
    """Speed-factor draws and the probability that makes a near miss."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    speed_factor_min: float = Field(gt=0.0)
    speed_factor_max: float = Field(gt=0.0)
    draws: int = Field(ge=1, le=10_000)
    seed: int
    near_probability: float = Field(gt=0.0, lt=1.0)


class IsolationSettings(BaseModel):
    """``analysis/catalogue/isolation.toml``, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    title: str
    source: str
    structure_weight: float = Field(ge=0.0)
    integration_weight: float = Field(ge=0.0)
    cell_threshold: float = Field(gt=0.0, lt=1.0)
    min_isolated_population: float = Field(gt=0.0)
    terrain_window_m: float = Field(gt=0.0)
    terrain_easy_minutes_per_km: float = Field(gt=0.0)
    terrain_hard_minutes_per_km: float = Field(gt=0.0)
    integration: tuple[IsolationComponent, ...]
    structure: tuple[IsolationComponent, ...]
    proxies: dict[str, str]
    calibration: Calibration
    uncertainty: Uncertainty

    @property
    def destinations(self) -> tuple[str, ...]:
        """Every travel-time destination kind the index reads."""
        return tuple(
            c.destination for c in self.integration + self.structure if c.destination != TERRAIN
        )


@functools.lru_cache(maxsize=1)
def load_isolation_settings() -> IsolationSettings:
    """The packaged isolation catalogue, parsed once per process."""
    text = (resources.files("analysis") / "catalogue" / ISOLATION_CATALOGUE).read_text("utf-8")
    return IsolationSettings.model_validate(tomllib.loads(text))


@dataclass(frozen=True)
class IsolationResult:
    """Isolation of every commune, with its critical index under every speed draw.

    Attributes
    ----------
    communes : pandas.DataFrame
        One row per commune: ``cut``, ``aislamiento_poblacion`` (inhabitants of the surface),
        ``aislamiento_indice_critico`` (the index reached by the commune's most isolated
        :attr:`IsolationSettings.min_isolated_population` inhabitants: the commune has an
        isolated place when it is at or above the threshold), ``aislamiento_indice_medio``,
        ``aislamiento_integracion_media`` and ``aislamiento_estructura_media``
        (population-weighted means over its cells).
    critical_draws : ndarray, shape (communes, draws)
        The critical index of each commune under each speed draw.
    speed_factors : ndarray
        The speed factor of each draw.
    cells : pandas.DataFrame
        Populated cells: ``cut``, ``people`` and ``index`` (point estimate), to count the
        inhabitants in isolation at any threshold (:func:`isolated_population`).
    """

    communes: pd.DataFrame
    critical_draws: FloatGrid
    speed_factors: FloatGrid
    cells: pd.DataFrame


def political_centres(
    urban_zones: gpd.GeoDataFrame, communes: gpd.GeoDataFrame
) -> dict[str, gpd.GeoDataFrame]:
    """Points of the regional, provincial and communal capitals (EPSG:4326, ``cut``).

    By the national coding convention the regional capital is commune ``RR101`` and each
    province's capital is its first commune ``RRP01``; a commune's own seat is its 2017 urban
    census zones, or a point inside the commune when it has none.
    """
    zones = urban_zones.to_crs(4326)
    zone_points = gpd.GeoDataFrame(
        {"cut": zones["cut"].astype(str).to_numpy()},
        geometry=gpd.GeoSeries(
            shapely.point_on_surface(np.asarray(zones.geometry.array)), crs=4326
        ),
    )
    outlines = communes.to_crs(4326)
    outlines = outlines[~(outlines.geometry.isna() | outlines.geometry.is_empty).to_numpy()]
    without_zone = outlines[~outlines["cut"].astype(str).isin(set(zone_points["cut"]))]
    seats = gpd.GeoDataFrame(
        {"cut": without_zone["cut"].astype(str).to_numpy()},
        geometry=gpd.GeoSeries(
            shapely.point_on_surface(np.asarray(without_zone.geometry.array)), crs=4326
        ),
    )
    cuts = zone_points["cut"]
    return {
        "capital_regional": zone_points[(cuts.str[2:] == "101").to_numpy()],
        "capital_provincial": zone_points[(cuts.str[3:] == "01").to_numpy()],
        "capital_comunal": gpd.GeoDataFrame(
            pd.concat([zone_points, seats], ignore_index=True), crs=4326
        ),
    }


def centre_minutes(grid_result: GridResult, points: gpd.GeoDataFrame) -> FloatGrid:
    """Minutes from every cell of a grid to the nearest of ``points`` on its friction."""
    from analysis.accessibility.travel import travel_minutes  # scikit-image: load when used

    grid = grid_result.grid
    cost = minutes_per_cell(grid_result.speed, grid.resolution)
    if len(points) == 0:
        return np.full(grid.shape, np.inf)
    projected = points.to_crs(grid.crs)
    row, col, inside = grid.cell_of(
        projected.geometry.x.to_numpy(), projected.geometry.y.to_numpy()
    )
    return travel_minutes(cost, row[inside], col[inside], grid.resolution)


def terrain_harshness(
    speed: FloatGrid, land: npt.NDArray[np.bool_], resolution: float, settings: IsolationSettings
) -> FloatGrid:
    """Harshness in [0, 1] of the land around every cell (the terrain proxy).

    A land cell's minutes per km run from the easy (0) to the hard (1) reference; impassable
    land (ice) counts 1. The mean over the land cells of a square window of
    ``terrain_window_m`` stands for the physical conditions around the cell; sea and foreign
    land do not enter the mean, so a coastal town is not made harsh by the sea.
    """
    easy, hard = settings.terrain_easy_minutes_per_km, settings.terrain_hard_minutes_per_km
    with np.errstate(divide="ignore"):
        per_km = np.where(speed > 0, 60.0 / np.where(speed > 0, speed, 1.0), np.inf)
    cell = np.clip((per_km - easy) / (hard - easy), 0.0, 1.0)
    cell = np.where(land, cell, 0.0)
    size = max(1, round(settings.terrain_window_m / resolution))
    weight = ndimage.uniform_filter(land.astype(float), size=size, mode="constant")
    total = ndimage.uniform_filter(cell, size=size, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), np.nan)


def _scores(minutes: FloatGrid, reference: float, speed_factor: FloatGrid) -> FloatGrid:
    """``min(minutes / speed_factor / reference, 1)``; unreachable is 1."""
    scaled = minutes[..., None] / speed_factor
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(np.isfinite(scaled), scaled / reference, 1.0)
    return np.clip(score, 0.0, 1.0)


def cell_index(
    values: Mapping[str, FloatGrid],
    settings: IsolationSettings,
    speed_factors: npt.ArrayLike = (1.0,),
) -> tuple[FloatGrid, FloatGrid, FloatGrid]:
    """Integration, structure and isolation index of cells, one column per speed factor.

    Parameters
    ----------
    values : mapping
        Destination kind → minutes per cell (1-D, one entry per cell), and ``"terreno"`` →
        terrain harshness per cell.
    settings : IsolationSettings
        Components, weights and reference times.
    speed_factors : array-like
        Speed multipliers; travel times are divided by each.

    Returns
    -------
    tuple of ndarray, each of shape (cells, factors)
        Integration (1 = fully integrated), structure (1 = harshest) and index (1 = most
        isolated).
    """
    factors = np.asarray(speed_factors, dtype=float)

    def mean_score(components: Sequence[IsolationComponent]) -> FloatGrid:
        total: FloatGrid | float = 0.0
        weights = 0.0
        for component in components:
            raw = np.asarray(values[component.destination], dtype=float)
            if component.destination == TERRAIN:
                score = np.repeat(np.nan_to_num(raw, nan=0.0)[..., None], len(factors), axis=-1)
            else:
                score = _scores(raw, component.reference_minutes, factors)
            total = total + component.weight * score
            weights += component.weight
        return np.asarray(total / weights, dtype=float)

    integration = 1.0 - mean_score(settings.integration)
    structure = mean_score(settings.structure)
    weight_sum = settings.structure_weight + settings.integration_weight
    index = (
        settings.structure_weight * structure + settings.integration_weight * (1.0 - integration)
    ) / weight_sum
    return integration, structure, index


def speed_draws(settings: IsolationSettings) -> FloatGrid:
    """The seeded speed factors: the point (1.0) first, then the uniform draws."""
    rng = np.random.default_rng(settings.uncertainty.seed)
    u = settings.uncertainty
    draws = rng.uniform(u.speed_factor_min, u.speed_factor_max, size=u.draws)
    return np.concatenate([[1.0], draws])


def critical_index(
    owner: npt.NDArray[np.integer], people: FloatGrid, index: FloatGrid, count: int, minimum: float
) -> FloatGrid:
    """Per commune, the index reached by its ``minimum`` most isolated inhabitants.

    Cells are taken from the most isolated down until they hold ``minimum`` people; the index
    of the cell that completes them is the commune's critical index (its least isolated cell
    when the whole commune has fewer people). ``NaN`` for a commune without populated cells.
    """
    # One float key (commune, then index descending; the index lies in [0, 1]) sorts ten times
    # faster than a two-key lexsort; ties of equal index may fall in any order.
    order = np.argsort(owner * 2.0 - index)
    sorted_owner = owner[order]
    cumulative = np.cumsum(people[order])
    starts = np.searchsorted(sorted_owner, np.arange(count), side="left")
    ends = np.searchsorted(sorted_owner, np.arange(count), side="right")
    before = np.where(starts > 0, cumulative[np.maximum(starts - 1, 0)], 0.0)
    reached = np.flatnonzero(cumulative - before[sorted_owner] >= minimum - 1e-9)
    # First cell of each commune completing the minimum; else its last (least isolated) cell.
    position = np.where(ends > starts, ends - 1, -1)
    communes, first = np.unique(sorted_owner[reached], return_index=True)
    position[communes] = reached[first]
    out = np.full(count, np.nan)
    has = position >= 0
    out[has] = index[order[position[has]]]
    return out


def commune_isolation(
    result: AccessibilityResult,
    centres: Mapping[str, gpd.GeoDataFrame],
    settings: IsolationSettings,
) -> IsolationResult:
    """Isolation of every commune from an accessibility run's surfaces.

    Parameters
    ----------
    result : AccessibilityResult
        A run that computed every destination kind of :attr:`IsolationSettings.destinations`
        except the political-administrative centres.
    centres : mapping
        :func:`political_centres` of the same communes.
    settings : IsolationSettings
        The isolation catalogue.

    Returns
    -------
    IsolationResult
        Per-commune critical index, its draws and the populated cells.
    """
    factors = speed_draws(settings)
    minimum = settings.min_isolated_population
    parts: list[pd.DataFrame] = []
    draw_parts: list[FloatGrid] = []
    cells: list[pd.DataFrame] = []
    for grid_result in result.grids.values():
        if grid_result.owner is None:
            continue
        populated = (grid_result.population > 0) & (grid_result.owner >= 0)
        values: dict[str, FloatGrid] = {}
        for kind in settings.destinations:
            if kind in CENTRE_KINDS:
                minutes = centre_minutes(grid_result, centres[kind])
            elif kind in grid_result.minutes:
                minutes = grid_result.minutes[kind]
            else:
                raise KeyError(f"la corrida de accesibilidad no calculó {kind!r}")
            values[kind] = minutes[populated]
        harsh = terrain_harshness(
            grid_result.speed, grid_result.land, grid_result.grid.resolution, settings
        )
        values[TERRAIN] = harsh[populated]
        people = grid_result.population[populated]
        owner = grid_result.owner[populated]
        count = len(grid_result.cuts)
        integration, structure, index = cell_index(values, settings, factors[:1])
        critical = [critical_index(owner, people, index[:, 0], count, minimum)]
        # Every cell's index falls as the speed factor rises, and so does each commune's
        # critical index: a cell below the commune's critical index at the fastest draw even
        # at the slowest draw can never reach it, so the draws only need the other cells.
        _, _, bounds = cell_index(values, settings, [factors[1:].min(), factors[1:].max()])
        lowest = critical_index(owner, people, bounds[:, 1], count, minimum)
        candidate = bounds[:, 0] >= np.nan_to_num(lowest, nan=-1.0)[owner] - 1e-12
        subset = {kind: column[candidate] for kind, column in values.items()}
        for start in range(1, len(factors), DRAW_CHUNK):
            _, _, drawn = cell_index(subset, settings, factors[start : start + DRAW_CHUNK])
            critical.extend(
                critical_index(owner[candidate], people[candidate], drawn[:, d], count, minimum)
                for d in range(drawn.shape[1])
            )
        cuts = np.asarray(grid_result.cuts, dtype=object)
        parts.append(
            pd.DataFrame(
                {
                    "cut": cuts,
                    "population": np.bincount(owner, people, count),
                    "critical": critical[0],
                    "index_sum": np.bincount(owner, people * index[:, 0], count),
                    "integration_sum": np.bincount(owner, people * integration[:, 0], count),
                    "structure_sum": np.bincount(owner, people * structure[:, 0], count),
                }
            )
        )
        draw_parts.append(np.stack(critical[1:], axis=1))
        cells.append(pd.DataFrame({"cut": cuts[owner], "people": people, "index": index[:, 0]}))
    if not parts:
        raise KeyError("la corrida de accesibilidad no trae superficies por comuna")
    rows = pd.concat(parts, ignore_index=True)
    draws = np.vstack(draw_parts)
    # A commune split over two grids keeps the row of the grid holding most of its people.
    keep = rows.sort_values("population", ascending=False, kind="stable").drop_duplicates("cut")
    keep = keep.sort_values("cut", kind="stable")
    summed = rows.groupby("cut", sort=True).sum(numeric_only=True).reindex(keep["cut"])
    population = summed["population"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        inhabited = np.where(population > 0, population, np.nan)
        communes = pd.DataFrame(
            {
                "cut": keep["cut"].astype(str).to_numpy(),
                "aislamiento_poblacion": population,
                "aislamiento_indice_critico": keep["critical"].to_numpy(dtype=float),
                "aislamiento_indice_medio": summed["index_sum"].to_numpy() / inhabited,
                "aislamiento_integracion_media": summed["integration_sum"].to_numpy() / inhabited,
                "aislamiento_estructura_media": summed["structure_sum"].to_numpy() / inhabited,
            }
        )
    return IsolationResult(
        communes=communes.reset_index(drop=True),
        critical_draws=draws[keep.index.to_numpy()],
        speed_factors=factors[1:],
        cells=pd.concat(cells, ignore_index=True),
    )


def isolated_population(result: IsolationResult, threshold: float) -> pd.DataFrame:
    """Inhabitants of cells whose index is at or above ``threshold``, per commune, and share.

    Returns ``cut``, ``aislamiento_poblacion_aislada`` and ``aislamiento_poblacion_pct``
    (% of the commune's inhabitants on the surface), in the order of ``result.communes``.
    """
    cells = result.cells
    isolated = cells["people"].where(cells["index"] >= threshold - 1e-12, 0.0)
    per_cut = isolated.groupby(cells["cut"]).sum()
    cuts = result.communes["cut"]
    people = per_cut.reindex(cuts).to_numpy(dtype=float)
    total = result.communes["aislamiento_poblacion"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, 100.0 * people / total, np.nan)
    return pd.DataFrame(
        {"cut": cuts, "aislamiento_poblacion_aislada": people, "aislamiento_poblacion_pct": share}
    )


def threshold_curve(
    poverty_met: npt.ArrayLike, critical: npt.ArrayLike, thresholds: Sequence[float]
) -> pd.DataFrame:
    """Susceptible communes as a function of the isolation threshold of the index.

    A commune counts when it meets every poverty criterion and its critical index is at or
    above the threshold. Communes with a missing index never count (missing is not zero).
    """
    met = np.asarray(poverty_met, dtype=bool)
    values = np.asarray(critical, dtype=float)
    known = np.isfinite(values)
    counts = [
        int((met & known & (np.where(known, values, -1.0) >= t - 1e-12)).sum()) for t in thresholds
    ]
    return pd.DataFrame({"umbral": list(thresholds), "susceptibles": counts})


def calibrate(curve: pd.DataFrame, target_min: int, target_max: int) -> tuple[float, int, bool]:
    """The threshold whose count is nearest the middle of the target range.

    Returns the threshold, its count and whether the count lies within the range; among
    equally near thresholds the lowest wins (the least demanding rule).
    """
    middle = (target_min + target_max) / 2.0
    distance = (curve["susceptibles"] - middle).abs().to_numpy()
    best = int(np.flatnonzero(distance == distance.min())[0])
    count = int(curve["susceptibles"].iloc[best])
    return (
        float(curve["umbral"].iloc[best]),
        count,
        bool(target_min <= count <= target_max),
    )
