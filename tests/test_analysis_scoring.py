"""End-to-end scoring on the synthetic territory of tests/analysis_fixtures.py."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis import (
    SCORE_COLUMNS,
    ScoringParameters,
    compute_indicators,
    explain_commune,
    load_catalogue,
    ranked_table,
    score_communes,
)
from analysis.geometry import contiguity, geometries
from analysis.inputs import AnalysisInputs
from tests.analysis_fixtures import (
    APR_CUTS,
    DWELLINGS,
    FULLY_URBAN_CUT,
    ISLAND_CUT,
    NO_FINANCE_CUT,
    NO_POLYGON_CUT,
    build_synthetic_inputs,
)

FAST = {"draws": 120, "moran_permutations": 99}


@pytest.fixture(scope="module")
def inputs() -> AnalysisInputs:
    return build_synthetic_inputs()


@pytest.fixture(scope="module")
def indicators(inputs: AnalysisInputs) -> pd.DataFrame:
    return compute_indicators(inputs)


@pytest.fixture(scope="module")
def result(inputs: AnalysisInputs, indicators: pd.DataFrame):
    return score_communes(inputs, ScoringParameters(**FAST), raw_indicators=indicators)


# ------------------------------------------------------------------------- indicators


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
        1000 * 150 / population.loc["05101", "total"]
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
    assert table.loc["05103", "hospital_minutos"] < table.loc["05101", "hospital_minutos"]
    # Hospitals are primary care too: never further than the nearest primary-care facility.
    both = table[["hospital_minutos", "salud_primaria_minutos"]].dropna()
    assert (both["hospital_minutos"] >= both["salud_primaria_minutos"] - 1e-6).all()
    # The island's hospital is on the island; nothing links it to a mainland city.
    assert table.loc[ISLAND_CUT, "hospital_minutos"] < 30
    assert math.isnan(table.loc[ISLAND_CUT, "centro_minutos"])
    assert table["salud_primaria_mas_60_min_pct"].dropna().between(0, 100).all()
    assert math.isnan(table.loc[NO_POLYGON_CUT, "salud_primaria_minutos"])


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
    assert table.loc["05103", "hospital_distancia_km"] < 15
    assert table.loc["05101", "hospital_distancia_km"] > 30
    # The island's only hospital is on the island: short distance, and no link to the mainland.
    assert table.loc[ISLAND_CUT, "hospital_distancia_km"] < 10
    assert bool(table.loc[FULLY_URBAN_CUT, "rural_sample_fallback"])
    assert math.isnan(
        table.loc[FULLY_URBAN_CUT, "establecimientos_por_10k_rural"]
    )  # no rural people
    assert table.loc[NO_POLYGON_CUT, "rural_sample_points"] == 0
    assert math.isnan(table.loc[NO_POLYGON_CUT, "salud_primaria_distancia_km"])
    assert math.isnan(table.loc[NO_FINANCE_CUT, "ingreso_municipal_per_capita_clp"])
    assert math.isnan(table.loc[NO_FINANCE_CUT, "ingresos_propios_per_capita_clp"])


# ---------------------------------------------------------------------------- scoring


def test_scores_table_has_one_row_per_commune_and_score(result, inputs: AnalysisInputs) -> None:
    scores = result.scores
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert len(scores) == len(inputs.communes) * 4
    assert set(scores["challenge"]) == {"agua", "conectividad", "rural_urbano", "compuesto"}
    assert scores["coverage"].between(0, 1).all()
    scored = scores["score"].notna()
    assert scores.loc[scored, "rank"].notna().all() and scores.loc[scored, "tier"].notna().all()
    assert scores.loc[~scored, "rank"].isna().all()
    for challenge, table in scores[scored].groupby("challenge"):
        assert table["rank"].min() == 1, challenge
        assert table["tier"].min() == 1
    assert scores["explanation"].str.len().gt(20).all()


def test_communes_without_apr_data_are_scored_on_what_they_have(result) -> None:
    water = result.scores[result.scores["challenge"] == "agua"].set_index("cut")
    catalogue = result.catalogue
    census_share = sum(
        i.weight for i in catalogue.indicators_of("agua") if not i.id.startswith("apr")
    )
    total = sum(i.weight for i in catalogue.indicators_of("agua"))
    without = water.loc[~water.index.isin(APR_CUTS)]
    assert np.allclose(without["coverage"], census_share / total)
    assert without["score"].notna().all()
    assert (without["indicators_available"] == 2).all()
    assert (water.loc[list(APR_CUTS), "coverage"] == 1.0).all()


def test_contributions_add_up_to_the_score_and_weights_renormalise(result) -> None:
    contributions = result.contributions
    challenges = contributions[contributions["challenge"] != "compuesto"]
    sums = challenges.groupby(["challenge", "cut"])["contribution"].sum(min_count=1)
    effective = challenges.groupby(["challenge", "cut"])["effective_weight"].sum(min_count=1)
    scores = result.scores.set_index(["challenge", "cut"])["score"]
    scored = scores.reindex(sums.index).notna()
    np.testing.assert_allclose(sums[scored], scores.reindex(sums.index)[scored], rtol=1e-9)
    np.testing.assert_allclose(effective[scored], 1.0, rtol=1e-9)
    composite = contributions[contributions["challenge"] == "compuesto"]
    composite_sums = composite.groupby("cut")["contribution"].sum(min_count=1)
    composite_scores = result.scores.query("challenge == 'compuesto'").set_index("cut")["score"]
    np.testing.assert_allclose(
        composite_sums, composite_scores.reindex(composite_sums.index), rtol=1e-9
    )


def test_missing_indicators_never_read_as_no_gap(result) -> None:
    contributions = result.contributions
    missing = contributions["raw_value"].isna()
    assert contributions.loc[missing, "normalised"].isna().all()
    assert contributions.loc[missing, "contribution"].isna().all()
    no_scope = result.scores[result.scores["score"].isna()]
    assert (no_scope["coverage"] < result.parameters.min_coverage).all()
    assert no_scope["explanation"].str.startswith("Sin puntaje").all()


def test_same_inputs_parameters_and_seed_give_byte_identical_tables(
    inputs, indicators, result
) -> None:
    again = score_communes(inputs, ScoringParameters(**FAST), raw_indicators=indicators)
    assert again.digest() == result.digest()
    for name, table in result.tables().items():
        pd.testing.assert_frame_equal(again.tables()[name], table, obj=name)

    other_seed = score_communes(
        inputs, ScoringParameters(**FAST, seed=7), raw_indicators=indicators
    )
    pd.testing.assert_series_equal(other_seed.scores["score"], result.scores["score"])
    assert other_seed.digest() != result.digest()


def test_scaling_every_weight_changes_nothing_end_to_end(inputs, indicators, result) -> None:
    catalogue = load_catalogue()
    tripled = {i.id: 3 * i.weight for i in catalogue.indicators}
    params = ScoringParameters(
        **FAST,
        indicator_weights=tripled,
        challenge_weights={c.id: 3 * c.weight for c in catalogue.challenges},
    )
    scaled = score_communes(inputs, params, raw_indicators=indicators)
    np.testing.assert_allclose(scaled.scores["score"], result.scores["score"], rtol=1e-9)
    for column in ("rank", "tier", "median_rank", "rank_p05", "rank_p95", "top_tier_share"):
        pd.testing.assert_series_equal(scaled.scores[column], result.scores[column], obj=column)


def test_reported_intervals_are_the_simulations_and_regional_figures_are_within_region(
    result,
) -> None:
    scored = result.scores[result.scores["score"].notna()]
    assert (scored["rank_p05"] <= scored["median_rank"]).all()
    assert (scored["median_rank"] <= scored["rank_p95"]).all()
    assert scored["top_tier_share"].between(0, 1).all()
    top = scored[scored["tier"] == 1]
    assert top["top_tier_share"].mean() > scored[scored["tier"] == 5]["top_tier_share"].mean()
    for (_, _), table in scored.groupby(["challenge", "region_code"]):
        assert table["rank_region"].min() == 1
        assert table["rank_p95_region"].max() <= len(table)
        order = table.sort_values("score", ascending=False)
        assert order["rank_region"].is_monotonic_increasing
    unscored = result.scores[result.scores["score"].isna()]
    assert unscored[["rank_region", "median_rank_region", "rank_p05"]].isna().all().all()
    assert (unscored["tier_label"] == "Sin datos suficientes").all()


def test_regional_tiers_classify_the_national_scores_within_each_region(result) -> None:
    # A commune's regional tier is the scope's tier rule applied to the national run's scores of
    # its own region: the map's regional colours then mean "tier within the region".
    from analysis.aggregation import tiers

    params = result.parameters
    for (_, _), table in result.scores.groupby(["challenge", "region_code"]):
        expected = tiers(table["score"].to_numpy(float), params.tier_count, params.tier_method)
        got = table["tier_region"].astype("float64").to_numpy()
        np.testing.assert_array_equal(got, expected)
        scored = table[table["score"].notna()].sort_values("score", ascending=False)
        assert scored["tier_region"].is_monotonic_increasing and scored["tier_region"].min() == 1
        assert (
            table.loc[table["score"].isna(), "tier_label_region"].eq("Sin datos suficientes").all()
        )


def test_region_scope_compares_only_that_region(inputs, indicators) -> None:
    regional = score_communes(
        inputs, ScoringParameters(**FAST, region="13"), raw_indicators=indicators
    )
    assert set(regional.scores["region_code"]) == {"13"}
    assert regional.communes_in_scope == 15
    assert ranked_table(regional, "agua")["rank"].max() <= 15
    with pytest.raises(ValueError, match="Región desconocida"):
        score_communes(inputs, ScoringParameters(**FAST, region="09"), raw_indicators=indicators)


def test_clusters_label_islands_and_use_spanish_quadrants(result) -> None:
    clusters = result.clusters
    assert set(clusters["quadrant"]) <= {
        "Alto-Alto",
        "Bajo-Alto",
        "Bajo-Bajo",
        "Alto-Bajo",
        "No significativo",
        "Sin vecinos",
    }
    island = clusters[clusters["cut"].isin([ISLAND_CUT, NO_POLYGON_CUT])]
    assert (island["quadrant"] == "Sin vecinos").all()
    assert island["moran_i"].isna().all()
    tested = clusters["p_value"].notna()
    assert clusters.loc[tested, "p_value"].between(0, 1).all()


def test_groups_are_contiguous_sets_of_priority_communes(result, inputs: AnalysisInputs) -> None:
    groups = result.groups
    assert not groups.empty
    scores = result.scores.set_index(["challenge", "cut"])
    cuts = list(result.indicators["cut"])
    communes = inputs.communes.set_index("cut").reindex(cuts)
    neighbours = contiguity(geometries(communes.reset_index()))
    for (challenge, _group_id), members in groups.groupby(["challenge", "group_id"]):
        assert 2 <= len(members) <= result.parameters.max_group_size
        assert (members["group_size"] == len(members)).all()
        tiers_of_members = scores.loc[[(challenge, cut) for cut in members["cut"]], "tier"]
        assert (tiers_of_members <= result.parameters.priority_tiers).all()
        positions = {cuts.index(cut) for cut in members["cut"]}
        reached, frontier = set(), [min(positions)]
        while frontier:
            current = frontier.pop()
            reached.add(current)
            frontier.extend(n for n in neighbours[current] if n in positions and n not in reached)
        assert reached == positions


def test_portfolio_flags_priority_communes_without_intervention(result) -> None:
    portfolio = result.portfolio.set_index("cut")
    assert bool(portfolio.loc["05101", "huella_presence"])
    assert portfolio.loc["05101", "huella_interventions"] == "mesa_convergencia, other"
    assert portfolio.loc["05102", "projects_total"] == 2
    assert portfolio.loc["05102", "projects_equipamiento"] == 1
    assert portfolio.loc["05102", "projects_servicios_basicos"] == 1
    assert portfolio.loc["05102", "total_investment_clp"] == 1_000_000.0
    assert portfolio.loc["05102", "projects_without_amount"] == 1
    assert math.isnan(portfolio.loc["05103", "total_investment_clp"])
    expected = (
        (portfolio["composite_tier"] == 1)
        & ~portfolio["huella_presence"]
        & (portfolio["projects_total"] == 0)
    )
    pd.testing.assert_series_equal(
        portfolio["high_gap_without_intervention"], expected, check_names=False
    )


def test_explain_commune_lists_every_indicator_value_or_its_absence(result) -> None:
    text = explain_commune(result, "5107")  # unpadded code accepted
    for indicator in result.catalogue.indicators:
        assert indicator.label in text
    assert "Índice compuesto de brechas" in text
    assert "Intervalo de lugar 5–95 %" in text

    without_apr = explain_commune(result, "13104")
    assert "Sin dato: Beneficiarios de APR por habitante rural" in without_apr
    no_polygon = explain_commune(result, NO_POLYGON_CUT)
    assert "Sin puntaje" in no_polygon


def test_unknown_commune_or_challenge_raise_clear_errors(result) -> None:
    with pytest.raises(KeyError, match="no está en el resultado"):
        explain_commune(result, "99999")
    with pytest.raises(ValueError, match="Desafío desconocido"):
        ranked_table(result, "vivienda")
    ranked = ranked_table(result, "conectividad")
    unranked = int(ranked["rank"].isna().sum())
    assert unranked >= 1  # the commune without polygon has no distances
    assert ranked["rank"].iloc[: len(ranked) - unranked].is_monotonic_increasing
    assert ranked["rank"].iloc[len(ranked) - unranked :].isna().all()


def test_parameters_validate_and_dump_to_json() -> None:
    params = ScoringParameters(region="04", normalization="rank", aggregation="geometric")
    dumped = params.model_dump(mode="json")
    assert dumped["region"] == "04" and dumped["draws"] == 1000
    assert ScoringParameters.model_validate(dumped) == params
    with pytest.raises(ValueError, match="geométrica"):
        ScoringParameters(normalization="zscore", aggregation="geometric", geometric_scale="offset")
    # On the rescaled [1, 100] scale z-scores can be aggregated geometrically.
    assert ScoringParameters(normalization="zscore", aggregation="geometric").draws == 1000
    with pytest.raises(ValueError):
        ScoringParameters(region="4")
    with pytest.raises(ValueError):
        ScoringParameters(indicator_weights={"agua_sin_red_publica": -1.0})


@pytest.mark.parametrize(
    ("normalization", "aggregation", "tier_method"),
    [
        ("zscore", "arithmetic", "quantiles"),
        ("target", "geometric", "natural_breaks"),
        ("rank", "arithmetic", "natural_breaks"),
    ],
)
def test_every_method_choice_scores_consistently(
    inputs, indicators, normalization, aggregation, tier_method
) -> None:
    params = ScoringParameters(
        draws=30,
        moran_permutations=99,
        normalization=normalization,
        aggregation=aggregation,
        tier_method=tier_method,
    )
    scored = score_communes(inputs, params, raw_indicators=indicators).scores
    for _, table in scored[scored["score"].notna()].groupby("challenge"):
        ordered = table.sort_values("score", ascending=False)
        assert ordered["rank"].is_monotonic_increasing
        assert ordered["tier"].is_monotonic_increasing


def test_a_challenge_added_by_a_catalogue_override_works_end_to_end(inputs, indicators) -> None:
    from analysis.scoring import scored_model
    from analysis.sensitivity import rank_sensitivity

    override = {
        "challenges": [{"id": "vivienda", "label": "Vivienda precaria", "weight": 1.0}],
        "indicators": [
            {
                "id": "campamentos_vivienda",
                "challenge": "vivienda",
                "label": "Hogares en campamentos (vivienda)",
                "unit": "por 1.000 hab.",
                "source": "MINVU",
                "dataset": "catastro_campamentos",
                "direction": "higher_is_worse",
                "weight": 1.0,
                "variable": "campamentos_hogares_por_mil",
            }
        ],
    }
    catalogue = load_catalogue(override)
    assert catalogue.score_ids == ("agua", "conectividad", "rural_urbano", "vivienda", "compuesto")
    params = ScoringParameters(**FAST)
    result = score_communes(inputs, params, catalogue, raw_indicators=indicators)
    housing = ranked_table(result, "vivienda")
    assert len(housing) == len(inputs.communes) and housing["rank"].min() == 1
    assert housing["rank_p05"].notna().any() and housing["rank_region"].notna().any()
    scores = result.scores
    composite = scores[scores["challenge"] == "compuesto"].set_index("cut")
    scored_challenges = scores[scores["challenge"] != "compuesto"].groupby("cut")["score"].count()
    pd.testing.assert_series_equal(
        composite["challenges_available"], scored_challenges, check_names=False
    )
    assert (composite["challenges_available"] >= 2).all()
    assert "Vivienda precaria" in explain_commune(result, "05101")
    table = rank_sensitivity(
        scored_model(indicators, params, catalogue), params, "compuesto", base_samples=16
    ).table
    assert "peso_vivienda" in set(table["input"])


def test_invariants_of_the_index(inputs, indicators) -> None:
    """A commune best on every indicator ranks last; worsening one indicator never helps it."""
    best = indicators.copy()
    row = best.index[best["cut"] == "05102"][0]
    catalogue = load_catalogue()
    for indicator in catalogue.indicators:
        column = best[indicator.column]
        best.loc[row, indicator.column] = (
            column.max() if indicator.direction == "lower_is_worse" else column.min()
        )
    params = ScoringParameters(draws=0, moran_permutations=99)
    scored = score_communes(inputs, params, raw_indicators=best).scores
    for challenge, table in scored[scored["score"].notna()].groupby("challenge"):
        mine = table[table["cut"] == "05102"].iloc[0]
        assert mine["rank"] == table["rank"].max(), challenge

    worse = indicators.copy()
    row = worse.index[worse["cut"] == "13110"][0]
    worse.loc[row, "pobreza_ingresos_pct"] += 10.0
    before = score_communes(inputs, params, raw_indicators=indicators).scores
    after = score_communes(inputs, params, raw_indicators=worse).scores
    key = (before["cut"] == "13110") & (before["challenge"] == "rural_urbano")
    assert after.loc[key, "score"].iloc[0] >= before.loc[key, "score"].iloc[0]
    assert after.loc[key, "rank"].iloc[0] <= before.loc[key, "rank"].iloc[0]


def test_legacy_uncertainty_is_reachable_by_parameters(inputs, indicators, result) -> None:
    legacy = ScoringParameters.legacy_uncertainty(**FAST)
    assert legacy.weight_spread == 0.5 and legacy.geometric_scale == "offset"
    assert "target" in legacy.drawn_normalizations
    assert not legacy.sample_estimates and not legacy.vary_winsorization
    former = score_communes(inputs, legacy, raw_indicators=indicators).scores
    pd.testing.assert_series_equal(former["score"], result.scores["score"])
    assert not former["rank_p05"].equals(result.scores["rank_p05"])


def test_only_the_published_estimates_vary_when_everything_else_is_fixed(
    inputs, indicators
) -> None:
    params = ScoringParameters(
        draws=200,
        moran_permutations=99,
        weight_spread=0.0,
        vary_methods=False,
        vary_winsorization=False,
    )
    scores = score_communes(inputs, params, raw_indicators=indicators).scores
    scored = scores[scores["score"].notna()]
    water = scored[scored["challenge"] == "agua"]
    # Water has no sampled estimate: every draw is the point estimate.
    assert (water["rank_p05"] == water["rank"]).all() and (water["rank_p95"] == water["rank"]).all()
    social = scored[scored["challenge"] == "rural_urbano"]
    # Poverty estimates drawn within their intervals move some rural-urban ranks.
    assert (social["rank_p95"] > social["rank_p05"]).any()
    fixed = score_communes(
        inputs, params.model_copy(update={"sample_estimates": False}), raw_indicators=indicators
    ).scores
    fixed = fixed[fixed["score"].notna()]
    assert (fixed["rank_p05"] == fixed["rank"]).all()
