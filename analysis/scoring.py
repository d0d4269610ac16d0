"""Score, rank, tier, explain and bound the uncertainty of every commune's gaps.

:func:`score_communes` is the entry point of every stored run (CLI and API). It is a pipeline of
small pure stages, each a function of the previous stage's output:

1. indicators — :func:`analysis.indicators.compute_indicators`, then :func:`scope_indicators`;
2. treatment — :func:`index_model` (log, orientation, winsorisation, unsupported columns);
3. normalisation — :func:`analysis.normalisation.normalise`;
4. aggregation — :func:`point_estimate` (coverage, eligibility, scores, ranks, tiers);
5. uncertainty — :func:`rank_uncertainty` (Monte Carlo, national and regional ranks);
6. explanations and tables — :mod:`analysis.tables`.

A live answer (``/gaps``, the map's re-weighting) calls :func:`live_scores`: the same stages
1-5 and the same scores table, without the tables only a stored run keeps (Local Moran's I,
groups, contributions, portfolio, reference). The neighbour graph depends on the boundaries
alone: :func:`scope_graph` builds it once for a server to hand to every run of a scope.

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
from analysis.result import SCORE_COLUMNS, LiveScores, ScoringResult
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
    "LiveScores",
    "PointEstimate",
    "ScopeGraph",
    "ScoredModel",
    "ScoringParameters",
    "ScoringResult",
    "Uncertainty",
    "index_model",
    "live_scores",
    "point_estimate",
    "rank_uncertainty",
    "ranked_table",
    "scope_graph",
    "scope_indicators",
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
    graph: ScopeGraph | None = None,
) -> ScoringResult:
    """Score every commune of the scope against every challenge and the composite.

    Parameters
    ----------
    inputs : AnalysisInputs
        Input tables. Only ``communes`` (geometry for contiguity, unless ``graph`` is given),
        ``huella_presence`` and ``project_sites`` are read when ``raw_indicators`` is given.
    params : ScoringParameters, optional
        Run parameters; defaults otherwise.
    catalogue : Catalogue, optional
        Challenge catalogue; the packaged one otherwise. Weight overrides in ``params`` are
        applied on top.
    raw_indicators : pandas.DataFrame, optional
        Output of :func:`compute_indicators` for these inputs, to avoid recomputing it.
    graph : ScopeGraph, optional
        :func:`scope_graph` of these inputs and the run's scope, to avoid rebuilding the
        neighbour graph (it depends on the boundaries only, never on the weights).

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
    ValueError
        ``graph`` was built for other communes than the scope's.
    """
    params = params or ScoringParameters()
    catalogue = with_parameter_weights(catalogue or load_catalogue(), params)
    raw = compute_indicators(inputs, catalogue) if raw_indicators is None else raw_indicators
    stages = _scored_stages(raw, params, catalogue)
    raw, model, point = _unpack(stages.scored)
    if graph is None:
        graph = _graph_of(inputs.communes, raw["cut"])
    elif graph.cuts != tuple(raw["cut"].astype(str)):
        raise ValueError("el grafo de vecinos no corresponde a las comunas del ámbito")
    neighbours = graph.neighbours
    live = stages.live
    return ScoringResult(
        scores=live.scores,
        indicators=indicators_table(raw, catalogue, point),
        contributions=contributions_table(raw, catalogue, model, point),
        clusters=clusters_table(raw, catalogue, params, point, neighbours, stages.moran_seeds),
        groups=groups_table(raw, catalogue, params, model, point, neighbours),
        portfolio=portfolio_stage(raw, inputs, catalogue, params, point),
        reference=reference_table(catalogue, model, point),
        parameters=params,
        catalogue=catalogue,
        scope_label=live.scope_label,
        communes_in_scope=live.communes_in_scope,
        notes=live.notes,
        _ranked=live.ranked,
    )


def live_scores(
    raw_indicators: pd.DataFrame,
    params: ScoringParameters | None = None,
    catalogue: Catalogue | None = None,
) -> LiveScores:
    """The ``scores`` and ``notes`` of :func:`score_communes`, without the other tables.

    What a live answer (``/gaps``) shows: the same rows, explanations included, bit for bit,
    without Local Moran's I, the groups, the portfolio, the contributions or the reference,
    which only a stored run keeps. ``params.draws`` simulations are drawn as in
    :func:`score_communes` (a live answer asks for none).

    Raises
    ------
    InvalidInputError
        Unknown region, or an indicator column missing from the raw indicators.
    UnknownIdError
        A weight override names an unknown indicator or challenge.
    """
    params = params or ScoringParameters()
    catalogue = with_parameter_weights(catalogue or load_catalogue(), params)
    return _scored_stages(raw_indicators, params, catalogue).live


@dataclass(frozen=True)
class ScopeGraph:
    """The neighbour graph of a scope's communes, in scoring order (sorted by CUT).

    ``neighbours`` maps each position of ``cuts`` to its neighbours' positions (see
    :func:`analysis.geometry.contiguity`).
    """

    cuts: tuple[str, ...]
    neighbours: dict[int, list[int]]


def scope_graph(
    inputs: AnalysisInputs, raw_indicators: pd.DataFrame, region: str | None
) -> ScopeGraph:
    """The neighbour graph of the communes :func:`score_communes` compares in ``region``.

    It depends on the boundaries and the scope only: a server builds it once per data state
    and scope and hands it to every scoring of that scope.

    Raises
    ------
    InvalidInputError
        Unknown region.
    """
    return _graph_of(inputs.communes, _scoped(_by_cut(raw_indicators), region)["cut"])


@dataclass(frozen=True)
class _Stages:
    """Stages 1-5 and the scores table, shared by :func:`score_communes` and the live path."""

    scored: ScoredModel
    moran_seeds: list[int]
    live: LiveScores


def _scored_stages(
    raw_indicators: pd.DataFrame, params: ScoringParameters, catalogue: Catalogue
) -> _Stages:
    scored = scored_model(raw_indicators, params, catalogue)
    raw, model, point = _unpack(scored)
    seeds = np.random.SeedSequence(params.seed).spawn(2)
    uncertainty = rank_uncertainty(model, point, params, raw, np.random.default_rng(seeds[0]))
    moran_seeds = [int(s) for s in seeds[1].generate_state(point.scores.shape[1], np.uint32)]
    ranked = {
        score_id: int(np.isfinite(point.scores[:, position]).sum())
        for position, score_id in enumerate(catalogue.score_ids)
    }
    live = LiveScores(
        scores=scores_table(raw, catalogue, params, model, point, uncertainty),
        notes=notes_table(model, catalogue, len(raw)),
        parameters=params,
        catalogue=catalogue,
        scope_label="nacional" if params.region is None else f"región {params.region}",
        communes_in_scope=len(raw),
        ranked=ranked,
    )
    return _Stages(scored, moran_seeds, live)


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
    table = _by_cut(raw)
    absent = [i.column for i in catalogue.indicators if i.column not in table.columns]
    if absent:
        raise InvalidInputError(f"Faltan columnas de indicadores en los datos: {', '.join(absent)}")
    return _scoped(table, region)


def _by_cut(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.sort_values("cut", kind="stable").reset_index(drop=True)


def _scoped(table: pd.DataFrame, region: str | None) -> pd.DataFrame:
    """The communes of ``region`` (all of them for the nation); InvalidInputError if unknown."""
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


def _graph_of(communes: pd.DataFrame, cuts: pd.Series) -> ScopeGraph:
    """The neighbour graph of ``cuts``, in that order, from the communes' polygons."""
    shapes = pd.Series(geometries(communes), index=communes["cut"].astype(str).to_numpy())
    shapes = shapes[~shapes.index.duplicated()]
    ordered = cuts.astype(str).to_numpy()
    return ScopeGraph(tuple(ordered), contiguity(shapes.reindex(ordered).to_numpy(dtype=object)))
