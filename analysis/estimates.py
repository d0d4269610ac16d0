"""What the scoring stages hand each other: the point estimate and the rank uncertainty.

Kept apart from :mod:`analysis.scoring` (which computes them) and :mod:`analysis.tables`
(which turns them into result tables), so neither of those imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analysis.uncertainty import RankSummary

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PointEstimate:
    """Scores of the point estimate, shape ``(n, c + 1)`` (challenges then composite).

    Attributes
    ----------
    normalised : ndarray of shape (n, k)
        Normalised indicators of the point estimate.
    prepared, prepared_targets : ndarray
        Treated and oriented indicators and targets.
    scores, coverage, ranks, tiers : ndarray of shape (n, c + 1)
    available : ndarray of int, shape (n, c + 1)
        Indicators with data (challenges); indicators summed over challenges (composite).
    total : ndarray of int, shape (c + 1,)
    challenges_available : ndarray of int, shape (n,)
        Challenges the commune has a score for: what its composite rests on.
    eligible : ndarray of bool, shape (n, c + 1)
    """

    normalised: FloatArray
    prepared: FloatArray
    prepared_targets: FloatArray
    scores: FloatArray
    coverage: FloatArray
    available: npt.NDArray[np.int64]
    total: npt.NDArray[np.int64]
    challenges_available: npt.NDArray[np.int64]
    ranks: FloatArray
    tiers: FloatArray
    eligible: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Uncertainty:
    """Rank distributions over the Monte Carlo draws, in the scope and within each region."""

    scope: RankSummary
    region: RankSummary
    region_point_rank: FloatArray
    region_point_tier: FloatArray
