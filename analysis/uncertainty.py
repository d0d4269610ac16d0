"""Uncertainty of the ranks, JRC/COINr style: the Monte Carlo and what it reports.

:func:`draw_configurations` draws random configurations of the index (weights, normalisation,
aggregation, winsorisation, published estimates within their intervals);
:func:`analysis.model.evaluate_scores` scores every commune under all of them at once, and
:func:`summarise_ranks` turns the drawn ranks into a median, an interval and a top-tier share.
The ``regional_*`` helpers rank and tier communes within their own region.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analysis.aggregation import Aggregation, TierMethod, rank_descending, tiers
from analysis.model import AGGREGATION_ORDER, Configurations, FloatArray, IndexModel
from analysis.normalisation import Normalization


@dataclass(frozen=True)
class UncertaintySettings:
    """What the Monte Carlo varies (JRC/COINr defaults; the former scheme by parameters).

    Attributes
    ----------
    weight_spread : float
        Weights drawn uniformly in ``[1 - spread, 1 + spread]`` times their default.
    normalisations : tuple of str
        Normalisations drawn uniformly.
    aggregations : tuple of str
        Aggregations drawn uniformly.
    vary_winsorisation : bool
        Whether winsorisation is switched on or off at random (half the draws each).
    sample_estimates : bool
        Whether published estimates are drawn within their confidence intervals.
    """

    weight_spread: float = 0.25
    normalisations: tuple[Normalization, ...] = ("minmax", "zscore", "rank")
    aggregations: tuple[Aggregation, ...] = ("arithmetic", "geometric")
    vary_winsorisation: bool = True
    sample_estimates: bool = True


@dataclass(frozen=True)
class RankSummary:
    """Per commune and score (challenges then composite): the rank distribution over draws.

    All arrays have shape ``(n, c + 1)``; ``NaN`` where the commune has no score. The
    interval is exactly the 5th and 95th percentiles of the drawn ranks (observed ranks,
    ``inverted_cdf``); it is never widened to contain the point rank.
    """

    median_rank: FloatArray
    rank_p05: FloatArray
    rank_p95: FloatArray
    top_tier_share: FloatArray


def draw_configurations(
    model: IndexModel, settings: UncertaintySettings, draws: int, rng: np.random.Generator
) -> Configurations:
    """Draw ``draws`` random configurations (the Monte Carlo of the uncertainty analysis).

    The geometric mean on the former ``offset`` scale needs values >= 0, so with that scale
    a draw that picks z-scores is aggregated arithmetically.
    """
    k, c = model.values.shape[1], model.challenges
    spread = settings.weight_spread
    indicator_factors = rng.uniform(1.0 - spread, 1.0 + spread, size=(k, draws))
    challenge_factors = rng.uniform(1.0 - spread, 1.0 + spread, size=(c, draws))
    normalisation = rng.integers(0, len(settings.normalisations), size=draws)
    chosen = rng.integers(0, len(settings.aggregations), size=draws)
    aggregation = np.array(
        [AGGREGATION_ORDER.index(settings.aggregations[i]) for i in chosen], dtype=np.int64
    ).reshape(draws)
    if model.geometric_scale == "offset":
        is_z = np.array([settings.normalisations[i] == "zscore" for i in normalisation], bool)
        aggregation = np.where(is_z.reshape(draws), 0, aggregation)
    winsorise = (
        rng.random(draws) < 0.5
        if settings.vary_winsorisation
        else np.full(draws, model.winsorise_default)
    )
    estimate_values = tuple(
        estimate.realise(rng.standard_normal((estimate.point.size, draws)))
        if settings.sample_estimates
        else np.repeat(estimate.point[:, None], draws, axis=1)
        for estimate in model.estimates
    )
    return Configurations(
        indicator_factors=indicator_factors,
        challenge_factors=challenge_factors,
        normalisation=normalisation.astype(np.int64),
        normalisations=settings.normalisations,
        aggregation=aggregation,
        winsorise=np.asarray(winsorise, dtype=bool),
        estimate_values=estimate_values,
    )


def summarise_ranks(ranks: FloatArray, top_tier_size: FloatArray) -> RankSummary:
    """Median, 5-95 % interval and top-tier share of drawn ranks.

    Parameters
    ----------
    ranks : ndarray of shape (n, s, d)
        Drawn ranks (1 = largest gap), ``NaN`` where not scored.
    top_tier_size : ndarray of shape (s,) or (n, s)
        Size of the top tier of the point estimate (per score, or per commune and score for
        regional ranks); a draw puts a commune in the top tier when its rank is at most this.

    Returns
    -------
    RankSummary
        The interval is the simulation's own percentiles, never adjusted.
    """
    top = np.broadcast_to(np.asarray(top_tier_size, dtype=float), ranks.shape[:2])
    with warnings.catch_warnings():
        # Communes without a score have all-NaN draws and keep NaN summaries.
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(ranks, axis=2)
        # Observed ranks, not interpolated ones: "between 8th and 25th" reads naturally.
        low, high = np.nanpercentile(ranks, [5.0, 95.0], axis=2, method="inverted_cdf")
        in_top = (ranks <= top[:, :, None]).astype(float)
        drawn = (~np.isnan(ranks)).sum(axis=2)
        share = np.where(drawn > 0, in_top.sum(axis=2) / np.maximum(drawn, 1), np.nan)
    return RankSummary(median_rank=median, rank_p05=low, rank_p95=high, top_tier_share=share)


def regional_ranks(scores: FloatArray, regions: npt.ArrayLike) -> FloatArray:
    """Rank communes within their own region, along axis 0, for any trailing shape."""
    ranks = np.full(scores.shape, np.nan)
    labels = np.asarray(regions)
    for region in np.unique(labels):
        rows = np.flatnonzero(labels == region)
        ranks[rows] = rank_descending(scores[rows])
    return ranks


def regional_tiers(
    point_scores: FloatArray, regions: npt.ArrayLike, tier_count: int, method: TierMethod
) -> FloatArray:
    """Per commune and score: its priority tier among the communes of its own region.

    The same rule as the scope's tiers (:func:`analysis.aggregation.tiers`), applied region by
    region, so a regional view can show "tramo 1 de la región" beside the national tier.
    """
    result = np.full(point_scores.shape, np.nan)
    labels = np.asarray(regions)
    for region in np.unique(labels):
        rows = np.flatnonzero(labels == region)
        for s in range(point_scores.shape[1]):
            result[rows, s] = tiers(point_scores[rows, s], tier_count, method)
    return result


def regional_top_sizes(region_tiers: FloatArray, regions: npt.ArrayLike) -> FloatArray:
    """Per commune and score: how many communes of its region are in the region's top tier."""
    sizes = np.full(region_tiers.shape, np.nan)
    labels = np.asarray(regions)
    for region in np.unique(labels):
        rows = np.flatnonzero(labels == region)
        sizes[rows] = (region_tiers[rows] == 1).sum(axis=0).astype(float)
    return sizes
