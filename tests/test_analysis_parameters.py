"""Scoring parameters, method choices and catalogue overrides on the synthetic territory."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import (
    ScoringParameters,
    explain_commune,
    load_catalogue,
    ranked_table,
    score_communes,
)
from tests.analysis_fixtures import FAST, indicators_fixture, inputs_fixture  # noqa: F401 - fixtures


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
