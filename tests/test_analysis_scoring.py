"""End-to-end scoring on the synthetic territory of tests/analysis_fixtures.py.

Indicators are tested in tests/test_analysis_indicators.py, other parameters and catalogue
overrides in tests/test_analysis_parameters.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import (
    SCORE_COLUMNS,
    ScoringParameters,
    explain_commune,
    load_catalogue,
    ranked_table,
    score_communes,
)
from analysis.geometry import contiguity, geometries
from analysis.inputs import AnalysisInputs
from analysis.scoring import live_scores, scope_graph
from tests.analysis_fixtures import (  # noqa: F401 - fixtures
    APR_CUTS,
    FAST,
    ISLAND_CUT,
    NO_POLYGON_CUT,
    indicators_fixture,
    inputs_fixture,
    result_fixture,
)


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


def test_indicators_with_too_few_communes_are_left_out_for_everyone(result) -> None:
    # The comparability rule (catalogue settings.min_indicator_share): APR data for a few
    # communes leaves the APR indicators out of the scope, for the communes that have them too.
    water = result.scores[result.scores["challenge"] == "agua"].set_index("cut")
    share = len(APR_CUTS) / len(water)
    assert share < result.catalogue.settings.min_indicator_share
    apr = {i.id for i in result.catalogue.indicators_of("agua") if i.id.startswith("apr")}
    used = result.reference.set_index("indicator")["used"]
    assert (
        not used[list(apr)].any()
        and used.drop(list(apr))[lambda u: u.index.str.startswith("agua")].all()
    )
    assert water["score"].notna().all()
    # Coverage is a share of the weight of the indicators that enter: the same for all.
    assert np.allclose(water["coverage"], 1.0)
    assert (water["indicators_available"] == 2).all() and (water["indicators_total"] == 2).all()
    note = result.notes.set_index("challenge").loc["agua", "note"]
    assert "fuera del puntaje" in note and "mismos indicadores" in note


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


def test_live_scores_are_the_stored_runs_scores_without_its_other_tables(
    inputs, indicators
) -> None:
    # What /gaps computes is the scores table of a full scoring, explanations included: for the
    # nation and a region, with and without draws, with weights of its own.
    for params in (
        ScoringParameters(**FAST),
        ScoringParameters(draws=0, region="13", challenge_weights={"agua": 2.5}),
        ScoringParameters(draws=0, normalization="zscore", indicator_weights={"apr_minutos": 0}),
    ):
        full = score_communes(inputs, params, raw_indicators=indicators)
        live = live_scores(indicators, params)
        pd.testing.assert_frame_equal(live.scores, full.scores)
        pd.testing.assert_frame_equal(live.notes, full.notes)
        assert live.catalogue == full.catalogue and live.scope_label == full.scope_label
        assert all(live.ranked_count(s) == full.ranked_count(s) for s in full.catalogue.score_ids)


def test_a_neighbour_graph_built_once_gives_the_same_run(inputs, indicators, result) -> None:
    national = scope_graph(inputs, indicators, None)
    given = score_communes(
        inputs, ScoringParameters(**FAST), raw_indicators=indicators, graph=national
    )
    assert given.digest() == result.digest()
    regional_params = ScoringParameters(**FAST, region="13")
    regional = scope_graph(inputs, indicators, "13")
    assert len(regional.cuts) == 15
    assert (
        score_communes(inputs, regional_params, raw_indicators=indicators, graph=regional).digest()
        == score_communes(inputs, regional_params, raw_indicators=indicators).digest()
    )
    with pytest.raises(ValueError, match="grafo de vecinos"):
        score_communes(inputs, regional_params, raw_indicators=indicators, graph=national)
    with pytest.raises(ValueError, match="Región desconocida"):
        scope_graph(inputs, indicators, "09")


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


def test_legacy_uncertainty_is_reachable_by_parameters(inputs, indicators, result) -> None:
    legacy = ScoringParameters.legacy_uncertainty(**FAST)
    assert legacy.weight_spread == 0.5 and legacy.geometric_scale == "offset"
    assert "target" in legacy.drawn_normalizations
    assert not legacy.sample_estimates and not legacy.vary_winsorization
    former = score_communes(inputs, legacy, raw_indicators=indicators).scores
    pd.testing.assert_series_equal(former["score"], result.scores["score"])
    assert not former["rank_p05"].equals(result.scores["rank_p05"])
