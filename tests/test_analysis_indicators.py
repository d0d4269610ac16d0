"""Indicators of the synthetic territory of tests/analysis_fixtures.py, by their definitions."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis import ScoringParameters, compute_indicators, score_communes
from analysis.inputs import AnalysisInputs
from tests.analysis_fixtures import (  # noqa: F401 - fixtures
    APR_CUTS,
    DWELLINGS,
    FAST,
    FULLY_URBAN_CUT,
    ISLAND_CUT,
    NO_FINANCE_CUT,
    NO_POLYGON_CUT,
    indicators_fixture,
    inputs_fixture,
)


def test_indicators_follow_their_definitions(
    inputs: AnalysisInputs, indicators: pd.DataFrame
) -> None:
    table = indicators.set_index("cut")
    water = inputs.water_sources.set_index("cut")
    expected_without = 100 * (DWELLINGS - water["dwellings_public_network"]) / DWELLINGS
    expected_precarious = (
        100 * (water["dwellings_water_truck"] + water["dwellings_river_spring"]) / DWELLINGS
    )
    np.testing.assert_allclose(table["agua_sin_red_publica"], expected_without.reindex(table.index))
    np.testing.assert_allclose(
        table["agua_fuente_precaria"], expected_precarious.reindex(table.index)
    )

    population = inputs.population.pivot_table(index="cut", columns="area", values="population")
    np.testing.assert_allclose(
        table["poblacion_rural_pct"], 100 * population["rural"] / population["total"]
    )
    # 150 households in two settlements of 05101.
    assert table.loc["05101", "campamentos_hogares_por_mil"] == pytest.approx(
        1000 * 150 / population["total"]["05101"]
    )
    assert table.loc["05102", "campamentos_hogares_por_mil"] == 0.0  # surveyed, none found

    # Fifth commune built: four 'Caserío' localities; 'Indeterminada' and urban rows do not count.
    assert table.loc["05105", "rural_localities"] == 4
    # The closed post and the school are not primary-care facilities.
    assert table.loc["05101", "primary_care_facilities"] == len(
        inputs.facilities.query(
            "cut == '05101' and category == 'salud' and operating_status != 'Cerrado'"
        )
    )


def test_apr_indicators_exist_only_where_the_layer_covers_the_commune(
    indicators: pd.DataFrame,
) -> None:
    table = indicators.set_index("cut")
    covered = table.index.isin(APR_CUTS)
    apr_columns = [
        "apr_beneficiarios_por_hab_rural",
        "apr_estado_deficiente",
        "apr_distancia_km",
        "apr_minutos",
    ]
    assert table.loc[covered, apr_columns].notna().all().all()
    assert table.loc[~covered, apr_columns].isna().all().all()
    # Systems alternate network status 'Insuficiente' / 'Suficiente' by commune.
    assert set(table.loc[covered, "apr_estado_deficiente"]) == {0.0, 100.0}


def test_travel_times_reflect_where_facilities_are(indicators: pd.DataFrame) -> None:
    table = indicators.set_index("cut")
    # The commune holding a hospital is minutes nearer to one than a commune two cells away.
    assert table["hospital_minutos"]["05103"] < table["hospital_minutos"]["05101"]
    # Hospitals are primary care too: never further than the nearest primary-care facility.
    both = table[["hospital_minutos", "salud_primaria_minutos"]].dropna()
    assert (both["hospital_minutos"] >= both["salud_primaria_minutos"] - 1e-6).all()
    # The island's hospital is on the island; nothing links it to a mainland city.
    assert table["hospital_minutos"][ISLAND_CUT] < 30
    assert math.isnan(table["centro_minutos"][ISLAND_CUT])
    assert table["salud_primaria_mas_60_min_pct"].dropna().between(0, 100).all()
    assert math.isnan(table["salud_primaria_minutos"][NO_POLYGON_CUT])


def test_connectivity_is_missing_not_zero_without_accessibility_results(
    inputs: AnalysisInputs,
) -> None:
    bare = replace(inputs, accessibility=pd.DataFrame())
    table = compute_indicators(bare).set_index("cut")
    for column in ("salud_primaria_minutos", "hospital_minutos", "apr_minutos"):
        assert table[column].isna().all(), column
    result = score_communes(bare, ScoringParameters(**FAST))
    connectivity = result.scores[result.scores["challenge"] == "conectividad"]
    assert connectivity["score"].isna().all()
    assert (connectivity["indicators_available"] == 0).all()
    assert result.scores[result.scores["challenge"] == "agua"]["score"].notna().any()


def test_distances_reflect_where_facilities_are(indicators: pd.DataFrame) -> None:
    table = indicators.set_index("cut")
    # A commune holding a hospital is nearer to one than a commune two cells away.
    assert table["hospital_distancia_km"]["05103"] < 15
    assert table["hospital_distancia_km"]["05101"] > 30
    # The island's only hospital is on the island: short distance, and no link to the mainland.
    assert table["hospital_distancia_km"][ISLAND_CUT] < 10
    assert bool(table.loc[FULLY_URBAN_CUT, "rural_sample_fallback"])
    assert math.isnan(table["establecimientos_por_10k_rural"][FULLY_URBAN_CUT])  # no rural people
    assert table.loc[NO_POLYGON_CUT, "rural_sample_points"] == 0
    assert math.isnan(table["salud_primaria_distancia_km"][NO_POLYGON_CUT])
    assert math.isnan(table["ingreso_municipal_per_capita_clp"][NO_FINANCE_CUT])
    assert math.isnan(table["ingresos_propios_per_capita_clp"][NO_FINANCE_CUT])
