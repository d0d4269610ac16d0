"""SUBDERE-style isolation index: synthetic territories whose isolation classes are known."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import Point

from analysis.accessibility.friction import minutes_per_cell
from analysis.accessibility.grid import GridSpec
from analysis.accessibility.pipeline import AccessibilityResult, GridResult
from analysis.accessibility.travel import travel_minutes
from analysis.decision.eligibility import (
    NEAR_MISS,
    NOT_SUSCEPTIBLE,
    SUSCEPTIBLE,
    assess_eligibility,
    probability_above,
)
from analysis.decision.isolation import (
    CENTRE_KINDS,
    TERRAIN,
    IsolationResult,
    calibrate,
    cell_index,
    commune_isolation,
    critical_index,
    isolated_population,
    load_isolation_settings,
    threshold_curve,
)
from tests.test_decision_eligibility import _table

SETTINGS = load_isolation_settings()
#: A straight valley 300 km long: 10 km cells at 30 km/h (20 minutes a cell), every service,
#: capital and city in the first cell. Commune "01001" holds cells 0–1 (0–20 min from
#: everything), "01002" cells 25–29 (500–580 min: beyond every reference time).
CELL_M = 10_000.0
WIDTH = 30
SPEED_KMH = 30.0


def _valley() -> tuple[AccessibilityResult, dict[str, gpd.GeoDataFrame]]:
    grid = GridSpec("continental", "EPSG:5361", Affine(CELL_M, 0, 0, 0, -CELL_M, 0), WIDTH, 1)
    speed = np.full(grid.shape, SPEED_KMH)
    owner = np.full(grid.shape, -1, dtype=np.int32)
    owner[0, :2] = 0
    owner[0, 25:] = 1
    population = np.where(owner >= 0, 100.0, 0.0)
    minutes = travel_minutes(minutes_per_cell(speed, CELL_M), [0], [0], CELL_M)
    kinds = [k for k in SETTINGS.destinations if k not in CENTRE_KINDS]
    result = GridResult(
        grid,
        population,
        population.copy(),
        speed,
        np.ones(grid.shape, dtype=bool),
        minutes={kind: minutes for kind in kinds},
        owner=owner,
        cuts=("01001", "01002"),
    )
    run = AccessibilityResult(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {"c": result}, 2024)
    first_cell = gpd.GeoDataFrame({"cut": ["01001"]}, geometry=[Point(5000, -5000)], crs=grid.crs)
    return run, {kind: first_cell for kind in CENTRE_KINDS}


def _expected_far_index() -> float:
    """Index of a cell beyond every reference time on 30 km/h terrain (2 min/km)."""
    easy, hard = SETTINGS.terrain_easy_minutes_per_km, SETTINGS.terrain_hard_minutes_per_km
    harshness = (60.0 / SPEED_KMH - easy) / (hard - easy)
    structure = sum(
        c.weight * (harshness if c.destination == TERRAIN else 1.0) for c in SETTINGS.structure
    ) / sum(c.weight for c in SETTINGS.structure)
    integration = 0.0
    w_s, w_i = SETTINGS.structure_weight, SETTINGS.integration_weight
    return (w_s * structure + w_i * (1.0 - integration)) / (w_s + w_i)


def test_the_far_commune_is_isolated_and_the_near_one_is_not() -> None:
    run, centres = _valley()
    result = commune_isolation(run, centres, SETTINGS)
    rows = result.communes.set_index("cut")
    assert rows.loc["01002", "aislamiento_indice_critico"] == pytest.approx(_expected_far_index())
    assert rows.loc["01002", "aislamiento_integracion_media"] == pytest.approx(0.0)
    # The near commune's most isolated cell (20 minutes from everything) stays below 0.5.
    near = result.communes["aislamiento_indice_critico"].to_numpy(dtype=float)[0]
    assert near < 0.5 < _expected_far_index()
    assert rows["aislamiento_poblacion"].tolist() == [200.0, 500.0]
    shares = isolated_population(result, 0.5).set_index("cut")["aislamiento_poblacion_pct"]
    assert shares.to_dict() == {"01001": 0.0, "01002": 100.0}
    # Far beyond every reference whatever the speed draw: isolated in every draw; the near
    # commune in none.
    assert (result.critical_draws[1] >= 0.5).all()
    assert (result.critical_draws[0] < 0.5).all()
    assert result.critical_draws.shape == (2, SETTINGS.uncertainty.draws)


def test_a_cell_at_every_door_scores_zero_and_the_index_bounds() -> None:
    at_door = {kind: np.array([0.0, np.inf]) for kind in SETTINGS.destinations}
    at_door[TERRAIN] = np.array([0.0, 1.0])
    integration, structure, index = cell_index(at_door, SETTINGS)
    assert integration[:, 0].tolist() == [1.0, 0.0]
    assert structure[:, 0].tolist() == [0.0, 1.0]
    assert index[:, 0].tolist() == [0.0, 1.0]


def test_faster_speeds_lower_the_index() -> None:
    values = {kind: np.array([90.0]) for kind in SETTINGS.destinations}
    values[TERRAIN] = np.array([0.3])
    _, _, index = cell_index(values, SETTINGS, [0.75, 1.0, 1.25])
    assert index[0, 0] > index[0, 1] > index[0, 2]


def test_critical_index_needs_the_minimum_of_people() -> None:
    owner = np.array([0, 0, 0, 1])
    people = np.array([5.0, 10.0, 100.0, 3.0])
    index = np.array([0.9, 0.6, 0.2, 0.7])
    # Commune 0: 5 people at 0.9 are not a place of 10; with the next cell they are (0.6).
    # Commune 1 has fewer than 10 people: its least isolated cell; commune 2 has none.
    out = critical_index(owner, people, index, 3, 10.0)
    assert out[:2].tolist() == [0.6, 0.7]
    assert np.isnan(out[2])


def test_curve_and_calibration() -> None:
    curve = threshold_curve(
        [True, True, True, False, True], [0.1, 0.5, 0.9, 0.95, np.nan], [0.0, 0.5, 1.0]
    )
    # A missing index never counts (missing is not zero).
    assert curve["susceptibles"].tolist() == [3, 2, 0]
    assert calibrate(curve, 2, 2) == (0.5, 2, True)
    assert calibrate(curve, 5, 6) == (0.0, 3, False)


def _isolation(critical: list[float], draws: list[list[float]]) -> IsolationResult:
    cuts = ["01001", "01002", "01003", "02001", "02002"]
    communes = pd.DataFrame(
        {
            "cut": cuts,
            "aislamiento_poblacion": 100.0,
            "aislamiento_indice_critico": critical,
            "aislamiento_indice_medio": 0.3,
            "aislamiento_integracion_media": 0.5,
            "aislamiento_estructura_media": 0.2,
        }
    )
    cells = pd.DataFrame({"cut": cuts, "people": 100.0, "index": critical})
    return IsolationResult(communes, np.array(draws), np.ones(len(draws[0])), cells)


def _poverty_table() -> pd.DataFrame:
    """The five communes of the eligibility tests (region 01 = c1..c3, 02 = c4, c5)."""
    income = [20.0, 11.0, 6.0, 12.0, 2.0]
    return _table(income, [v + 3.0 for v in income])


def test_probability_of_susceptibility_combines_poverty_and_isolation() -> None:
    # c1: isolated in 3 of 4 draws; c2 (misses the regional income average) isolated in all;
    # c4 meets every poverty criterion but its index is below the threshold in 3 of 4 draws.
    isolation = _isolation(
        [0.8, 0.7, 0.1, 0.45, 0.1],
        [
            [0.8, 0.9, 0.4, 0.7],
            [0.7, 0.7, 0.7, 0.7],
            [0.1, 0.1, 0.1, 0.1],
            [0.45, 0.45, 0.45, 0.55],
            [0.1, 0.1, 0.1, 0.1],
        ],
    )
    result = assess_eligibility(_poverty_table(), isolation=isolation, index_threshold=0.5)
    rows = result.communes.set_index("cut")
    assert rows.loc["01001", "status"] == SUSCEPTIBLE
    assert rows.loc["01001", "aislamiento_probabilidad"] == pytest.approx(0.75)
    # P(susceptible) = P(income above the higher average) × P(multidimensional …) × P(isolated)
    c1 = rows.loc["01001"]
    expected = (
        probability_above(
            20.0,
            17.0,
            23.0,
            max(c1["ingresos_regional_promedio_pct"], c1["ingresos_nacional_promedio_pct"]),
        )
        * probability_above(
            30.0,
            27.0,
            33.0,
            max(
                c1["multidimensional_regional_promedio_pct"],
                c1["multidimensional_nacional_promedio_pct"],
            ),
        )
        * 0.75
    )
    assert c1["probabilidad_susceptible"] == pytest.approx(float(expected))
    # c2's income is 1.3 points under its regional average with se 1.53: P ≈ 0.19 ≥ 0.10.
    assert rows.loc["01002", "status"] == NEAR_MISS
    # c4: poverty certain enough, isolated in one draw of four: P ≈ 0.25 → near miss.
    assert not rows.loc["02001", "aislamiento_cumple"]
    assert rows.loc["02001", "status"] == NEAR_MISS
    assert rows.loc["01003", "status"] == NOT_SUSCEPTIBLE
    assert rows.loc["01001", "aislamiento_poblacion_pct"] == pytest.approx(100.0)
    assert result.calibration is not None and result.calibration["umbral"] == 0.5
    assert result.calibration["calibrado"] is False
    assert result.curve is not None
    assert set(result.criteria["criterion"]) >= {"aislamiento", "ingresos_regional"}


def test_without_a_threshold_it_is_calibrated_to_the_published_range() -> None:
    isolation = _isolation([0.8, 0.7, 0.1, 0.45, 0.1], [[0.5]] * 5)
    result = assess_eligibility(_poverty_table(), isolation=isolation)
    assert result.calibration is not None and result.calibration["calibrado"] is True
    # Five communes can never reach 120: the calibration says so instead of pretending.
    assert result.calibration["calibracion_lograda"] is False
    assert result.calibration["dentro_del_rango"] is False
    curve = result.curve
    assert curve is not None
    low = curve["umbral"].min()
    assert result.calibration["umbral"] == low
