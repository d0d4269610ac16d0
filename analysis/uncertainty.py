"""Monte Carlo uncertainty of the ranks, vectorised over draws x communes x indicators.

Each draw multiplies every indicator weight and every challenge weight by an independent
factor drawn uniformly from ``[1 - spread, 1 + spread]`` and, when method variation is on,
picks one normalisation-aggregation pair uniformly among the valid ones. The work loops only
over the (at most seven) method pairs and the challenges; each step is one matrix product
covering all its draws and communes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analysis.aggregation import Aggregation, aggregate, combine_challenges, rank_descending
from analysis.normalisation import Normalization

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

#: Every normalisation-aggregation pair the Monte Carlo may draw. The geometric mean needs
#: non-negative values, so z-scores are only aggregated arithmetically.
VALID_VARIANTS: tuple[tuple[Normalization, Aggregation], ...] = (
    ("minmax", "arithmetic"),
    ("minmax", "geometric"),
    ("rank", "arithmetic"),
    ("rank", "geometric"),
    ("target", "arithmetic"),
    ("target", "geometric"),
    ("zscore", "arithmetic"),
)


@dataclass(frozen=True)
class RankSummary:
    """Per commune and score (challenges then composite): rank distribution over draws.

    All arrays have shape ``(n, c + 1)``; ``NaN`` where the commune has no score.
    """

    median_rank: FloatArray
    rank_p05: FloatArray
    rank_p95: FloatArray
    top_tier_share: FloatArray


def simulate_ranks(
    normalised: Mapping[Normalization, FloatArray],
    membership: IntArray,
    indicator_weights: FloatArray,
    challenge_weights: FloatArray,
    eligible: BoolArray,
    variants: Sequence[tuple[Normalization, Aggregation]],
    draws: int,
    spread: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Draw ranks of every commune for every challenge and the composite.

    Parameters
    ----------
    normalised : mapping
        Normalised matrix ``(n, k)`` for each normalisation used by ``variants``.
    membership : ndarray of int, shape (k,)
        Challenge position of each indicator column.
    indicator_weights : ndarray of shape (k,)
        Default indicator weights.
    challenge_weights : ndarray of shape (c,)
        Default challenge weights in the composite.
    eligible : ndarray of bool, shape (n, c + 1)
        Whether each commune gets a score for each challenge and the composite (decided once
        from the point estimate, so every draw ranks the same set of communes).
    variants : sequence of (normalisation, aggregation)
        Method pairs to draw from, uniformly.
    draws : int
        Number of Monte Carlo draws.
    spread : float
        Half-width of the uniform multiplicative weight perturbation.
    rng : numpy.random.Generator
        Source of randomness; the only one used.

    Returns
    -------
    ndarray of shape (n, c + 1, draws)
        Rank (1 = largest gap) per commune, score and draw; ``NaN`` where not eligible.
    """
    n = eligible.shape[0]
    challenges = len(challenge_weights)
    indicator_factors = rng.uniform(
        1.0 - spread, 1.0 + spread, size=(len(indicator_weights), draws)
    )
    challenge_factors = rng.uniform(1.0 - spread, 1.0 + spread, size=(challenges, draws))
    variant_of_draw = rng.integers(0, len(variants), size=draws)
    drawn_indicator_weights = indicator_weights[:, None] * indicator_factors
    drawn_challenge_weights = challenge_weights[:, None] * challenge_factors

    scores = np.full((n, challenges + 1, draws), np.nan)
    for position, (normalization, aggregation) in enumerate(variants):
        selected = np.flatnonzero(variant_of_draw == position)
        if selected.size == 0:
            continue
        matrix = normalised[normalization]
        per_challenge = np.full((n, challenges, selected.size), np.nan)
        for challenge in range(challenges):
            columns = np.flatnonzero(membership == challenge)
            challenge_scores, _ = aggregate(
                matrix[:, columns], drawn_indicator_weights[columns][:, selected], aggregation
            )
            per_challenge[:, challenge, :] = np.where(
                eligible[:, challenge, None], challenge_scores, np.nan
            )
        composite = combine_challenges(
            per_challenge, drawn_challenge_weights[:, selected], aggregation
        )
        scores[:, :challenges, selected] = per_challenge
        scores[:, challenges, selected] = np.where(eligible[:, challenges, None], composite, np.nan)
    return rank_descending(scores)


def summarise_ranks(
    ranks: FloatArray, point_rank: FloatArray, top_tier_size: FloatArray
) -> RankSummary:
    """Summarise drawn ranks into median, 5-95 % interval and top-tier share.

    Parameters
    ----------
    ranks : ndarray of shape (n, s, d)
        Output of :func:`simulate_ranks`.
    point_rank : ndarray of shape (n, s)
        Rank under the chosen parameters and default weights.
    top_tier_size : ndarray of shape (s,)
        Number of communes in the top tier of the point estimate, per score; a draw puts a
        commune in the top tier when its rank is at most this size.

    Returns
    -------
    RankSummary
        The 5-95 % interval is widened, where needed, to include the point rank: the point
        estimate is itself one admissible configuration, so the reported interval always
        contains the rank that is published next to it.
    """
    with warnings.catch_warnings():
        # Communes without a score have all-NaN draws and keep NaN summaries.
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(ranks, axis=2)
        # Observed ranks, not interpolated ones: "between 8th and 25th" reads naturally.
        low, high = np.nanpercentile(ranks, [5.0, 95.0], axis=2, method="inverted_cdf")
        in_top = (ranks <= top_tier_size[None, :, None]).astype(float)
        drawn = (~np.isnan(ranks)).sum(axis=2)
        share = np.where(drawn > 0, in_top.sum(axis=2) / np.maximum(drawn, 1), np.nan)
    has_point = ~np.isnan(point_rank)
    low = np.where(has_point, np.fmin(low, point_rank), np.nan)
    high = np.where(has_point, np.fmax(high, point_rank), np.nan)
    return RankSummary(
        median_rank=np.where(has_point, median, np.nan),
        rank_p05=low,
        rank_p95=high,
        top_tier_share=np.where(has_point, share, np.nan),
    )
