"""Aggregation of normalised indicators into challenge scores, ranks and priority tiers.

Missing-data rule: a commune's score is the weighted mean over the indicators it has,
with the weights re-scaled to sum to one over those indicators; the share of the
challenge's weight actually present is its *coverage*. A score whose coverage is below the
minimum is not computed at all (``NaN``), so a missing indicator never reads as "no gap".
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

from domain.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]
Aggregation = Literal["arithmetic", "geometric"]
TierMethod = Literal["quantiles", "natural_breaks"]
AGGREGATIONS: tuple[Aggregation, ...] = ("arithmetic", "geometric")
#: Shift applied before the logarithm of the geometric mean, so a zero gap stays defined:
#: score = exp(sum w * ln(v + eps)) - eps, still in [0, 1] when v is.
GEOMETRIC_OFFSET = 0.01
#: Decimals at which scores are compared for ranking.
RANK_DECIMALS = 12


def aggregate(
    normalised: FloatArray, weights: FloatArray, method: Aggregation
) -> tuple[FloatArray, FloatArray]:
    """Aggregate indicator columns into one score per commune, for one or many weight sets.

    Parameters
    ----------
    normalised : ndarray of shape (n, k)
        Normalised values, ``NaN`` where missing.
    weights : ndarray of shape (k,) or (k, d)
        Non-negative weights; a 2-D array gives ``d`` weight sets (Monte Carlo draws).
    method : {"arithmetic", "geometric"}
        Weighted arithmetic mean, or shifted weighted geometric mean
        (see :data:`GEOMETRIC_OFFSET`; requires values >= 0).

    Returns
    -------
    scores : ndarray of shape (n,) or (n, d)
        ``NaN`` where the commune has no indicator with positive weight.
    coverage : ndarray of shape (n,) or (n, d)
        Share of the total weight carried by the indicators present, in [0, 1].
    """
    single = weights.ndim == 1
    weight_sets = weights[:, None] if single else weights
    present = ~np.isnan(normalised)
    available_weight = present.astype(float) @ weight_sets
    total_weight = weight_sets.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "arithmetic":
            numerator = np.where(present, normalised, 0.0) @ weight_sets
            scores = numerator / available_weight
        elif method == "geometric":
            logs = np.where(
                present, np.log(np.where(present, normalised, 0.0) + GEOMETRIC_OFFSET), 0.0
            )
            scores = np.exp((logs @ weight_sets) / available_weight) - GEOMETRIC_OFFSET
        else:
            raise InvalidInputError(
                f"Agregación desconocida {method!r}; opciones: {', '.join(AGGREGATIONS)}"
            )
        coverage = available_weight / np.where(total_weight > 0, total_weight, 1.0)
    scores = np.where(available_weight > 0, scores, np.nan)
    if single:
        return scores[:, 0], coverage[:, 0]
    return scores, coverage


def combine_challenges(
    challenge_scores: FloatArray, weights: FloatArray, method: Aggregation
) -> FloatArray:
    """Combine challenge scores into the composite, draw by draw.

    Parameters
    ----------
    challenge_scores : ndarray of shape (n, c, d)
        Score of each commune, challenge and draw; ``NaN`` where not computed.
    weights : ndarray of shape (c, d)
        Challenge weights of each draw.
    method : {"arithmetic", "geometric"}
        Same rule as :func:`aggregate`, including the re-weighting over the challenges
        present.

    Returns
    -------
    ndarray of shape (n, d)
        Composite scores.
    """
    present = ~np.isnan(challenge_scores)
    available_weight = np.einsum("ncd,cd->nd", present.astype(float), weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "arithmetic":
            filled = np.where(present, challenge_scores, 0.0)
            scores = np.einsum("ncd,cd->nd", filled, weights) / available_weight
        elif method == "geometric":
            logs = np.where(
                present,
                np.log(np.where(present, challenge_scores, 0.0) + GEOMETRIC_OFFSET),
                0.0,
            )
            scores = (
                np.exp(np.einsum("ncd,cd->nd", logs, weights) / available_weight) - GEOMETRIC_OFFSET
            )
        else:
            raise InvalidInputError(
                f"Agregación desconocida {method!r}; opciones: {', '.join(AGGREGATIONS)}"
            )
    return np.where(available_weight > 0, scores, np.nan)


def rank_descending(scores: FloatArray) -> FloatArray:
    """Rank communes so that 1 is the largest gap, along axis 0.

    Ties share the best rank (competition ranking: 1, 2, 2, 4); ``NaN`` scores get ``NaN``.
    Scores are compared at 12 decimals, so two scores equal up to floating-point rounding
    (e.g. the same weights written as 1/3 or as 2/6) tie instead of being ordered by noise.
    Works on one score vector ``(n,)`` or on many draws ``(n, d)`` at once.
    """
    rounded = np.round(np.asarray(scores, dtype=float), RANK_DECIMALS)
    ranks: FloatArray = rankdata(-rounded, method="min", axis=0, nan_policy="omit")
    return ranks


def tiers(scores: FloatArray, tier_count: int, method: TierMethod) -> FloatArray:
    """Classify scores into priority tiers, 1 being the largest gaps.

    Parameters
    ----------
    scores : ndarray of shape (n,)
        Scores; ``NaN`` gets no tier.
    tier_count : int
        Number of tiers wanted. Fewer are used when there are fewer distinct scores.
    method : {"quantiles", "natural_breaks"}
        ``mapclassify.Quantiles`` (equal counts) or ``mapclassify.FisherJenks`` (optimal
        natural breaks, deterministic unlike k-means based ``NaturalBreaks``).

    Returns
    -------
    ndarray of shape (n,)
        Tier of each commune as float (``NaN`` where no score).
    """
    result = np.full(scores.shape, np.nan)
    present = ~np.isnan(scores)
    values = scores[present]
    distinct = np.unique(values).size
    if distinct == 0:
        return result
    classes = min(tier_count, distinct)
    if classes == 1:
        result[present] = 1.0
        return result
    # Imported here: mapclassify pulls in matplotlib, seconds that most commands never need.
    import mapclassify

    with warnings.catch_warnings():
        # mapclassify warns when ties make a quantile bin empty; bins are re-counted below.
        warnings.simplefilter("ignore")
        if method == "quantiles":
            # What mapclassify.Quantiles(values, k=classes).yb is, without the summary
            # statistics it also computes (two thirds of its time, unused here).
            classified = mapclassify.classifiers.bin1d(
                values, mapclassify.classifiers.quantile(values, k=classes)
            )[0]
        elif method == "natural_breaks":
            classified = mapclassify.FisherJenks(values, k=classes).yb
        else:
            raise InvalidInputError(f"Método de tramos desconocido {method!r}")
    bins = np.asarray(classified)
    # Re-number the bins actually used so the top tier is always 1.
    used = np.unique(bins)
    position = np.searchsorted(used, bins)
    result[present] = used.size - position
    return result
