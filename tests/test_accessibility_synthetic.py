"""Accessibility maths on synthetic grids whose answers are known in advance."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis.accessibility.friction import (
    FERRY_SPEED_KMH,
    minutes_per_cell,
    road_speeds,
    speed_surface,
)
from analysis.accessibility.grid import GridSpec, grid_around, split_territory
from analysis.accessibility.population import allocate_population, habitability, marker_mask
from analysis.accessibility.travel import travel_minutes
from analysis.accessibility.zonal import zonal_minutes

CRS = "EPSG:5361"
RESOLUTION = 1000.0


def _grid(size: int = 41) -> GridSpec:
    return grid_around(
        "test", CRS, (0.0, 0.0, size * RESOLUTION, size * RESOLUTION), RESOLUTION, margin_cells=0
    )


def _uniform_cost(grid: GridSpec, speed_kmh: float) -> np.ndarray:
    return minutes_per_cell(np.full(grid.shape, speed_kmh), grid.resolution)


def test_one_facility_uniform_speed_gives_distance_over_speed() -> None:
    grid = _grid()
    speed = 30.0  # km/h: 2 minutes per km
    minutes = travel_minutes(_uniform_cost(grid, speed), [20], [20], grid.resolution)
    cell_minutes = grid.resolution / 1000.0 / speed * 60.0
    rows, cols = np.indices(grid.shape)
    distance_km = np.hypot(rows - 20, cols - 20) * grid.resolution / 1000.0
    analytic = distance_km / speed * 60.0
    # Along the axes and diagonals the 8-connected path is the straight line: within a cell.
    straight = (rows == 20) | (cols == 20) | (np.abs(rows - 20) == np.abs(cols - 20))
    assert np.all(np.abs(minutes[straight] - analytic[straight]) <= cell_minutes)
    # Elsewhere the octile path is at most 8.3 % longer than the straight line, never shorter.
    assert np.all(minutes >= analytic - 1e-9)
    assert np.all(minutes <= analytic * 1.083 + cell_minutes)
    assert minutes[20, 20] == 0.0


def test_road_corridor_is_faster_along_it() -> None:
    grid = _grid()
    land = np.ones(grid.shape, dtype=bool)
    classes = np.full(grid.shape, 10, dtype=np.uint8)  # grassland everywhere
    roads = np.zeros(grid.shape)
    roads[20, :] = 80.0  # a paved road along row 20
    with_road = minutes_per_cell(
        speed_surface(land, classes, np.ones(grid.shape, bool), grid.resolution, roads),
        grid.resolution,
    )
    without = minutes_per_cell(
        speed_surface(land, classes, np.ones(grid.shape, bool), grid.resolution), grid.resolution
    )
    fast = travel_minutes(with_road, [20], [0], grid.resolution)
    slow = travel_minutes(without, [20], [0], grid.resolution)
    # 40 km along the road at 80 km/h is 30 minutes; off-road at 30 km/h it is 80 minutes.
    assert fast[20, 40] == pytest.approx(40 * 60 / 80, abs=60 / 80)
    assert slow[20, 40] == pytest.approx(40 * 60 / 30, abs=2.0)
    # Off the corridor the gain fades: a cell 20 km away from the road gains less.
    assert fast[20, 40] < slow[20, 40] / 2
    assert fast[0, 40] > fast[20, 40]


def test_barrier_forces_a_detour() -> None:
    grid = _grid()
    cost = _uniform_cost(grid, 30.0)
    cost[5:, 20] = np.inf  # a wall (ice, open water) with a gap at the top rows 0-4
    minutes = travel_minutes(cost, [35], [10], grid.resolution)
    straight = 20 * 2.0  # 20 cells at 2 minutes each
    assert minutes[35, 30] > straight * 2  # must go round the wall's end
    blocked = travel_minutes(
        np.where(np.arange(grid.width) == 20, np.inf, cost), [35], [10], grid.resolution
    )
    assert np.isinf(blocked[35, 30])  # a full wall: unreachable, reported as inf


def test_destination_on_a_barrier_is_still_reachable() -> None:
    grid = _grid(11)
    cost = _uniform_cost(grid, 30.0)
    cost[5, 5] = np.inf
    minutes = travel_minutes(cost, [5], [5], grid.resolution)
    assert np.isfinite(minutes).all()


def test_sea_near_the_coast_is_navigable_but_open_ocean_is_not() -> None:
    grid = _grid(101)
    land = np.zeros(grid.shape, dtype=bool)
    land[:, :10] = True
    classes = np.where(land, 12, 0).astype(np.uint8)
    speed = speed_surface(land, classes, np.ones(grid.shape, bool), grid.resolution)
    assert speed[50, 15] == FERRY_SPEED_KMH
    assert speed[50, 90] == 0.0


def test_road_speed_from_mop_surface_and_osm_class() -> None:
    speeds = road_speeds(
        pd.Series(["PAVIMENTO", None, "primary", "track", None]),
        pd.Series(["PAVIMENTO", "RIPIO", "gravel", None, None]),
    )
    assert speeds[0] > speeds[1] > speeds[4] * 0  # paved faster than gravel
    assert speeds[2] <= 50.0  # an OSM primary road on gravel is capped
    assert speeds[3] < speeds[0]


def _two_communes(grid: GridSpec) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"cut": ["01101", "01102", "01103"]},
        geometry=[
            shapely.box(0, 0, 20_500, 41_000),
            shapely.box(20_500, 0, 41_000, 41_000),
            shapely.box(100, 100, 700, 600),  # a tiny commune inside no single cell centre
        ],
        crs=CRS,
    )


def test_dasymetric_allocation_preserves_every_commune_total() -> None:
    grid = _grid()
    communes = _two_communes(grid)
    zones = gpd.GeoDataFrame(
        {"cut": ["01101", "01101"], "population_2017": [1000.0, 3000.0]},
        geometry=[shapely.box(2000, 2000, 5000, 5000), shapely.box(8000, 8000, 8600, 8400)],
        crs=CRS,
    )
    population = pd.DataFrame(
        {
            "cut": ["01101", "01102", "01103"],
            "urban": [5000.0, 0.0, 0.0],
            "rural": [1234.5, 777.0, 10.0],
        }
    )
    classes = np.full(grid.shape, 12, dtype=np.uint8)
    classes[:, 20:] = 16  # commune 01102 is all barren: its rural people fall back
    weights = habitability(classes, np.ones(grid.shape, bool))
    markers = marker_mask(grid, [10_500.0], [30_500.0], radius_m=2000.0)
    surface = allocate_population(grid, communes, zones, population, weights, markers)
    report = surface.report.set_index("cut")
    assert np.allclose(report["population_raster"], report["population_input"], rtol=1e-9)
    assert report.loc["01102", "rural_fallback"]
    assert not report.loc["01101", "rural_fallback"]
    assert surface.total.sum() == pytest.approx(population[["urban", "rural"]].to_numpy().sum())
    # Urban people sit in their zones: 3/4 of the scaled urban count in the second zone's cell.
    assert surface.total[32, 8] > surface.total[30, 15]
    # Rural people are denser near the marker than elsewhere in the same land cover.
    rural = surface.rural
    assert rural[10, 10] > rural[10, 5] * 4
    # No rural population on the urban zone's fully covered cells.
    assert rural[37, 3] == 0.0


def test_zonal_minutes_weighted_by_population() -> None:
    grid = _grid(4)
    communes = gpd.GeoDataFrame(
        {"cut": ["01101"]}, geometry=[shapely.box(0, 0, 4000, 4000)], crs=CRS
    )
    minutes = np.array(
        [[10.0, 10, 10, 10], [10, 10, 10, 10], [90, 90, 90, 90], [np.inf, np.inf, np.inf, np.inf]]
    )
    rural = np.ones(grid.shape)
    population = np.ones(grid.shape)
    table = zonal_minutes(grid, communes, {"primary": minutes}, population, rural).iloc[0]
    assert table["rural_minutes_mean"] == pytest.approx((8 * 10 + 4 * 90) / 12)
    assert table["rural_unreachable_share"] == pytest.approx(0.25)
    assert table["rural_share_beyond_60_minutes"] == pytest.approx(0.5)
    assert table["rural_share_beyond_30_minutes"] == pytest.approx(0.5)


def test_offshore_islands_get_their_own_grid() -> None:
    communes = gpd.GeoDataFrame(
        {"cut": ["05101", "05201"]},
        geometry=[
            shapely.MultiPolygon(
                [shapely.box(-71.7, -33.1, -71.5, -33.0), shapely.box(-80.1, -26.3, -80.0, -26.2)]
            ),
            shapely.box(-109.45, -27.2, -109.2, -27.05),
        ],
        crs=4326,
    )
    territory = split_territory(communes)
    treatment = territory.report.set_index("cut")["treatment"]
    assert treatment["05101"] == "offshore_part_dropped"
    assert treatment["05201"] == "own_grid"
    assert list(territory.islands["cut"]) == ["05201"]
    assert list(territory.continental["cut"]) == ["05101"]
