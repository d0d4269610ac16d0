"""The composite index as a function of its uncertain choices, vectorised over configurations.

One *configuration* of the index fixes every uncertain choice: a multiplicative factor on each
indicator weight and each challenge weight, the normalisation, the aggregation, whether the
indicators are winsorised, and one realisation of every published estimate that carries a
confidence interval (the small-area poverty estimates). :class:`IndexModel` holds what every
configuration shares; :func:`evaluate_scores` computes the scores of every commune under many
configurations at once. The point estimate is the single configuration of
:func:`point_configuration`; the Monte Carlo of :mod:`analysis.uncertainty` and the Sobol' design
of :mod:`analysis.sensitivity` draw many.

The work loops only over the (at most six) normalisation x winsorisation groups and the
challenges; inside a group every draw is one slice of a ``(communes, indicators, draws)``
tensor.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from analysis.aggregation import GEOMETRIC_OFFSET, Aggregation
from analysis.normalisation import Normalization, OutlierTreatment, normalise, prepare_matrix

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
GeometricScale = Literal["rescaled", "offset"]

#: Strictly positive scale on which the geometric mean is computed (COINr rescales to
#: [1, 100] before a geometric mean so a commune at the best value does not collapse to 0).
RESCALED_LOW, RESCALED_HIGH = 1.0, 100.0
#: Two-sided normal quantile of a published 95 % confidence interval.
Z_95 = 1.959963984540054
AGGREGATION_ORDER: tuple[Aggregation, ...] = ("arithmetic", "geometric")


@dataclass(frozen=True)
class SampledEstimate:
    """A published estimate with its confidence interval, sampled in the simulation.

    Attributes
    ----------
    column : int
        Position of the indicator in the matrix.
    point : ndarray of shape (n,)
        Published point estimate (raw units).
    sd_low, sd_high : ndarray of shape (n,)
        Standard deviations below and above the point, from the 95 % interval's half-widths
        (a two-piece normal reproduces an asymmetric published interval exactly).
    low, high : float
        Bounds of the indicator's scale (0-100 for a percentage).
    """

    column: int
    point: FloatArray
    sd_low: FloatArray
    sd_high: FloatArray
    low: float = 0.0
    high: float = 100.0

    def realise(self, standard_normal: FloatArray) -> FloatArray:
        """Values for standard-normal draws of shape ``(n, d)``; missing stays missing."""
        sd = np.where(standard_normal < 0, self.sd_low[:, None], self.sd_high[:, None])
        values = self.point[:, None] + np.nan_to_num(sd) * standard_normal
        return np.clip(values, self.low, self.high)


@dataclass(frozen=True)
class IndexModel:
    """Everything fixed across configurations: raw values, structure, eligibility.

    Attributes
    ----------
    values : ndarray of shape (n, k)
        Raw indicator values (``NaN`` missing).
    higher_is_worse, skewed, unsupported : ndarray of bool, shape (k,)
        Orientation, log-transform eligibility, and columns left out of this scope.
    membership : ndarray of int, shape (k,)
        Challenge position of each indicator.
    indicator_weights : ndarray of shape (k,)
    challenge_weights : ndarray of shape (c,)
    targets : ndarray of shape (k,)
        Raw targets (``NaN`` where none), for the distance-to-target normalisation.
    log_skewed : bool
        Whether skewed indicators are log-transformed.
    winsor_quantile : float
    eligible : ndarray of bool, shape (n, c + 1)
        Which communes are scored for each challenge and the composite (fixed from the
        point estimate, so every configuration ranks the same communes).
    estimates : tuple of SampledEstimate
    geometric_scale : {"rescaled", "offset"}
        ``rescaled``: geometric mean of values rescaled to [1, 100] (default);
        ``offset``: the former ``exp(sum w ln(v + 0.01)) - 0.01`` on [0, 1].
    winsorise_default : bool
        Whether the run's own outlier treatment winsorises (used when draws do not vary it).
    """

    values: FloatArray
    higher_is_worse: BoolArray
    skewed: BoolArray
    unsupported: BoolArray
    membership: IntArray
    indicator_weights: FloatArray
    challenge_weights: FloatArray
    targets: FloatArray
    log_skewed: bool
    winsor_quantile: float
    eligible: BoolArray
    estimates: tuple[SampledEstimate, ...]
    geometric_scale: GeometricScale = "rescaled"
    winsorise_default: bool = True

    @property
    def challenges(self) -> int:
        """Number of challenges (without the composite)."""
        return len(self.challenge_weights)

    def treatment(self, winsorise: bool) -> OutlierTreatment:
        """Outlier treatment with winsorisation switched on or off."""
        if self.log_skewed:
            return "log_winsorize" if winsorise else "log"
        return "winsorize" if winsorise else "none"

    def prepare(self, values: FloatArray, winsorise: bool) -> tuple[FloatArray, FloatArray]:
        """Treat and orient a raw matrix; unsupported columns become missing."""
        prepared, goals = prepare_matrix(
            values,
            self.higher_is_worse,
            self.skewed,
            self.treatment(winsorise),
            self.winsor_quantile,
            self.targets,
        )
        prepared[:, self.unsupported] = np.nan
        return prepared, goals


@dataclass(frozen=True)
class Configurations:
    """``d`` configurations of the index (one per Monte Carlo draw or Sobol' sample).

    Attributes
    ----------
    indicator_factors : ndarray of shape (k, d)
    challenge_factors : ndarray of shape (c, d)
    normalisation : ndarray of int, shape (d,)
        Index into ``normalisations``.
    normalisations : tuple of str
    aggregation : ndarray of int, shape (d,)
        Index into :data:`AGGREGATION_ORDER`.
    winsorise : ndarray of bool, shape (d,)
    estimate_values : tuple of ndarray of shape (n, d)
        One realisation per draw of each sampled estimate, in ``IndexModel.estimates`` order.
    """

    indicator_factors: FloatArray
    challenge_factors: FloatArray
    normalisation: IntArray
    normalisations: tuple[Normalization, ...]
    aggregation: IntArray
    winsorise: BoolArray
    estimate_values: tuple[FloatArray, ...]

    @property
    def draws(self) -> int:
        """Number of configurations."""
        return int(self.normalisation.size)


def point_configuration(
    model: IndexModel,
    normalization: Normalization,
    aggregation: Aggregation,
    winsorise: bool,
) -> Configurations:
    """The single configuration of the point estimate: default weights, published values."""
    return Configurations(
        indicator_factors=np.ones((model.values.shape[1], 1)),
        challenge_factors=np.ones((model.challenges, 1)),
        normalisation=np.zeros(1, dtype=np.int64),
        normalisations=(normalization,),
        aggregation=np.array([AGGREGATION_ORDER.index(aggregation)], dtype=np.int64),
        winsorise=np.array([winsorise]),
        estimate_values=tuple(e.point[:, None] for e in model.estimates),
    )


def evaluate_scores(model: IndexModel, configs: Configurations) -> FloatArray:
    """Scores of every commune for every challenge and the composite, per configuration.

    Parameters
    ----------
    model : IndexModel
    configs : Configurations

    Returns
    -------
    ndarray of shape (n, c + 1, d)
        ``NaN`` where the commune is not eligible for that score.
    """
    n = model.values.shape[0]
    c, d = model.challenges, configs.draws
    scores = np.full((n, c + 1, d), np.nan)
    indicator_weights = model.indicator_weights[:, None] * configs.indicator_factors
    challenge_weights = model.challenge_weights[:, None] * configs.challenge_factors
    for winsorise in (False, True):
        if not (configs.winsorise == winsorise).any():
            continue
        prepared, goals = model.prepare(model.values, winsorise)
        for position, method in enumerate(configs.normalisations):
            selected = np.flatnonzero(
                (configs.winsorise == winsorise) & (configs.normalisation == position)
            )
            if selected.size == 0:
                continue
            fixed = normalise(prepared, method, goals)
            tensor = np.repeat(fixed[:, :, None], selected.size, axis=2)
            for estimate, drawn in zip(model.estimates, configs.estimate_values, strict=True):
                j = estimate.column
                if model.unsupported[j]:
                    continue
                tensor[:, j, :] = _normalised_draws(model, j, drawn[:, selected], winsorise, method)
            for aggregation_index, aggregation in enumerate(AGGREGATION_ORDER):
                chosen = selected[configs.aggregation[selected] == aggregation_index]
                if chosen.size == 0:
                    continue
                part = tensor[:, :, np.searchsorted(selected, chosen)]
                scores[:, :, chosen] = _aggregate_tensor(
                    model,
                    part,
                    indicator_weights[:, chosen],
                    challenge_weights[:, chosen],
                    aggregation,
                )
    return np.where(model.eligible[:, :, None], scores, np.nan)


def _normalised_draws(
    model: IndexModel, column: int, drawn: FloatArray, winsorise: bool, method: Normalization
) -> FloatArray:
    """Normalise many realisations of one indicator at once: each draw is one column."""
    draws = drawn.shape[1]
    prepared, goals = prepare_matrix(
        drawn,
        np.repeat(model.higher_is_worse[column], draws),
        np.repeat(model.skewed[column], draws),
        model.treatment(winsorise),
        model.winsor_quantile,
        np.repeat(model.targets[column], draws),
    )
    return normalise(prepared, method, goals)


def _rescale(tensor: FloatArray) -> FloatArray:
    """Rescale every (indicator, draw) column to [1, 100] over the communes (min-max)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low = np.nanmin(tensor, axis=0, keepdims=True)
        high = np.nanmax(tensor, axis=0, keepdims=True)
    span = high - low
    varying = span > 0
    unit = np.where(varying, (tensor - low) / np.where(varying, span, 1.0), 0.5)
    return RESCALED_LOW + (RESCALED_HIGH - RESCALED_LOW) * unit


def _aggregate_tensor(
    model: IndexModel,
    tensor: FloatArray,
    indicator_weights: FloatArray,
    challenge_weights: FloatArray,
    aggregation: Aggregation,
) -> FloatArray:
    """Challenge and composite scores of a ``(n, k, d)`` tensor; shape ``(n, c + 1, d)``."""
    n, _, d = tensor.shape
    c = model.challenges
    present = ~np.isnan(tensor[:, :, 0])
    geometric = aggregation == "geometric"
    rescaled = geometric and model.geometric_scale == "rescaled"
    if rescaled:
        tensor = _rescale(tensor)
    if geometric:
        shift = 0.0 if rescaled else GEOMETRIC_OFFSET
        with np.errstate(invalid="ignore", divide="ignore"):
            tensor = np.log(tensor + shift)
    filled = np.where(np.isnan(tensor), 0.0, tensor)
    out = np.full((n, c + 1, d), np.nan)
    for challenge in range(c):
        columns = np.flatnonzero(model.membership == challenge)
        weights = indicator_weights[columns]
        available = present[:, columns].astype(float) @ weights
        numerator = np.einsum("nkd,kd->nd", filled[:, columns, :], weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = numerator / available
        out[:, challenge, :] = np.where(
            model.eligible[:, challenge, None] & (available > 0), mean, np.nan
        )
    # Composite over the challenges each commune is scored on, on the same (log) scale.
    part = out[:, :c, :]
    has = ~np.isnan(part)
    available = np.einsum("ncd,cd->nd", has.astype(float), challenge_weights)
    numerator = np.einsum("ncd,cd->nd", np.where(has, part, 0.0), challenge_weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, c, :] = np.where(available > 0, numerator / available, np.nan)
    if geometric:
        out = np.exp(out) - (0.0 if rescaled else GEOMETRIC_OFFSET)
    return out
