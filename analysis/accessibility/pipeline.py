"""The accessibility pipeline: population surface, friction, travel time, zonal statistics.

Pure: it takes the analysis input tables, the land-cover array with its transform and the road
lines, and returns arrays and DataFrames; reading files and writing rasters is ``layers``' job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from affine import Affine
from rasterio import features, warp
from rasterio.enums import MergeAlg, Resampling
from scipy import ndimage

from analysis.accessibility.destinations import (
    FACILITY_KINDS,
    commune_population,
    destinations,
    settlement_markers,
)
from analysis.accessibility.friction import minutes_per_cell, road_speeds, speed_surface
from analysis.accessibility.grid import (
    CONTINENTAL,
    GridSpec,
    continental_grid,
    grid_around,
    island_grid,
    split_territory,
)
from analysis.accessibility.population import (
    allocate_population,
    habitability,
    marker_mask,
)
from analysis.accessibility.travel import travel_minutes
from analysis.accessibility.zonal import zonal_minutes
from analysis.challenges import CatalogueSettings, load_catalogue
from analysis.inputs import AnalysisInputs
from domain.errors import InvalidInputError

FloatGrid = npt.NDArray[np.float64]
LAND_COVER_NODATA = 255
#: Margin around a region's communes so that facilities across its border count, metres.
REGION_MARGIN_M = 100_000.0
Progress = Callable[[str], None]
#: A commune's result counts as computed "with roads" when this share of its rural people live
#: within ROAD_REACH_M of a mapped road.
ROAD_COVERED_SHARE = 0.5
ROAD_REACH_M = 2000.0


@dataclass(frozen=True)
class LandCover:
    """A land-cover raster in memory: IGBP classes, their transform and CRS."""

    classes: npt.NDArray[np.uint8]
    transform: Affine
    crs: str = "EPSG:4326"
    nodata: int = LAND_COVER_NODATA


@dataclass
class GridResult:
    """Rasters of one grid (continental or an island commune); ``land``: cells of a commune.

    ``owner`` holds, for every cell, the position in ``cuts`` of the commune that owns it
    (-1 outside every commune), so cell values can be summed per commune.
    """

    grid: GridSpec
    population: FloatGrid
    rural: FloatGrid
    speed: FloatGrid
    land: npt.NDArray[np.bool_]
    minutes: dict[str, FloatGrid] = field(default_factory=dict)
    owner: npt.NDArray[np.int32] | None = None
    cuts: tuple[str, ...] = ()


@dataclass
class AccessibilityResult:
    """Everything one run produced.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per commune and destination kind (see :func:`run_accessibility`).
    population : pandas.DataFrame
        The dasymetric report of every commune (input and raster totals, fallbacks).
    territory : pandas.DataFrame
        Communes with offshore parts and how they were handled.
    grids : dict
        Grid name → :class:`GridResult`.
    population_year : int
        Projection year of the population surface.
    """

    table: pd.DataFrame
    population: pd.DataFrame
    territory: pd.DataFrame
    grids: dict[str, GridResult]
    population_year: int


def land_cover_on_grid(land_cover: LandCover | None, grid: GridSpec) -> npt.NDArray[np.uint8]:
    """IGBP class of every grid cell (nearest neighbour; 255 where unknown)."""
    out = np.full(grid.shape, LAND_COVER_NODATA, dtype=np.uint8)
    if land_cover is None:
        return out
    warp.reproject(
        source=land_cover.classes,
        destination=out,
        src_transform=land_cover.transform,
        src_crs=land_cover.crs,
        src_nodata=land_cover.nodata,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        dst_nodata=LAND_COVER_NODATA,
        resampling=Resampling.nearest,
    )
    return out


def road_speed_grid(grid: GridSpec, roads: gpd.GeoDataFrame | None) -> FloatGrid:
    """Fastest road speed (km/h) through every cell; 0 where no road."""
    if roads is None or len(roads) == 0:
        return np.zeros(grid.shape)
    projected = roads.to_crs(grid.crs)
    speeds = road_speeds(projected["road_type"], projected["surface"])
    order = np.argsort(speeds, kind="stable")  # fastest drawn last wins the cell
    shapes = [
        (geometry, float(speeds[i]))
        for i in order
        if (geometry := projected.geometry.iloc[i]) is not None and not geometry.is_empty
    ]
    if not shapes:
        return np.zeros(grid.shape)
    speed: FloatGrid = features.rasterize(
        shapes,
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0.0,
        all_touched=True,
        merge_alg=MergeAlg.replace,
        dtype="float64",
    )
    return speed


def road_method(
    owner: npt.NDArray[np.int32],
    rural: FloatGrid,
    road_speed: FloatGrid,
    count: int,
    resolution: float,
) -> npt.NDArray[np.str_]:
    """Which friction each commune's result rests on.

    ``"roads"`` when at least :data:`ROAD_COVERED_SHARE` of its rural inhabitants live within
    :data:`ROAD_REACH_M` of a mapped road, ``"roads_partial"`` when some do (a neighbour's
    network crossing in), ``"land_cover"`` otherwise.
    """
    reach = max(1, round(ROAD_REACH_M / resolution))
    near_road = ndimage.binary_dilation(road_speed > 0, iterations=reach)
    owned = owner >= 0
    rural_total = np.bincount(owner[owned], rural[owned], count)
    covered = np.bincount(owner[owned & near_road], rural[owned & near_road], count)
    roads_anywhere = np.bincount(owner[owned & (road_speed > 0)], minlength=count) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(rural_total > 0, covered / rural_total, roads_anywhere.astype(float))
    return np.where(
        share >= ROAD_COVERED_SHARE,
        "roads",
        np.where(roads_anywhere | (share > 0), "roads_partial", "land_cover"),
    )


def _cells(grid: GridSpec, points: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    if len(points) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    projected = points.to_crs(grid.crs)
    row, col, inside = grid.cell_of(
        projected.geometry.x.to_numpy(), projected.geometry.y.to_numpy()
    )
    return row[inside], col[inside]


def run_accessibility(
    inputs: AnalysisInputs,
    *,
    resolution: float = 1000.0,
    kinds: Sequence[str] = FACILITY_KINDS,
    land_cover: LandCover | None = None,
    roads: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
    region: str | None = None,
    settings: CatalogueSettings | None = None,
    progress: Progress | None = None,
) -> AccessibilityResult:
    """Travel time from where people live to the nearest destination of each kind.

    Parameters
    ----------
    inputs : AnalysisInputs
        Communes, urban zones, population, facilities and APR systems.
    resolution : float
        Cell size in metres (1000 or 500 recommended).
    kinds : sequence of str
        Destination kinds (see :data:`FACILITY_KINDS`).
    land_cover : LandCover, optional
        MODIS IGBP classes; without it every cell is of unknown class.
    roads : geopandas.GeoDataFrame, optional
        Road lines (``road_type``, ``surface``, ``cut``), EPSG:4326.
    villages : geopandas.GeoDataFrame, optional
        Village outlines used as settlement markers.
    region : str, optional
        Two-digit region code: only its communes are reported (the grid still covers a
        :data:`REGION_MARGIN_M` margin so that facilities across the border count).
    settings : CatalogueSettings, optional
        Facility types and population year; the packaged catalogue's by default.
    progress : callable, optional
        Called with a short Spanish description of each step.

    Returns
    -------
    AccessibilityResult
        ``table`` has one row per commune and kind: ``cut``, ``facility``, ``resolution_m``,
        ``grid``, ``method`` (``"roads"``, ``"roads_partial"`` or ``"land_cover"``, see
        :func:`road_method`), ``destinations`` (count on the commune's grid),
        ``population``, ``rural_population``, ``population_year``, ``minutes_mean``,
        ``rural_minutes_mean``, ``rural_unreachable_share``, ``rural_share_beyond_{30,60,120}
        _minutes`` and ``rural_beyond_{30,60,120}_minutes`` (counts of rural inhabitants).
    """
    unknown = [k for k in kinds if k not in FACILITY_KINDS]
    if unknown:
        raise InvalidInputError(
            f"tipos de destino desconocidos {unknown}; elija entre {FACILITY_KINDS}"
        )
    settings = settings or load_catalogue().settings
    say = progress or (lambda _message: None)
    population, year = commune_population(inputs, settings)
    targets = destinations(inputs, settings, population)
    markers = settlement_markers(inputs, settings, villages)

    communes = inputs.communes[["cut", "region_code", inputs.communes.geometry.name]].copy()
    territory = split_territory(communes)
    wanted_cuts = set(communes["cut"].astype(str))
    if region is not None:
        wanted_cuts = set(communes.loc[communes["region_code"].astype(str) == region, "cut"])
        if not wanted_cuts:
            raise InvalidInputError(f"no hay comunas cargadas de la región {region!r}")

    grids: list[tuple[GridSpec, gpd.GeoDataFrame]] = []
    continental = territory.continental
    if region is not None:
        inside = continental[continental["cut"].isin(wanted_cuts)]
        if len(inside) > 0:
            bounds = inside.to_crs(continental_grid(continental, resolution).crs).total_bounds
            xmin, ymin, xmax, ymax = bounds
            grid = grid_around(
                CONTINENTAL,
                continental_grid(continental, resolution).crs,
                (
                    xmin - REGION_MARGIN_M,
                    ymin - REGION_MARGIN_M,
                    xmax + REGION_MARGIN_M,
                    ymax + REGION_MARGIN_M,
                ),
                resolution,
            )
            projected = continental.to_crs(grid.crs)
            xmin, ymin, xmax, ymax = grid.bounds
            near = projected.cx[xmin:xmax, ymin:ymax]
            grids.append((grid, near))
    else:
        grid = continental_grid(continental, resolution)
        grids.append((grid, continental.to_crs(grid.crs)))
    for _, island in territory.islands.iterrows():
        if island["cut"] in wanted_cuts:
            shape = gpd.GeoSeries([island.geometry], crs=territory.islands.crs)
            grid = island_grid(str(island["cut"]), shape, resolution)
            grids.append(
                (grid, gpd.GeoDataFrame({"cut": [island["cut"]]}, geometry=shape.to_crs(grid.crs)))
            )

    rows: list[pd.DataFrame] = []
    reports: list[pd.DataFrame] = []
    results: dict[str, GridResult] = {}
    for grid, grid_communes in grids:
        label = "continente" if grid.name == CONTINENTAL else f"isla {grid.name}"
        say(f"superficie de población ({label}, {grid.width}×{grid.height} celdas)")
        classes = land_cover_on_grid(land_cover, grid)
        known = classes != LAND_COVER_NODATA
        zones = inputs.urban_zones[inputs.urban_zones["cut"].isin(grid_communes["cut"])]
        zones = zones.to_crs(grid.crs)
        marker_points = markers.to_crs(grid.crs) if len(markers) else markers
        near_marker = marker_mask(
            grid,
            marker_points.geometry.x.to_numpy() if len(marker_points) else [],
            marker_points.geometry.y.to_numpy() if len(marker_points) else [],
        )
        surface = allocate_population(
            grid,
            grid_communes.reset_index(drop=True),
            zones,
            population,
            habitability(classes, known),
            near_marker,
        )
        surface.report["grid"] = grid.name
        reports.append(surface.report)
        land = surface.owner >= 0
        road_speed = road_speed_grid(grid, roads)
        speed = speed_surface(land, classes, known, grid.resolution, road_speed)
        cost = minutes_per_cell(speed, grid.resolution)
        method = road_method(
            surface.owner, surface.rural, road_speed, len(grid_communes), grid.resolution
        )
        result = GridResult(
            grid,
            surface.total,
            surface.rural,
            speed,
            land,
            owner=surface.owner,
            cuts=tuple(surface.report["cut"].astype(str)),
        )
        counts: dict[str, int] = {}
        for kind in kinds:
            say(f"tiempo de viaje a {kind} ({label})")
            row, col = _cells(grid, targets[kind])
            result.minutes[kind] = travel_minutes(cost, row, col, grid.resolution)
            counts[kind] = len(row)
        say(f"estadísticas zonales ({label})")
        stats = zonal_minutes(grid, grid_communes, result.minutes, surface.total, surface.rural)
        stats.insert(2, "resolution_m", round(grid.resolution))
        stats.insert(3, "grid", grid.name)
        methods = dict(zip(grid_communes["cut"].astype(str), method, strict=True))
        stats.insert(4, "method", stats["cut"].map(methods))
        stats.insert(5, "destinations", stats["facility"].map(counts).astype(int))
        rows.append(stats)
        results[grid.name] = result

    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    report = pd.concat(reports, ignore_index=True)
    table = table[table["cut"].isin(wanted_cuts)]
    report_rows = report[report["cut"].isin(wanted_cuts)].drop_duplicates("cut")
    per_cut = report_rows.set_index("cut")
    table = table.assign(
        population=per_cut["population_input"].reindex(table["cut"]).to_numpy(),
        rural_population=per_cut["rural_input"].reindex(table["cut"]).to_numpy(),
        population_year=year,
    )
    for threshold in (30, 60, 120):
        share = table[f"rural_share_beyond_{threshold}_minutes"].to_numpy(dtype=float)
        table[f"rural_beyond_{threshold}_minutes"] = share * table["rural_population"].to_numpy()
    table = table.sort_values(["facility", "cut"], kind="stable").reset_index(drop=True)
    return AccessibilityResult(
        table=table,
        population=report_rows.reset_index(drop=True),
        territory=territory.report,
        grids=results,
        population_year=year,
    )
