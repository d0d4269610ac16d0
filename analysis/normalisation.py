"""Outlier treatment and normalisation of an indicator matrix (communes x indicators).

Every function takes and returns plain numpy arrays; ``NaN`` marks a missing value and is
never replaced here. After :func:`prepare_matrix` every column is oriented so that a larger
value means a larger gap, which lets every normaliser treat all indicators alike.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

from domain.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Normalization = Literal["minmax", "zscore", "rank", "target"]
OutlierTreatment = Literal["log_winsorize", "winsorize", "log", "none"]
NORMALIZATIONS: tuple[Normalization, ...] = ("minmax", "zscore", "rank", "target")
#: Value given to every commune when an indicator does not vary in the scope: neutral, so it
#: changes no ranking under arithmetic aggregation.
CONSTANT_COLUMN_VALUE = 0.5


def signed_log1p(values: FloatArray) -> FloatArray:
    """Return ``sign(x) * log(1 + |x|)``: monotone, defined for negative values too."""
    return np.sign(values) * np.log1p(np.abs(values))


def prepare_matrix(
    raw: FloatArray,
    higher_is_worse: BoolArray,
    skewed: BoolArray,
    treatment: OutlierTreatment,
    winsor_quantile: float,
    targets: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Transform skewed columns, orient every column and winsorise.

    Parameters
    ----------
    raw : ndarray of shape (n, k)
        Raw indicator values; ``NaN`` is missing.
    higher_is_worse : ndarray of bool, shape (k,)
        ``True`` where a larger raw value is a larger gap.
    skewed : ndarray of bool, shape (k,)
        Columns log-transformed when ``treatment`` includes ``log``.
    treatment : {"log_winsorize", "winsorize", "log", "none"}
        Outlier treatment.
    winsor_quantile : float
        Lower tail share clipped by winsorisation; the upper limit is ``1 - winsor_quantile``.
    targets : ndarray of shape (k,), optional
        Raw target values (``NaN`` where none); transformed and oriented like the values.

    Returns
    -------
    prepared : ndarray of shape (n, k)
        Oriented values (larger = larger gap), same ``NaN`` pattern as ``raw``.
    prepared_targets : ndarray of shape (k,)
        Targets on the prepared scale (winsorisation does not move targets).
    """
    values = np.array(raw, dtype=float, copy=True)
    goals = (
        np.full(values.shape[1], np.nan)
        if targets is None
        else np.array(targets, dtype=float, copy=True)
    )
    if treatment in ("log", "log_winsorize"):
        values[:, skewed] = signed_log1p(values[:, skewed])
        goals[skewed] = signed_log1p(goals[skewed])
    sign = np.where(higher_is_worse, 1.0, -1.0)
    values *= sign
    goals *= sign
    if treatment in ("winsorize", "log_winsorize") and winsor_quantile > 0:
        values = winsorise(values, winsor_quantile)
    return values, goals


def winsorise(values: FloatArray, quantile: float) -> FloatArray:
    """Clip each column to its ``[quantile, 1 - quantile]`` empirical quantiles.

    Quantiles use linear interpolation between order statistics (numpy's default) and ignore
    missing values. Clipping is monotone, so a commune's order is never reversed.
    """
    with warnings.catch_warnings():
        # All-NaN columns (indicator absent from the scope) legitimately stay NaN.
        warnings.simplefilter("ignore", RuntimeWarning)
        low = np.nanquantile(values, quantile, axis=0)
        high = np.nanquantile(values, 1.0 - quantile, axis=0)
    return np.clip(values, low, high)


def normalise(
    prepared: FloatArray, method: Normalization, prepared_targets: FloatArray | None = None
) -> FloatArray:
    """Normalise each column of an oriented matrix (larger = larger gap).

    Parameters
    ----------
    prepared : ndarray of shape (n, k)
        Output of :func:`prepare_matrix`.
    method : {"minmax", "zscore", "rank", "target"}
        ``minmax``: ``(x - min) / (max - min)`` in [0, 1]. ``zscore``: ``(x - mean) / sd``
        with the population sd. ``rank``: ``(r - 1) / (m - 1)`` with ``r`` the average rank
        among the ``m`` non-missing values, in [0, 1]. ``target``: ``max(0, x - t) /
        (max - t)`` in [0, 1], 0 once the target is met; columns without target use min-max.
    prepared_targets : ndarray of shape (k,), optional
        Targets on the prepared scale, needed by ``target``.

    Returns
    -------
    ndarray of shape (n, k)
        Normalised values; missing stays ``NaN``. A column that does not vary gets
        :data:`CONSTANT_COLUMN_VALUE` (0 under ``zscore``).
    """
    values = np.asarray(prepared, dtype=float)
    if method == "minmax":
        return _minmax(values)
    if method == "zscore":
        return _zscore(values)
    if method == "rank":
        return _percentile_rank(values)
    if method == "target":
        goals = (
            np.full(values.shape[1], np.nan)
            if prepared_targets is None
            else np.asarray(prepared_targets, dtype=float)
        )
        return _distance_to_target(values, goals)
    raise InvalidInputError(
        f"Normalización desconocida {method!r}; opciones: {', '.join(NORMALIZATIONS)}"
    )


def _column_stats(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmin(values, axis=0), np.nanmax(values, axis=0)


def _minmax(values: FloatArray) -> FloatArray:
    low, high = _column_stats(values)
    spread = high - low
    varying = spread > 0
    safe = np.where(varying, spread, 1.0)
    scaled = (values - low) / safe
    # Guard against rounding just outside [0, 1].
    scaled = np.clip(scaled, 0.0, 1.0)
    return np.where(varying | np.isnan(values), scaled, CONSTANT_COLUMN_VALUE)


def _zscore(values: FloatArray) -> FloatArray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
        sd = np.nanstd(values, axis=0)
    varying = sd > 0
    scaled = (values - mean) / np.where(varying, sd, 1.0)
    return np.where(varying | np.isnan(values), scaled, 0.0)


def _percentile_rank(values: FloatArray) -> FloatArray:
    present = ~np.isnan(values)
    ranks = rankdata(values, method="average", axis=0, nan_policy="omit")
    count = present.sum(axis=0)
    scaled = (ranks - 1.0) / np.where(count > 1, count - 1, 1)
    return np.where(present, np.where(count > 1, scaled, CONSTANT_COLUMN_VALUE), np.nan)


def _distance_to_target(values: FloatArray, goals: FloatArray) -> FloatArray:
    fallback = _minmax(values)
    _, high = _column_stats(values)
    span = high - goals
    reachable = span > 0
    gap = np.maximum(values - goals, 0.0) / np.where(reachable, span, 1.0)
    # Every commune meets the target: no gap at all.
    gap = np.where(reachable, np.clip(gap, 0.0, 1.0), 0.0)
    gap = np.where(np.isnan(values), np.nan, gap)
    return np.where(np.isnan(goals), fallback, gap)
