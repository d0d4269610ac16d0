"""The whole national scoring on the real data of ../shared/data/chile.

``national_inputs`` (tests/conftest.py) loads the real files through the project's loaders.
Assertions are invariants and facts of the sources (345 communes, APR data only for Petorca
and Coyhaique, islands without neighbours), never numbers copied from an earlier output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import (
    ScoringParameters,
    compute_indicators,
    explain_commune,
    ranked_table,
    score_communes,
)

pytestmark = pytest.mark.realdata
DRAWS = 200
APR_COMMUNES = {"05404", "11101"}  # Petorca and Coyhaique
ISLANDS = {"05201", "05104"}  # Isla de Pascua, Juan Fernández


@pytest.fixture(scope="module")
def national_indicators(national_inputs) -> pd.DataFrame:
    return compute_indicators(national_inputs)


@pytest.fixture(scope="module")
def national_result(national_inputs, national_indicators):
    return score_communes(
        national_inputs, ScoringParameters(draws=DRAWS), raw_indicators=national_indicators
    )


def test_national_indicators_are_complete_and_plausible(national_indicators: pd.DataFrame) -> None:
    table = national_indicators.set_index("cut")
    assert len(table) == 345 and table.index.is_unique
    for column in (
        "agua_sin_red_publica",
        "agua_fuente_precaria",
        "poblacion_rural_pct",
        "pobreza_multidimensional_pct",
        "pobreza_ingresos_pct",
    ):
        assert table[column].between(0, 100).all(), column
    assert (table["agua_fuente_precaria"] <= table["agua_sin_red_publica"] + 1e-9).all()
    for column in ("salud_primaria_distancia_km", "hospital_distancia_km"):
        assert table[column].notna().all(), column
        assert (table[column] > 0).all() and (table[column] < 2000).all(), column
    # A hospital is never nearer than the nearest primary-care facility (hospitals are in that set).
    assert (table["hospital_distancia_km"] >= table["salud_primaria_distancia_km"] - 1e-9).all()
    apr = table["apr_distancia_km"].notna()
    assert set(table.index[apr]) == APR_COMMUNES
    ci = table[
        ["pobreza_ic_inferior_pct", "pobreza_multidimensional_pct", "pobreza_ic_superior_pct"]
    ]
    assert (ci.iloc[:, 0] <= ci.iloc[:, 1] + 1e-9).all() and (
        ci.iloc[:, 1] <= ci.iloc[:, 2] + 1e-9
    ).all()
    for low, point, high in (
        ("pobreza_ic_inferior_pct", "pobreza_multidimensional_pct", "pobreza_ic_superior_pct"),
        (
            "pobreza_ingresos_ic_inferior_pct",
            "pobreza_ingresos_pct",
            "pobreza_ingresos_ic_superior_pct",
        ),
    ):
        assert (table[low] <= table[point] + 1e-9).all() and (
            table[point] <= table[high] + 1e-9
        ).all()
    for column in ("ingreso_municipal_per_capita_clp", "ingresos_propios_per_capita_clp"):
        assert table[column].isna().sum() <= 2, column  # two municipalities missing
    assert (table["rural_sample_points"] > 0).all()


def test_national_scoring_ranks_every_commune_with_honest_intervals(national_result) -> None:
    scores = national_result.scores
    assert national_result.communes_in_scope == 345
    # The national fixture stores no `geogaps accessibility` results: the travel-time
    # indicators are missing, so connectivity is reported unscored, never as zero gaps.
    connectivity = scores[scores["challenge"] == "conectividad"]
    assert connectivity["score"].isna().all()
    assert (connectivity["indicators_available"] == 0).all()
    for challenge in national_result.catalogue.score_ids:
        if challenge == "conectividad":
            continue
        table = ranked_table(national_result, challenge)
        scored = table[table["score"].notna()]
        assert len(scored) >= 340, challenge
        assert scored["rank"].min() == 1
        # The simulation's own interval (not widened to the point rank).
        assert (scored["rank_p05"] <= scored["median_rank"]).all() and (
            scored["median_rank"] <= scored["rank_p95"]
        ).all()
        top = (scored["tier"] == 1).sum()
        assert 0.15 * len(scored) <= top <= 0.25 * len(scored)  # quintiles, ties aside
    water = scores[scores["challenge"] == "agua"].set_index("cut")
    # APR indicators cover two communes only: left out nationally for every commune (Petorca
    # and Coyhaique too), so every commune with both census indicators covers all the weight.
    assert (water["coverage"] == 1).all() and (water["indicators_total"] == 2).all()
    assert scores["explanation"].str.len().gt(20).all()


def test_national_scoring_is_reproducible(
    national_inputs, national_indicators, national_result
) -> None:
    again = score_communes(
        national_inputs, ScoringParameters(draws=DRAWS), raw_indicators=national_indicators
    )
    assert again.digest() == national_result.digest()


def test_spatial_outputs_handle_islands_and_find_clusters(national_result) -> None:
    clusters = national_result.clusters
    islands = clusters[clusters["cut"].isin(ISLANDS)]
    assert (islands["quadrant"] == "Sin vecinos").all()
    scored = clusters[clusters["challenge"] != "conectividad"]  # unscored without travel times
    assert (scored["quadrant"] == "Alto-Alto").groupby(scored["challenge"]).any().all()
    groups = national_result.groups
    assert not groups.empty
    assert (
        groups.groupby("group_id")["cut"]
        .count()
        .le(national_result.parameters.max_group_size)
        .all()
    )
    assert not groups["cut"].isin(ISLANDS).any()


def test_regional_scoring_compares_coquimbo_communes_only(
    national_inputs, national_indicators
) -> None:
    result = score_communes(
        national_inputs,
        ScoringParameters(region="04", draws=DRAWS),
        raw_indicators=national_indicators,
    )
    assert result.communes_in_scope == 15
    assert set(result.scores["region_code"]) == {"04"}
    composite = ranked_table(result, "compuesto")
    assert composite["rank"].notna().all()
    assert sorted(composite["rank"]) == list(range(1, 16))  # no ties expected on continuous scores
    assert np.isfinite(result.clusters["p_value"]).any()


def test_explain_petorca_names_its_unused_apr_data(national_result) -> None:
    text = explain_commune(national_result, "05404")
    assert text.startswith("Petorca (05404)")
    assert "No usados en este ámbito" in text
    assert "Beneficiarios de APR por habitante rural" in text
    assert "Pobreza multidimensional 2022" in text


def test_portfolio_lists_high_gap_communes_without_intervention(national_result) -> None:
    portfolio = national_result.portfolio
    assert len(portfolio) == 345
    assert portfolio["huella_presence"].sum() == 55
    flagged = portfolio[portfolio["high_gap_without_intervention"]]
    assert not flagged.empty
    assert (flagged["composite_tier"] == 1).all()
    assert not flagged["huella_presence"].any() and (flagged["projects_total"] == 0).all()


def test_a_region_whose_apr_file_covers_it_ranks_on_the_apr_indicators(
    national_inputs, national_indicators
) -> None:
    # A GORE loads the APR file of its whole region (simulated on the indicator table: every
    # Coquimbo commune gets APR values). Within the region the APR indicators pass the
    # comparability rule and enter its ranking; nationally 15 of 345 communes do not.
    raw = national_indicators.copy()
    coquimbo = raw["cut"].str.startswith("04")
    apr = ["apr_beneficiarios_por_hab_rural", "apr_estado_deficiente", "apr_minutos"]
    rng = np.random.default_rng(3)
    for column in apr:
        raw.loc[coquimbo, column] = rng.uniform(0.1, 1.0, int(coquimbo.sum()))
    regional = score_communes(
        national_inputs, ScoringParameters(region="04", draws=0), raw_indicators=raw
    )
    national = score_communes(national_inputs, ScoringParameters(draws=0), raw_indicators=raw)
    used_in_region = regional.reference.set_index("indicator")["used"]
    used_nationally = national.reference.set_index("indicator")["used"]
    assert used_in_region[apr].all() and not used_nationally[apr].any()
    water = regional.scores[regional.scores["challenge"] == "agua"]
    assert (water["indicators_total"] == 5).all() and (water["coverage"] == 1).all()
    assert "agua" not in set(regional.notes["challenge"])
    assert "agua" in set(national.notes["challenge"])
