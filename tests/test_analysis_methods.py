"""Maths of the gap scores: normalisation, aggregation, ranks, tiers and Monte Carlo.

Property-based tests (hypothesis) check the invariants the methodology promises; small
hand-computed cases pin the formulas written in docs/methodology.md.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis.aggregation import (
    GEOMETRIC_OFFSET,
    Aggregation,
    aggregate,
    combine_challenges,
    rank_descending,
    tiers,
)
from analysis.model import IndexModel, evaluate_scores, point_configuration
from analysis.normalisation import (
    NORMALIZATIONS,
    Normalization,
    OutlierTreatment,
    normalise,
    prepare_matrix,
    winsorise,
)
from analysis.uncertainty import (
    UncertaintySettings,
    draw_configurations,
    summarise_ranks,
)

TREATMENTS = ("log_winsorize", "winsorize", "log", "none")
#: Normalisation-aggregation pairs of aggregate(): its geometric mean uses the 0.01 offset,
#: which needs values >= 0, so z-scores are aggregated arithmetically only.
VALID_VARIANTS = (
    ("minmax", "arithmetic"),
    ("minmax", "geometric"),
    ("rank", "arithmetic"),
    ("rank", "geometric"),
    ("target", "arithmetic"),
    ("target", "geometric"),
    ("zscore", "arithmetic"),
)
PROPERTY_SETTINGS = settings(max_examples=50, deadline=None)


@st.composite
def indicator_matrices(
    draw: st.DrawFn, min_rows: int = 3, max_rows: int = 25, max_cols: int = 5
) -> np.ndarray:
    """Matrices communes x indicators with roughly one value in five missing."""
    rows = draw(st.integers(min_rows, max_rows))
    cols = draw(st.integers(1, max_cols))
    values = draw(
        arrays(
            np.float64,
            (rows, cols),
            elements=st.floats(-1000, 1000, allow_nan=False, allow_subnormal=False),
        )
    )
    missing = draw(arrays(np.bool_, (rows, cols), elements=st.sampled_from([False] * 4 + [True])))
    values[missing] = np.nan
    return values


@st.composite
def scoring_setups(draw: st.DrawFn) -> dict:
    """A matrix plus everything the pipeline needs: directions, weights, methods, targets."""
    matrix = draw(indicator_matrices())
    cols = matrix.shape[1]
    normalization, aggregation = draw(st.sampled_from(VALID_VARIANTS))
    targets = draw(
        arrays(np.float64, cols, elements=st.one_of(st.just(np.nan), st.floats(-500, 500)))
    )
    return {
        "matrix": matrix,
        "higher": draw(arrays(np.bool_, cols)),
        "skewed": draw(arrays(np.bool_, cols)),
        "treatment": draw(st.sampled_from(TREATMENTS)),
        "quantile": draw(st.sampled_from([0.0, 0.025, 0.1])),
        "normalization": normalization,
        "aggregation": aggregation,
        "weights": draw(arrays(np.float64, cols, elements=st.floats(0.05, 10))),
        "targets": targets,
    }


def pipeline_scores(setup: dict, matrix: np.ndarray) -> np.ndarray:
    prepared, goals = prepare_matrix(
        matrix,
        setup["higher"],
        setup["skewed"],
        setup["treatment"],
        setup["quantile"],
        setup["targets"],
    )
    normalised = normalise(prepared, setup["normalization"], goals)
    scores, _ = aggregate(normalised, setup["weights"], setup["aggregation"])
    return scores


# ------------------------------------------------------------------------ properties


@PROPERTY_SETTINGS
@given(setup=scoring_setups(), data=st.data())
def test_a_worse_indicator_never_lowers_the_gap_score(setup: dict, data: st.DataObject) -> None:
    matrix = setup["matrix"]
    present = np.argwhere(~np.isnan(matrix))
    assume(len(present) > 0)
    row, col = data.draw(st.sampled_from([tuple(p) for p in present.tolist()]))
    step = data.draw(st.floats(0.001, 500))
    worse = matrix.copy()
    worse[row, col] += step if setup["higher"][col] else -step

    before = pipeline_scores(setup, matrix)[row]
    after = pipeline_scores(setup, worse)[row]

    assert after >= before - 1e-9


@PROPERTY_SETTINGS
@given(
    matrix=indicator_matrices(),
    method=st.sampled_from(NORMALIZATIONS),
    treatment=st.sampled_from(TREATMENTS),
    data=st.data(),
)
def test_normalised_values_stay_in_range_and_keep_missing(
    matrix: np.ndarray, method: Normalization, treatment: OutlierTreatment, data: st.DataObject
) -> None:
    cols = matrix.shape[1]
    higher = data.draw(arrays(np.bool_, cols))
    skewed = data.draw(arrays(np.bool_, cols))
    targets = data.draw(
        arrays(np.float64, cols, elements=st.one_of(st.just(np.nan), st.floats(-500, 500)))
    )
    prepared, goals = prepare_matrix(matrix, higher, skewed, treatment, 0.025, targets)
    normalised = normalise(prepared, method, goals)

    assert np.array_equal(np.isnan(normalised), np.isnan(matrix))
    values = normalised[~np.isnan(normalised)]
    if method == "zscore":
        # Samuelson's inequality: |z| <= sqrt(m - 1) with m values in the column.
        bound = math.sqrt(max(matrix.shape[0] - 1, 1))
        assert np.all(np.abs(values) <= bound + 1e-9)
    else:
        assert np.all((values >= 0.0) & (values <= 1.0))


@PROPERTY_SETTINGS
@given(setup=scoring_setups(), factor=st.floats(0.001, 1000))
def test_scaling_all_weights_changes_nothing(setup: dict, factor: float) -> None:
    prepared, goals = prepare_matrix(
        setup["matrix"],
        setup["higher"],
        setup["skewed"],
        setup["treatment"],
        0.025,
        setup["targets"],
    )
    normalised = normalise(prepared, setup["normalization"], goals)
    base, base_coverage = aggregate(normalised, setup["weights"], setup["aggregation"])
    scaled, scaled_coverage = aggregate(normalised, setup["weights"] * factor, setup["aggregation"])

    np.testing.assert_allclose(scaled, base, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(scaled_coverage, base_coverage, rtol=1e-9)
    np.testing.assert_array_equal(rank_descending(scaled), rank_descending(base))


@PROPERTY_SETTINGS
@given(
    row=arrays(np.float64, st.integers(2, 6), elements=st.floats(0, 1, allow_subnormal=False)),
    weights_seed=st.integers(0, 2**16),
    aggregation=st.sampled_from(("arithmetic", "geometric")),
    data=st.data(),
)
def test_missing_data_never_counts_as_a_perfect_score(
    row: np.ndarray, weights_seed: int, aggregation: Aggregation, data: st.DataObject
) -> None:
    weights = np.random.default_rng(weights_seed).uniform(0.1, 2.0, row.size)
    missing = data.draw(st.integers(0, row.size - 1))
    with_gap = row.copy()
    with_gap[missing] = np.nan
    perfect = row.copy()
    perfect[missing] = 0.0  # the best normalised value: no gap at all

    score_missing, coverage = aggregate(with_gap[None, :], weights, aggregation)
    score_perfect, _ = aggregate(perfect[None, :], weights, aggregation)

    assert score_missing[0] >= score_perfect[0] - 1e-12
    others = np.delete(row, missing)
    if aggregation == "arithmetic" and np.any(others > 0):
        assert score_missing[0] > score_perfect[0]
    assert coverage[0] == pytest.approx(1.0 - weights[missing] / weights.sum())
    all_missing, no_coverage = aggregate(np.full((1, row.size), np.nan), weights, aggregation)
    assert math.isnan(all_missing[0])
    assert no_coverage[0] == 0.0


def synthetic_model(matrix: np.ndarray, weights: np.ndarray) -> IndexModel:
    """Two challenges alternating over the columns, every commune eligible."""
    cols = matrix.shape[1]
    membership = np.array([c % 2 for c in range(cols)], dtype=np.int64)
    challenges = int(membership.max()) + 1
    present = ~np.isnan(matrix)
    eligible = np.ones((matrix.shape[0], challenges + 1), dtype=bool)
    for c in range(challenges):
        eligible[:, c] = present[:, membership == c].any(axis=1)
    eligible[:, challenges] = eligible[:, :challenges].any(axis=1)
    return IndexModel(
        values=matrix,
        higher_is_worse=np.ones(cols, bool),
        skewed=np.zeros(cols, bool),
        unsupported=np.zeros(cols, bool),
        membership=membership,
        indicator_weights=weights,
        challenge_weights=np.ones(challenges),
        targets=np.full(cols, np.nan),
        log_skewed=False,
        winsor_quantile=0.025,
        eligible=eligible,
        estimates=(),
    )


@PROPERTY_SETTINGS
@given(matrix=indicator_matrices(min_rows=4, max_cols=4), data=st.data())
def test_reported_interval_is_the_simulations_own_percentiles(
    matrix: np.ndarray, data: st.DataObject
) -> None:
    weights = data.draw(arrays(np.float64, matrix.shape[1], elements=st.floats(0.1, 5)))
    model = synthetic_model(matrix, weights)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32)))
    configs = draw_configurations(model, UncertaintySettings(), 41, rng)
    ranks = rank_descending(evaluate_scores(model, configs))
    top = np.full(ranks.shape[1], 2.0)
    summary = summarise_ranks(ranks, top)

    scored = model.eligible
    for row, score in zip(*np.nonzero(scored), strict=True):
        drawn = np.sort(ranks[row, score])
        # inverted_cdf: the smallest observed rank whose cumulative share reaches 5 % / 95 %.
        assert summary.rank_p05[row, score] == drawn[math.ceil(0.05 * drawn.size) - 1]
        assert summary.rank_p95[row, score] == drawn[math.ceil(0.95 * drawn.size) - 1]
        assert summary.median_rank[row, score] == np.median(drawn)
        assert summary.top_tier_share[row, score] == pytest.approx(np.mean(drawn <= 2))
    assert np.all(np.isnan(summary.median_rank[~scored]))


def test_geometric_mean_on_the_rescaled_scale_survives_a_best_value() -> None:
    # Commune 0 is best (0) on one indicator and worst on the other: the former offset mean
    # collapses it to the bottom; on [1, 100] it stays between the others.
    matrix = np.array([[0.0, 10.0], [5.0, 5.0], [10.0, 0.0], [6.0, 6.0]])
    single = replace(
        synthetic_model(matrix, np.ones(2)),
        membership=np.zeros(2, dtype=np.int64),
        challenge_weights=np.ones(1),
        eligible=np.ones((4, 2), dtype=bool),
    )
    rescaled = evaluate_scores(single, point_configuration(single, "minmax", "geometric", False))
    offset = evaluate_scores(
        replace(single, geometric_scale="offset"),
        point_configuration(single, "minmax", "geometric", False),
    )
    assert rescaled[:, 0, 0] == pytest.approx([10.0, 50.5, 10.0, 60.4])
    assert offset[0, 0, 0] == pytest.approx(math.sqrt(0.01 * 1.01) - 0.01)


# ------------------------------------------------------------------ hand-computed cases


def test_minmax_rank_and_zscore_by_hand() -> None:
    column = np.array([[0.0], [5.0], [10.0]])
    np.testing.assert_allclose(normalise(column, "minmax")[:, 0], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(
        normalise(np.array([[3.0], [1.0], [2.0]]), "rank")[:, 0], [1.0, 0.0, 0.5]
    )
    np.testing.assert_allclose(
        normalise(np.array([[1.0], [2.0], [3.0]]), "zscore")[:, 0],
        [-math.sqrt(1.5), 0.0, math.sqrt(1.5)],
    )
    ties = normalise(np.array([[1.0], [1.0], [4.0], [np.nan]]), "rank")[:, 0]
    np.testing.assert_allclose(ties[:3], [0.25, 0.25, 1.0])
    assert math.isnan(ties[3])


def test_constant_indicator_is_neutral() -> None:
    constant = np.array([[7.0], [7.0], [np.nan]])
    np.testing.assert_allclose(normalise(constant, "minmax")[:2, 0], [0.5, 0.5])
    np.testing.assert_allclose(normalise(constant, "zscore")[:2, 0], [0.0, 0.0])


def test_distance_to_target_by_hand() -> None:
    values = np.array([[0.0, 2.0], [5.0, 4.0], [10.0, 6.0]])
    normalised = normalise(values, "target", np.array([5.0, np.nan]))
    # Column 0: max(0, x - 5) / (10 - 5); column 1 has no target and falls back to min-max.
    np.testing.assert_allclose(normalised[:, 0], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(normalised[:, 1], [0.0, 0.5, 1.0])
    met = normalise(np.array([[1.0], [2.0]]), "target", np.array([3.0]))
    np.testing.assert_allclose(met[:, 0], [0.0, 0.0])


def test_orientation_log_and_winsorising_by_hand() -> None:
    raw = np.array([[0.0, 10.0], [math.e - 1.0, 20.0], [np.nan, 30.0]])
    prepared, goals = prepare_matrix(
        raw, np.array([True, False]), np.array([True, False]), "log", 0.0, np.array([0.0, 25.0])
    )
    np.testing.assert_allclose(prepared[:2, 0], [0.0, 1.0])
    assert math.isnan(prepared[2, 0])
    np.testing.assert_allclose(prepared[:, 1], [-10.0, -20.0, -30.0])
    np.testing.assert_allclose(goals, [0.0, -25.0])

    spread = np.arange(101, dtype=float)[:, None]
    clipped = winsorise(spread, 0.025)[:, 0]
    assert clipped.min() == pytest.approx(2.5)
    assert clipped.max() == pytest.approx(97.5)


def test_aggregation_by_hand() -> None:
    row = np.array([[0.2, np.nan, 0.8]])
    score, coverage = aggregate(row, np.array([1.0, 1.0, 2.0]), "arithmetic")
    assert score[0] == pytest.approx((0.2 * 1 + 0.8 * 2) / 3)
    assert coverage[0] == pytest.approx(3 / 4)

    geometric, _ = aggregate(np.array([[0.25, 1.0]]), np.array([1.0, 1.0]), "geometric")
    eps = GEOMETRIC_OFFSET
    assert geometric[0] == pytest.approx(math.sqrt((0.25 + eps) * (1.0 + eps)) - eps)

    composite = combine_challenges(
        np.array([[[0.5], [np.nan], [0.2]]]), np.array([[2.0], [1.0], [1.0]]), "arithmetic"
    )
    assert composite[0, 0] == pytest.approx((0.5 * 2 + 0.2) / 3)


def test_ranks_are_competition_ranks_with_gaps_for_missing() -> None:
    ranks = rank_descending(np.array([0.5, 0.9, 0.5, np.nan, 0.1]))
    np.testing.assert_array_equal(ranks[[0, 1, 2, 4]], [2.0, 1.0, 2.0, 4.0])
    assert math.isnan(ranks[3])
    # Equal up to rounding noise is a tie.
    np.testing.assert_array_equal(rank_descending(np.array([1 / 3, 2 / 6 + 1e-15])), [1.0, 1.0])


def test_tiers_put_the_largest_gaps_in_tier_one() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, np.nan])
    quantile_tiers = tiers(scores, 5, "quantiles")
    np.testing.assert_array_equal(quantile_tiers[:10], [5, 5, 4, 4, 3, 3, 2, 2, 1, 1])
    assert math.isnan(quantile_tiers[10])
    breaks = tiers(np.array([0.0, 0.01, 0.02, 0.9, 0.95, 1.0]), 2, "natural_breaks")
    np.testing.assert_array_equal(breaks, [2, 2, 2, 1, 1, 1])
    # Fewer distinct scores than tiers: only as many tiers as values, still starting at 1.
    np.testing.assert_array_equal(tiers(np.array([0.3, 0.3, 0.8]), 5, "quantiles"), [2, 2, 1])


@settings(max_examples=80, deadline=None)
@given(
    arrays(np.float64, st.integers(2, 60), elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]))
    | arrays(np.float64, st.integers(2, 60), elements=st.floats(0, 1)),
    st.integers(2, 7),
)
def test_quantile_tiers_are_mapclassify_quantiles(scores, tier_count) -> None:
    # tiers() skips Quantiles' summary statistics: the classes must stay Quantiles' own.
    import warnings

    import mapclassify

    classes = min(tier_count, np.unique(scores).size)
    assume(classes > 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bins = np.asarray(mapclassify.Quantiles(scores, k=classes).yb)
    got = tiers(scores, tier_count, "quantiles")
    # The same classes, numbered from the largest gaps down.
    used = np.unique(bins)
    np.testing.assert_array_equal(got, used.size - np.searchsorted(used, bins))
