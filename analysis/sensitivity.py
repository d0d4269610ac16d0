"""Global sensitivity analysis of the ranks: Sobol' indices with SALib.

Which uncertain input moves the ranks? Each input of the uncertainty analysis becomes one
factor of a Sobol' design (Saltelli's extension of the Sobol' sequence, SALib
``sample.sobol``), and SALib ``analyze.sobol`` estimates its first-order index ``S1`` (share of
the output variance it explains alone) and total index ``ST`` (alone and in interaction).

Factors, each uniform on its range:

- the weight of every challenge (composite) or of every indicator of the challenge analysed,
  a multiplicative factor in ``[1 - spread, 1 + spread]``;
- ``normalización``: ``u`` in [0, 1) picks min-max, z-score or rank (thirds of the interval);
- ``agregación``: arithmetic below 0.5, geometric on [1, 100] above;
- ``winsorización``: off below 0.5, on above;
- every published estimate with a confidence interval (the poverty small-area estimates):
  ``u`` picks one of ``realisations`` pre-drawn realisations of all communes' values within
  their intervals — the "trigger" device of Crosetto and Tarantola (2001) for a spatially
  distributed input, which lets one scalar factor carry a whole map of errors.

Outputs (documented choice): the mean absolute shift of the ranks from the point ranks, over
every scored commune of the scope (``ámbito``) and over the ``top_n`` communes that rank first
in the point estimate (``primeras N``). Both are computed from the same evaluations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from SALib.analyze import sobol as sobol_analyze  # type: ignore[import-untyped]
from SALib.sample import sobol as sobol_sample  # type: ignore[import-untyped]

from analysis.aggregation import rank_descending
from analysis.model import Configurations, IndexModel, evaluate_scores
from analysis.normalisation import Normalization
from analysis.parameters import ScoringParameters
from analysis.scoring import ScoredModel
from domain.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]
#: Normalisations drawn by the normalisation factor, in the order of its thirds.
SOBOL_NORMALISATIONS: tuple[Normalization, ...] = ("minmax", "zscore", "rank")
SENSITIVITY_COLUMNS = ("input", "label", "output", "S1", "S1_conf", "ST", "ST_conf")


@dataclass(frozen=True)
class Factor:
    """One factor of the Sobol' design."""

    name: str
    label: str
    low: float
    high: float


@dataclass(frozen=True)
class SensitivityResult:
    """Sobol' indices of one score's ranks.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns :data:`SENSITIVITY_COLUMNS`: one row per factor and output (``ámbito`` and
        ``primeras N``), factors in design order.
    score_id : str
        Challenge or composite analysed.
    base_samples : int
        ``N`` of the design; the model ran ``N * (D + 2)`` times.
    evaluations : int
    top_n : int
    """

    table: pd.DataFrame
    score_id: str
    base_samples: int
    evaluations: int
    top_n: int


def sobol_table(
    factors: Sequence[Factor],
    evaluate: Callable[[FloatArray], FloatArray],
    output_names: Sequence[str],
    base_samples: int,
    seed: int,
) -> pd.DataFrame:
    """First-order and total Sobol' indices of every output of a vectorised model.

    Parameters
    ----------
    factors : sequence of Factor
        Independent inputs, uniform on ``[low, high]``.
    evaluate : callable
        Takes the sample matrix ``(evaluations, D)`` and returns outputs
        ``(evaluations, len(output_names))`` in one call.
    output_names : sequence of str
    base_samples : int
        ``N``, a power of two.
    seed : int

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SENSITIVITY_COLUMNS`.
    """
    problem = {
        "num_vars": len(factors),
        "names": [f.name for f in factors],
        "bounds": [[f.low, f.high] for f in factors],
    }
    sample = sobol_sample.sample(problem, base_samples, calc_second_order=False, seed=seed)
    outputs = np.asarray(evaluate(sample), dtype=float).reshape(len(sample), len(output_names))
    rows = []
    for position, output in enumerate(output_names):
        values = outputs[:, position]
        if np.ptp(values) == 0:
            indices = {key: np.zeros(len(factors)) for key in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            indices = sobol_analyze.analyze(
                problem, values, calc_second_order=False, num_resamples=100, seed=seed
            )
        for j, factor in enumerate(factors):
            rows.append(
                {
                    "input": factor.name,
                    "label": factor.label,
                    "output": output,
                    **{key: float(indices[key][j]) for key in ("S1", "S1_conf", "ST", "ST_conf")},
                }
            )
    return pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))


def rank_sensitivity(
    scored: ScoredModel,
    params: ScoringParameters,
    score_id: str,
    *,
    base_samples: int = 512,
    top_n: int = 10,
    realisations: int = 64,
) -> SensitivityResult:
    """Sobol' indices of the ranks of one score (a challenge or the composite).

    Parameters
    ----------
    scored : ScoredModel
        Output of :func:`analysis.scoring.scored_model`: the index and its point estimate.
    params : ScoringParameters
        ``weight_spread``, ``seed`` and the geometric scale are read from it.
    score_id : str
        Challenge id or composite id.
    base_samples : int
        ``N`` of the Sobol' design (a power of two).
    top_n : int
        Size of the group of first-ranked communes whose rank shift is the second output.
    realisations : int
        Pre-drawn realisations of each published estimate the trigger factors choose from.

    Returns
    -------
    SensitivityResult
    """
    model, catalogue = scored.model, scored.catalogue
    if score_id not in catalogue.score_ids:
        raise InvalidInputError(
            f"Desafío desconocido {score_id!r}; opciones: {', '.join(catalogue.score_ids)}"
        )
    position = catalogue.score_ids.index(score_id)
    c = model.challenges
    spread = params.weight_spread
    factors: list[Factor] = []
    weighted: list[tuple[str, int]] = []
    if position == c:
        for index, challenge in enumerate(catalogue.challenges):
            if challenge.weight > 0:
                factors.append(
                    Factor(
                        f"peso_{challenge.id}", f"Peso: {challenge.label}", 1 - spread, 1 + spread
                    )
                )
                weighted.append(("challenge", index))
        relevant = np.ones(len(catalogue.indicators), dtype=bool)
    else:
        relevant = model.membership == position
        for index in np.flatnonzero(relevant & ~model.unsupported).tolist():
            indicator = catalogue.indicators[index]
            if indicator.weight > 0:
                factors.append(
                    Factor(
                        f"peso_{indicator.id}", f"Peso: {indicator.label}", 1 - spread, 1 + spread
                    )
                )
                weighted.append(("indicator", int(index)))
    factors += [
        Factor("normalizacion", "Normalización (mín–máx, z, rango)", 0.0, 1.0),
        Factor("agregacion", "Agregación (aritmética, geométrica)", 0.0, 1.0),
        Factor("winsorizacion", "Winsorización (sí/no)", 0.0, 1.0),
    ]
    rng = np.random.default_rng(np.random.SeedSequence(params.seed).spawn(3)[2])
    banks: list[FloatArray | None] = []
    for estimate in model.estimates:
        if not relevant[estimate.column] or model.unsupported[estimate.column]:
            banks.append(None)
            continue
        indicator = catalogue.indicators[estimate.column]
        factors.append(
            Factor(f"estimacion_{indicator.id}", f"Error de estimación: {indicator.label}", 0, 1)
        )
        banks.append(estimate.realise(rng.standard_normal((estimate.point.size, realisations))))
    point = scored.point.ranks[:, position]
    ranked = np.isfinite(point)
    top = ranked & (point <= top_n)

    def evaluate(sample: FloatArray) -> FloatArray:
        configs = _configurations(model, sample, weighted, banks, realisations)
        scores = evaluate_scores(model, configs)[:, position, :]
        ranks = rank_descending(scores)
        shift = np.abs(ranks - point[:, None])
        return np.column_stack(
            [shift[ranked].mean(axis=0), shift[top].mean(axis=0) if top.any() else 0.0 * shift[0]]
        )

    table = sobol_table(
        factors, evaluate, ("ámbito", f"primeras {top_n}"), base_samples, params.seed
    )
    evaluations = base_samples * (len(factors) + 2)
    return SensitivityResult(table, score_id, base_samples, evaluations, top_n)


def _configurations(
    model: IndexModel,
    sample: FloatArray,
    weighted: Sequence[tuple[str, int]],
    banks: Sequence[FloatArray | None],
    realisations: int,
) -> Configurations:
    """Turn Sobol' sample rows into index configurations."""
    d = len(sample)
    k, c = model.values.shape[1], model.challenges
    indicator_factors = np.ones((k, d))
    challenge_factors = np.ones((c, d))
    for column, (kind, index) in enumerate(weighted):
        target = challenge_factors if kind == "challenge" else indicator_factors
        target[index] = sample[:, column]
    offset = len(weighted)
    normalisation = np.minimum((sample[:, offset] * 3).astype(np.int64), 2)
    aggregation = (sample[:, offset + 1] >= 0.5).astype(np.int64)
    if model.geometric_scale == "offset":
        aggregation = np.where(normalisation == 1, 0, aggregation)
    winsorise = sample[:, offset + 2] >= 0.5
    estimate_values = []
    column = offset + 3
    for estimate, bank in zip(model.estimates, banks, strict=True):
        if bank is None:
            estimate_values.append(np.repeat(estimate.point[:, None], d, axis=1))
            continue
        choice = np.minimum((sample[:, column] * realisations).astype(np.int64), realisations - 1)
        estimate_values.append(bank[:, choice])
        column += 1
    return Configurations(
        indicator_factors=indicator_factors,
        challenge_factors=challenge_factors,
        normalisation=normalisation,
        normalisations=SOBOL_NORMALISATIONS,
        aggregation=aggregation,
        winsorise=winsorise,
        estimate_values=tuple(estimate_values),
    )
