"""Score, rank, tier, explain and bound the uncertainty of every commune's gaps.

:func:`score_communes` is the single entry point used by the CLI, the API and the map. It is a
pipeline of small pure stages, each a function of the previous stage's output:

1. indicators — :func:`analysis.indicators.compute_indicators`, then :func:`scope_indicators`;
2. treatment — :func:`index_model` (log, orientation, winsorisation, unsupported columns);
3. normalisation — :func:`analysis.normalisation.normalise`;
4. aggregation — :func:`point_estimate` (coverage, eligibility, scores, ranks, tiers);
5. uncertainty — :func:`rank_uncertainty` (Monte Carlo, national and regional ranks);
6. explanations and tables — :mod:`analysis.tables`.

All randomness comes from ``numpy.random.Generator`` instances seeded from
``ScoringParameters.seed``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis.aggregation import aggregate, rank_descending, tiers
from analysis.challenges import Catalogue, apply_weights, load_catalogue
from analysis.estimates import PointEstimate, Uncertainty
from analysis.geometry import contiguity, geometries
from analysis.indicators import compute_indicators
from analysis.inputs import AnalysisInputs
from analysis.model import (
    Z_95,
    IndexModel,
    SampledEstimate,
    evaluate_scores,
    point_configuration,
)
from analysis.normalisation import normalise
from analysis.parameters import ScoringParameters
from analysis.result import SCORE_COLUMNS, ScoringResult
from analysis.tables import (
    clusters_table,
    contributions_table,
    groups_table,
    indicators_table,
    notes_table,
    portfolio_stage,
    reference_table,
    scores_table,
)
from analysis.uncertainty import (
    RankSummary,
    draw_configurations,
    regional_ranks,
    regional_tiers,
    regional_top_sizes,
    summarise_ranks,
)
from domain.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]
#: Tolerance when comparing a coverage with the minimum (0.3 + 0.3 must reach 0.6).
COVERAGE_TOLERANCE = 1e-9

__all__ = [
    "SCORE_COLUMNS",
    "PointEstimate",
    "ScoredModel",
    "ScoringParameters",
    "ScoringResult",
    "Uncertainty",
    "index_model",
    "point_estimate",
    "rank_uncertainty",
    "ranked_table",
    "scope_indicators",
    "scope_notes",
    "score_communes",
    "scored_model",
    "with_parameter_weights",
]


def score_communes(
    inputs: AnalysisInputs,
    params: ScoringParameters | None = None,
    catalogue: Catalogue | None = None,
    *,
    raw_indicators: pd.DataFrame | None = None,
) -> ScoringResult:
    """Score every commune of the scope against every challenge and the composite.

    Parameters
    ----------
    inputs : AnalysisInputs
        Input tables. Only ``communes`` (geometry for contiguity), ``huella_presence`` and
        ``project_sites`` are read when ``raw_indicators`` is given.
    params : ScoringParameters, optional
        Run parameters; defaults otherwise.
    catalogue : Catalogue, optional
        Challenge catalogue; the packaged one otherwise. Weight overrides in ``params`` are
        applied on top.
    raw_indicators : pandas.DataFrame, optional
        Output of :func:`compute_indicators` for these inputs, to avoid recomputing it.

    Returns
    -------
    ScoringResult
        All result tables.

    Raises
    ------
    InvalidInputError
        Unknown region, or an indicator column missing from the raw indicators (also a
        ``ValueError``).
    UnknownIdError
        A weight override names an unknown indicator or challenge (also a ``KeyError``).
    """
    params = params or ScoringParameters()
    catalogue = with_parameter_weights(catalogue or load_catalogue(), params)
    raw = compute_indicators(inputs, catalogue) if raw_indicators is None else raw_indicators
    raw, model, point = _unpack(scored_model(raw, params, catalogue))
    seeds = np.random.SeedSequence(params.seed).spawn(2)
    uncertainty = rank_uncertainty(model, point, params, raw, np.random.default_rng(seeds[0]))
    moran_seeds = [int(s) for s in seeds[1].generate_state(point.scores.shape[1], np.uint32)]
    neighbours = contiguity(_shapes_in_order(inputs.communes, raw["cut"]))
    notes = notes_table(model, catalogue, len(raw))
    scores = scores_table(raw, catalogue, params, model, point, uncertainty)
    ranked = {
        score_id: int(np.isfinite(point.scores[:, position]).sum())
        for position, score_id in enumerate(catalogue.score_ids)
    }
    return ScoringResult(
        scores=scores,
        indicators=indicators_table(raw, catalogue, point),
        contributions=contributions_table(raw, catalogue, model, point),
        clusters=clusters_table(raw, catalogue, params, point, neighbours, moran_seeds),
        groups=groups_table(raw, catalogue, params, model, point, neighbours),
        portfolio=portfolio_stage(raw, inputs, catalogue, params, point),
        reference=reference_table(catalogue, model, point),
        parameters=params,
        catalogue=catalogue,
        scope_label="nacional" if params.region is None else f"región {params.region}",
        communes_in_scope=len(raw),
        notes=notes,
        _ranked=ranked,
    )


@dataclass(frozen=True)
class ScoredModel:
    """Stages 1-4 for one scope: the scoped indicators, the index and its point estimate."""

    raw: pd.DataFrame
    catalogue: Catalogue
    model: IndexModel
    point: PointEstimate


def scored_model(
    raw_indicators: pd.DataFrame, params: ScoringParameters, catalogue: Catalogue
) -> ScoredModel:
    """Stages 1-4: scope, treat, normalise and aggregate; eligibility fixed in the model.

    ``catalogue`` must already carry the run's weight overrides
    (:func:`with_parameter_weights`).
    """
    raw = scope_indicators(raw_indicators, catalogue, params.region)
    model = index_model(raw, catalogue, params)
    point = point_estimate(model, params)
    return ScoredModel(raw, catalogue, _with_eligibility(model, point.eligible), point)


def scope_notes(
    raw_indicators: pd.DataFrame, params: ScoringParameters, catalogue: Catalogue
) -> pd.DataFrame:
    """The notes of a scope's scores (indicators left out by the comparability rule), cheaply.

    The same ``notes`` table :func:`score_communes` returns, without normalising or scoring:
    what a live answer (``/gaps``) says beside its rows. ``catalogue`` carries the weights.
    """
    raw = scope_indicators(raw_indicators, catalogue, params.region)
    return notes_table(index_model(raw, catalogue, params), catalogue, len(raw))


def _unpack(scored: ScoredModel) -> tuple[pd.DataFrame, IndexModel, PointEstimate]:
    return scored.raw, scored.model, scored.point


def with_parameter_weights(catalogue: Catalogue, params: ScoringParameters) -> Catalogue:
    """The catalogue with the run's weight overrides applied."""
    if params.indicator_weights or params.challenge_weights:
        return apply_weights(
            catalogue,
            {"indicators": params.indicator_weights, "challenges": params.challenge_weights},
        )
    return catalogue


def scope_indicators(raw: pd.DataFrame, catalogue: Catalogue, region: str | None) -> pd.DataFrame:
    """Stage 1: the raw indicator table restricted to the scope, sorted by CUT.

    Raises
    ------
    InvalidInputError
        Unknown region, or an indicator column missing from the table (also a ``ValueError``).
    """
    table = raw.sort_values("cut", kind="stable").reset_index(drop=True)
    absent = [i.column for i in catalogue.indicators if i.column not in table.columns]
    if absent:
        raise InvalidInputError(f"Faltan columnas de indicadores en los datos: {', '.join(absent)}")
    if region is None:
        return table
    regions = sorted(table["region_code"].dropna().astype(str).unique())
    if region not in regions:
        raise InvalidInputError(
            f"Región desconocida {region!r}; regiones con comunas: {', '.join(regions)}"
        )
    return table[table["region_code"].astype(str) == region].reset_index(drop=True)


def index_model(raw: pd.DataFrame, catalogue: Catalogue, params: ScoringParameters) -> IndexModel:
    """Stage 2: the indicator matrix, its structure and its published estimation errors.

    Every commune is provisionally eligible; :func:`point_estimate` decides eligibility.
    """
    indicators = catalogue.indicators
    challenge_ids = catalogue.challenge_ids
    values = raw[[i.column for i in indicators]].to_numpy(dtype=float)
    values = np.where(np.isfinite(values), values, np.nan)
    unsupported = left_out_indicators(values, catalogue, params)
    estimates = []
    for position, indicator in enumerate(indicators):
        if indicator.interval is None or not all(c in raw for c in indicator.interval):
            continue
        low = raw[indicator.interval[0]].to_numpy(dtype=float)
        high = raw[indicator.interval[1]].to_numpy(dtype=float)
        point = values[:, position]
        estimates.append(
            SampledEstimate(
                column=position,
                point=point,
                sd_low=np.maximum(point - low, 0.0) / Z_95,
                sd_high=np.maximum(high - point, 0.0) / Z_95,
                low=0.0,
                high=100.0 if indicator.unit == "%" else np.inf,
            )
        )
    n, c = len(raw), len(challenge_ids)
    return IndexModel(
        values=values,
        higher_is_worse=np.array([i.direction == "higher_is_worse" for i in indicators]),
        skewed=np.array([i.skewed for i in indicators]),
        unsupported=unsupported,
        membership=np.array([challenge_ids.index(i.challenge) for i in indicators], np.int64),
        # A left-out indicator weighs nothing in this scope: coverage is a share of the weight
        # of the indicators that enter, the same for every commune of the ranking.
        indicator_weights=np.where(
            unsupported, 0.0, np.array([i.weight for i in indicators], dtype=float)
        ),
        challenge_weights=np.array([ch.weight for ch in catalogue.challenges], dtype=float),
        targets=np.array([np.nan if i.target is None else i.target for i in indicators], float),
        log_skewed=params.outlier_treatment in ("log", "log_winsorize"),
        winsor_quantile=params.winsor_quantile,
        eligible=np.ones((n, c + 1), dtype=bool),
        estimates=tuple(estimates),
        geometric_scale=params.geometric_scale,
        winsorise_default=params.outlier_treatment in ("winsorize", "log_winsorize"),
    )


def left_out_indicators(
    values: FloatArray, catalogue: Catalogue, params: ScoringParameters
) -> npt.NDArray[np.bool_]:
    """The comparability rule: indicators left out of this scope's scores.

    An indicator enters a scope (the nation, or a region) only when it has values for at
    least ``min_scope_share`` of the scope's communes (the catalogue's
    ``settings.min_indicator_share`` unless the indicator sets its own) and for at least
    ``params.min_indicator_communes`` of them. Otherwise it is left out for every commune of
    the scope, so all communes of a ranking are scored on the same indicators; the run's
    notes say which were left out.
    """
    communes = values.shape[0]
    support = np.isfinite(values).sum(axis=0)
    default = catalogue.settings.min_indicator_share
    shares = np.array(
        [default if i.min_scope_share is None else i.min_scope_share for i in catalogue.indicators]
    )
    # The tolerance keeps 0.5 of 10 communes at 5, not 6, after floating-point rounding.
    needed = np.maximum(
        np.ceil(shares * communes - COVERAGE_TOLERANCE),
        min(params.min_indicator_communes, communes),
    )
    left_out: npt.NDArray[np.bool_] = support < needed
    return left_out


def point_estimate(model: IndexModel, params: ScoringParameters) -> PointEstimate:
    """Stages 3-4: normalise and aggregate with default weights and published values.

    A challenge is scored where the indicators present carry at least ``min_coverage`` of
    its weight; the composite where the challenges scored carry that share of theirs.
    Missing data never reads as a low gap: it is ``NaN`` and reported as such.
    """
    winsorise = model.winsorise_default
    prepared, goals = model.prepare(model.values, winsorise)
    normalised = normalise(prepared, params.normalization, goals)
    n, c = model.values.shape[0], model.challenges
    coverage = np.zeros((n, c + 1))
    available = np.zeros((n, c + 1), dtype=np.int64)
    total = np.zeros(c + 1, dtype=np.int64)
    present = ~np.isnan(normalised)
    for challenge in range(c):
        columns = np.flatnonzero(model.membership == challenge)
        _, coverage[:, challenge] = aggregate(
            normalised[:, columns], model.indicator_weights[columns], "arithmetic"
        )
        positive = columns[model.indicator_weights[columns] > 0]
        available[:, challenge] = present[:, positive].sum(axis=1)
        total[challenge] = positive.size
    eligible = np.zeros((n, c + 1), dtype=bool)
    eligible[:, :c] = coverage[:, :c] >= params.min_coverage - COVERAGE_TOLERANCE
    weights = model.challenge_weights
    coverage[:, c] = (np.where(eligible[:, :c], coverage[:, :c], 0.0) @ weights) / weights.sum()
    # The composite's coverage counts only challenges actually scored.
    eligible[:, c] = coverage[:, c] >= params.min_coverage - COVERAGE_TOLERANCE
    counted = weights > 0
    available[:, c] = available[:, :c][:, counted].sum(axis=1)
    total[c] = total[:c][counted].sum()
    configured = _with_eligibility(model, eligible)
    configuration = point_configuration(
        configured, params.normalization, params.aggregation, winsorise
    )
    scores = evaluate_scores(configured, configuration)[:, :, 0]
    ranks = rank_descending(scores)
    tier_table = np.column_stack(
        [tiers(scores[:, s], params.tier_count, params.tier_method) for s in range(c + 1)]
    )
    return PointEstimate(
        normalised=normalised,
        prepared=prepared,
        prepared_targets=goals,
        scores=scores,
        coverage=coverage,
        available=available,
        total=total,
        challenges_available=(eligible[:, :c] & counted).sum(axis=1).astype(np.int64),
        ranks=ranks,
        tiers=tier_table,
        eligible=np.isfinite(scores),
    )


def rank_uncertainty(
    model: IndexModel,
    point: PointEstimate,
    params: ScoringParameters,
    raw: pd.DataFrame,
    rng: np.random.Generator,
) -> Uncertainty:
    """Stage 5: Monte Carlo ranks, summarised in the scope and within each region.

    The 5-95 % interval is the simulation's own; the point rank is reported beside it.
    """
    regions = raw["region_code"].astype(str).to_numpy()
    region_point = regional_ranks(point.scores, regions)
    region_tier = regional_tiers(point.scores, regions, params.tier_count, params.tier_method)
    shape = point.scores.shape
    empty = RankSummary(*(np.full(shape, np.nan) for _ in range(4)))
    if params.draws == 0:
        return Uncertainty(empty, empty, region_point, region_tier)
    configs = draw_configurations(model, params.uncertainty_settings(), params.draws, rng)
    drawn_scores = evaluate_scores(model, configs)
    top_size = (point.tiers == 1).sum(axis=0).astype(float)
    scope = summarise_ranks(rank_descending(drawn_scores), top_size)
    region_top = regional_top_sizes(region_tier, regions)
    region = summarise_ranks(regional_ranks(drawn_scores, regions), region_top)
    return Uncertainty(scope, region, region_point, region_tier)


def ranked_table(result: ScoringResult, challenge: str) -> pd.DataFrame:
    """Return one challenge's scores sorted from largest gap to smallest.

    Parameters
    ----------
    result : ScoringResult
        Output of :func:`score_communes`.
    challenge : str
        A challenge id or the composite id.

    Returns
    -------
    pandas.DataFrame
        Rows of ``result.scores`` for the challenge, ordered by rank (communes without
        score last), then CUT.

    Raises
    ------
    InvalidInputError
        If the challenge is not in the catalogue of the result (also a ``ValueError``).
    """
    if challenge not in result.catalogue.score_ids:
        raise InvalidInputError(
            f"Desafío desconocido {challenge!r}; opciones: {', '.join(result.catalogue.score_ids)}"
        )
    table = result.scores[result.scores["challenge"] == challenge]
    return table.sort_values(["rank", "cut"], na_position="last", kind="stable").reset_index(
        drop=True
    )


def _with_eligibility(model: IndexModel, eligible: npt.NDArray[np.bool_]) -> IndexModel:
    return replace(model, eligible=eligible)


def _shapes_in_order(communes: pd.DataFrame, cuts: pd.Series) -> npt.NDArray[np.object_]:
    shapes = pd.Series(geometries(communes), index=communes["cut"].astype(str).to_numpy())
    shapes = shapes[~shapes.index.duplicated()]
    return shapes.reindex(cuts.astype(str).to_numpy()).to_numpy(dtype=object)
