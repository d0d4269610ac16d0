"""Score, rank, tier, explain and bound the uncertainty of every commune's gaps.

:func:`score_communes` is the single entry point used by the CLI, the API and the map. It is
pure: tables in, tables out, with all randomness drawn from ``numpy.random.Generator``
instances seeded from ``ScoringParameters.seed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from analysis.aggregation import (
    Aggregation,
    TierMethod,
    aggregate,
    combine_challenges,
    rank_descending,
    tiers,
)
from analysis.challenges import Catalogue, apply_weights, load_catalogue
from analysis.digest import tables_digest
from analysis.explain import (
    drivers_sentence,
    format_value,
    no_score_sentence,
    tier_label,
)
from analysis.geometry import contiguity, geometries
from analysis.indicators import IDENTITY_COLUMNS, compute_indicators
from analysis.inputs import AnalysisInputs
from analysis.normalisation import Normalization, OutlierTreatment, normalise, prepare_matrix
from analysis.portfolio import portfolio_table
from analysis.spatial import contiguous_groups, local_moran
from analysis.uncertainty import VALID_VARIANTS, simulate_ranks, summarise_ranks

FloatArray = npt.NDArray[np.float64]
#: Tolerance when comparing a coverage with the minimum (0.3 + 0.3 must reach 0.6).
_COVERAGE_TOLERANCE = 1e-9

SCORE_COLUMNS = (
    "cut",
    "name",
    "region_code",
    "challenge",
    "score",
    "rank",
    "tier",
    "tier_label",
    "coverage",
    "indicators_available",
    "indicators_total",
    "median_rank",
    "rank_p05",
    "rank_p95",
    "top_tier_share",
    "explanation",
)


class ScoringParameters(BaseModel):
    """Parameters of one scoring run; ``model_dump()`` gives the JSON stored with the run.

    Attributes
    ----------
    region : str or None
        Two-digit region code to compare communes within one region; ``None`` is national.
    challenge_weights : dict
        Challenge id -> weight in the composite, overriding the catalogue.
    indicator_weights : dict
        Indicator id -> weight inside its challenge, overriding the catalogue.
    normalization : {"minmax", "zscore", "rank", "target"}
        Normalisation of the point estimate.
    aggregation : {"arithmetic", "geometric"}
        Aggregation of the point estimate (z-scores only arithmetic).
    outlier_treatment : {"log_winsorize", "winsorize", "log", "none"}
        ``log`` applies ``log(1 + x)`` to indicators marked skewed; ``winsorize`` clips every
        indicator to its ``winsor_quantile`` and ``1 - winsor_quantile`` quantiles.
    winsor_quantile : float
        Tail share clipped by winsorisation.
    min_coverage : float
        Minimum share of a challenge's weight with data for the score to be computed.
    min_indicator_communes : int
        An indicator with data for fewer communes of the scope than this (or than all of
        them, in a smaller scope) is not used: a relative normalisation over two or three
        communes means nothing. Its raw values stay in the tables.
    tier_count : int
        Number of priority tiers.
    tier_method : {"quantiles", "natural_breaks"}
        Tier classification (mapclassify Quantiles or FisherJenks).
    draws : int
        Monte Carlo draws; 0 skips the uncertainty analysis.
    weight_spread : float
        Weights are drawn uniformly within ``±weight_spread`` of their default (relative).
    vary_methods : bool
        Whether the draws also vary normalisation and aggregation.
    seed : int
        Seed of every random generator of the run.
    moran_permutations : int
        Permutations of the Local Moran's I pseudo p-values.
    moran_significance : float
        Pseudo p-value threshold of a reported cluster.
    priority_tiers : int
        Tiers considered priority (for groups and uncovered high gaps).
    max_group_size : int
        Target largest size of a proposed intercommunal group.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str | None = Field(default=None, pattern=r"^\d{2}$")
    challenge_weights: dict[str, float] = Field(default_factory=dict)
    indicator_weights: dict[str, float] = Field(default_factory=dict)
    normalization: Normalization = "minmax"
    aggregation: Aggregation = "arithmetic"
    outlier_treatment: OutlierTreatment = "log_winsorize"
    winsor_quantile: float = Field(default=0.025, ge=0.0, lt=0.5)
    min_coverage: float = Field(default=0.5, gt=0.0, le=1.0)
    min_indicator_communes: int = Field(default=5, ge=1)
    tier_count: int = Field(default=5, ge=2, le=10)
    tier_method: TierMethod = "quantiles"
    draws: int = Field(default=1000, ge=0, le=100_000)
    weight_spread: float = Field(default=0.5, ge=0.0, lt=1.0)
    vary_methods: bool = True
    seed: int = Field(default=2025, ge=0, lt=2**63)
    moran_permutations: int = Field(default=999, ge=99, le=99_999)
    moran_significance: float = Field(default=0.05, gt=0.0, lt=1.0)
    priority_tiers: int = Field(default=1, ge=1)
    max_group_size: int = Field(default=8, ge=2)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.normalization == "zscore" and self.aggregation == "geometric":
            raise ValueError(
                "La media geométrica necesita valores no negativos: use zscore sólo con "
                "agregación aritmética"
            )
        if self.priority_tiers > self.tier_count:
            raise ValueError("priority_tiers no puede superar tier_count")
        for name, weights in (
            ("challenge_weights", self.challenge_weights),
            ("indicator_weights", self.indicator_weights),
        ):
            for key, value in weights.items():
                if not math.isfinite(value) or value < 0:
                    raise ValueError(f"{name}[{key!r}] debe ser un número finito no negativo")
        return self


@dataclass(frozen=True)
class ScoringResult:
    """All result tables of one run, with the parameters and catalogue that produced them.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per commune and score id (challenges and composite), columns
        :data:`SCORE_COLUMNS`, sorted by challenge (catalogue order) then CUT.
    indicators : pandas.DataFrame
        One row per commune: identity, context columns, raw indicators and normalised
        indicators (suffix ``_norm``).
    contributions : pandas.DataFrame
        Long table ``cut, challenge, indicator, indicator_challenge, label, unit, raw_value,
        normalised, weight, effective_weight, contribution``.
    clusters : pandas.DataFrame
        Local Moran's I per commune and score: ``cut, challenge, moran_i, p_value,
        quadrant``.
    groups : pandas.DataFrame
        Proposed contiguous priority groups: ``cut, name, challenge, group_id, group_size``.
    portfolio : pandas.DataFrame
        Huella Local presence, projects and ``high_gap_without_intervention`` per commune.
    reference : pandas.DataFrame
        One row per indicator: how its values were transformed and normalised in this scope
        (clip limits in raw units, min, max, mean and sd on the prepared scale, target), so an
        analyst can recompute any normalised value by hand.
    parameters : ScoringParameters
        Parameters of the run.
    catalogue : Catalogue
        Catalogue after weight overrides.
    scope_label : str
        ``nacional`` or ``región XX``.
    communes_in_scope : int
        Number of communes compared.
    """

    scores: pd.DataFrame
    indicators: pd.DataFrame
    contributions: pd.DataFrame
    clusters: pd.DataFrame
    groups: pd.DataFrame
    portfolio: pd.DataFrame
    reference: pd.DataFrame
    parameters: ScoringParameters
    catalogue: Catalogue
    scope_label: str
    communes_in_scope: int
    _ranked: dict[str, int] = field(default_factory=dict, repr=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return the result tables by name, in canonical order."""
        return {
            "scores": self.scores,
            "indicators": self.indicators,
            "contributions": self.contributions,
            "clusters": self.clusters,
            "groups": self.groups,
            "portfolio": self.portfolio,
            "reference": self.reference,
        }

    def digest(self) -> str:
        """Return the sha256 hex digest of the canonical serialisation of the tables."""
        return tables_digest(self.tables())

    def ranked_count(self, challenge: str) -> int:
        """Return how many communes have a score for ``challenge``."""
        return self._ranked.get(challenge, 0)


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
    ValueError
        Unknown region, or an indicator column missing from the raw indicators.
    KeyError
        A weight override names an unknown indicator or challenge.
    """
    params = params or ScoringParameters()
    catalogue = catalogue or load_catalogue()
    if params.indicator_weights or params.challenge_weights:
        catalogue = apply_weights(
            catalogue,
            {"indicators": params.indicator_weights, "challenges": params.challenge_weights},
        )
    raw = compute_indicators(inputs, catalogue) if raw_indicators is None else raw_indicators
    raw = _scope(raw, params.region)
    absent = [i.column for i in catalogue.indicators if i.column not in raw.columns]
    if absent:
        raise ValueError(f"Faltan columnas de indicadores en los datos: {', '.join(absent)}")

    model = _ScoringModel(raw, catalogue, params)
    shapes = _shapes_in_order(inputs.communes, raw["cut"])
    neighbours = contiguity(shapes)
    scores = model.scores_table()
    ranked = {
        score_id: int(np.isfinite(model.scores[:, position]).sum())
        for position, score_id in enumerate(catalogue.score_ids)
    }
    return ScoringResult(
        scores=scores,
        indicators=model.indicators_table(),
        contributions=model.contributions_table(),
        clusters=model.clusters_table(neighbours),
        groups=model.groups_table(neighbours),
        portfolio=model.portfolio_table(inputs),
        reference=model.reference_table(),
        parameters=params,
        catalogue=catalogue,
        scope_label="nacional" if params.region is None else f"región {params.region}",
        communes_in_scope=len(raw),
        _ranked=ranked,
    )


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
    ValueError
        If the challenge is not in the catalogue of the result.
    """
    if challenge not in result.catalogue.score_ids:
        raise ValueError(
            f"Desafío desconocido {challenge!r}; opciones: {', '.join(result.catalogue.score_ids)}"
        )
    table = result.scores[result.scores["challenge"] == challenge]
    return table.sort_values(["rank", "cut"], na_position="last", kind="stable").reset_index(
        drop=True
    )


def _scope(raw: pd.DataFrame, region: str | None) -> pd.DataFrame:
    table = raw.sort_values("cut", kind="stable").reset_index(drop=True)
    if region is None:
        return table
    regions = sorted(table["region_code"].dropna().astype(str).unique())
    if region not in regions:
        raise ValueError(
            f"Región desconocida {region!r}; regiones con comunas: {', '.join(regions)}"
        )
    return table[table["region_code"].astype(str) == region].reset_index(drop=True)


def _shapes_in_order(communes: pd.DataFrame, cuts: pd.Series) -> npt.NDArray[np.object_]:
    shapes = pd.Series(geometries(communes), index=communes["cut"].astype(str).to_numpy())
    shapes = shapes[~shapes.index.duplicated()]
    return shapes.reindex(cuts.astype(str).to_numpy()).to_numpy(dtype=object)


class _ScoringModel:
    """Point estimate, Monte Carlo and table assembly for one scope."""

    def __init__(self, raw: pd.DataFrame, catalogue: Catalogue, params: ScoringParameters) -> None:
        self.raw = raw
        self.catalogue = catalogue
        self.params = params
        self.indicators = catalogue.indicators
        self.challenge_ids = catalogue.challenge_ids
        self.membership = np.array(
            [self.challenge_ids.index(i.challenge) for i in self.indicators], dtype=np.int64
        )
        self.weights = np.array([i.weight for i in self.indicators], dtype=float)
        self.challenge_weights = np.array([c.weight for c in catalogue.challenges], dtype=float)
        values = raw[[i.column for i in self.indicators]].to_numpy(dtype=float)
        self.values = np.where(np.isfinite(values), values, np.nan)
        targets = np.array(
            [np.nan if i.target is None else i.target for i in self.indicators], dtype=float
        )
        self.prepared, self.prepared_targets = prepare_matrix(
            self.values,
            np.array([i.direction == "higher_is_worse" for i in self.indicators]),
            np.array([i.skewed for i in self.indicators]),
            params.outlier_treatment,
            params.winsor_quantile,
            targets,
        )
        support = np.isfinite(self.values).sum(axis=0)
        self.unsupported = support < min(params.min_indicator_communes, len(raw))
        self.prepared[:, self.unsupported] = np.nan
        self.normalised = normalise(self.prepared, params.normalization, self.prepared_targets)
        self._point_estimate()
        self._uncertainty()

    # ------------------------------------------------------------------ computation

    def _point_estimate(self) -> None:
        n, challenges = len(self.raw), len(self.challenge_ids)
        params = self.params
        self.scores = np.full((n, challenges + 1), np.nan)
        self.coverage = np.zeros((n, challenges + 1))
        self.available = np.zeros((n, challenges + 1), dtype=int)
        self.total = np.zeros(challenges + 1, dtype=int)
        present = ~np.isnan(self.normalised)
        for c in range(challenges):
            columns = np.flatnonzero(self.membership == c)
            score, coverage = aggregate(
                self.normalised[:, columns], self.weights[columns], params.aggregation
            )
            enough = coverage >= params.min_coverage - _COVERAGE_TOLERANCE
            self.scores[:, c] = np.where(enough, score, np.nan)
            self.coverage[:, c] = coverage
            positive = columns[self.weights[columns] > 0]
            self.available[:, c] = present[:, positive].sum(axis=1)
            self.total[c] = positive.size
        composite = combine_challenges(
            self.scores[:, :challenges, None], self.challenge_weights[:, None], params.aggregation
        )[:, 0]
        composite_coverage = (self.coverage[:, :challenges] @ self.challenge_weights) / (
            self.challenge_weights.sum()
        )
        enough = composite_coverage >= params.min_coverage - _COVERAGE_TOLERANCE
        self.scores[:, challenges] = np.where(enough, composite, np.nan)
        self.coverage[:, challenges] = composite_coverage
        counted = self.challenge_weights > 0
        self.available[:, challenges] = self.available[:, :challenges][:, counted].sum(axis=1)
        self.total[challenges] = self.total[:challenges][counted].sum()

        self.ranks = rank_descending(self.scores)
        self.tiers = np.column_stack(
            [
                tiers(self.scores[:, s], params.tier_count, params.tier_method)
                for s in range(challenges + 1)
            ]
        )
        self.eligible = np.isfinite(self.scores)

    def _uncertainty(self) -> None:
        params = self.params
        shape = self.scores.shape
        self.median_rank = np.full(shape, np.nan)
        self.rank_p05 = np.full(shape, np.nan)
        self.rank_p95 = np.full(shape, np.nan)
        self.top_tier_share = np.full(shape, np.nan)
        seeds = np.random.SeedSequence(params.seed).spawn(2)
        self.moran_seeds = [int(s) for s in seeds[1].generate_state(shape[1], dtype=np.uint32)]
        if params.draws == 0:
            return
        variants = (
            VALID_VARIANTS if params.vary_methods else ((params.normalization, params.aggregation),)
        )
        normalised = {
            method: (
                self.normalised
                if method == params.normalization
                else normalise(self.prepared, method, self.prepared_targets)
            )
            for method in {v[0] for v in variants}
        }
        drawn = simulate_ranks(
            normalised,
            self.membership,
            self.weights,
            self.challenge_weights,
            self.eligible,
            variants,
            params.draws,
            params.weight_spread,
            np.random.default_rng(seeds[0]),
        )
        top_size = (self.tiers == 1).sum(axis=0).astype(float)
        summary = summarise_ranks(drawn, self.ranks, top_size)
        self.median_rank = summary.median_rank
        self.rank_p05 = summary.rank_p05
        self.rank_p95 = summary.rank_p95
        self.top_tier_share = summary.top_tier_share

    def _effective_weights(self) -> tuple[FloatArray, FloatArray]:
        """Effective weights per commune and indicator: within challenge and in composite."""
        challenges = len(self.challenge_ids)
        present = ~np.isnan(self.normalised)
        within = np.zeros_like(self.normalised)
        for c in range(challenges):
            columns = np.flatnonzero(self.membership == c)
            weights = np.where(present[:, columns], self.weights[columns], 0.0)
            total = weights.sum(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                within[:, columns] = weights / total
        has_score = self.eligible[:, :challenges]
        within = np.where(has_score[:, self.membership], within, np.nan)
        challenge_weights = np.where(has_score, self.challenge_weights, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            challenge_share = challenge_weights / challenge_weights.sum(axis=1, keepdims=True)
        composite = challenge_share[:, self.membership] * within
        composite = np.where(self.eligible[:, [challenges]], composite, np.nan)
        return within, composite

    # ------------------------------------------------------------------------ tables

    def scores_table(self) -> pd.DataFrame:
        within, composite = self._effective_weights()
        frames = []
        for position, score_id in enumerate(self.catalogue.score_ids):
            is_composite = score_id == self.catalogue.composite_id
            effective = composite if is_composite else within
            explanation = self._explanations(position, effective, is_composite)
            frames.append(
                pd.DataFrame(
                    {
                        "cut": self.raw["cut"].astype(str).to_numpy(),
                        "name": self.raw["name"].to_numpy(),
                        "region_code": self.raw["region_code"].astype(str).to_numpy(),
                        "challenge": score_id,
                        "score": self.scores[:, position],
                        "rank": _nullable_int(self.ranks[:, position]),
                        "tier": _nullable_int(self.tiers[:, position]),
                        "tier_label": [
                            tier_label(t, self.params.tier_count) for t in self.tiers[:, position]
                        ],
                        "coverage": self.coverage[:, position],
                        "indicators_available": self.available[:, position],
                        "indicators_total": self.total[position],
                        "median_rank": self.median_rank[:, position],
                        "rank_p05": self.rank_p05[:, position],
                        "rank_p95": self.rank_p95[:, position],
                        "top_tier_share": self.top_tier_share[:, position],
                        "explanation": explanation,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)[list(SCORE_COLUMNS)]

    def _explanations(self, position: int, effective: FloatArray, is_composite: bool) -> list[str]:
        columns = (
            np.arange(len(self.indicators))
            if is_composite
            else np.flatnonzero(self.membership == position)
        )
        contribution = effective[:, columns] * self.normalised[:, columns]
        sentences = []
        for row in range(len(self.raw)):
            available = int(self.available[row, position])
            total = int(self.total[position])
            if not self.eligible[row, position]:
                sentences.append(
                    no_score_sentence(
                        available, total, self.coverage[row, position], self.params.min_coverage
                    )
                )
                continue
            values = contribution[row]
            order = [
                j
                for j in np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")
                if values[j] > 0
            ]
            drivers = []
            for j in order[:3]:
                indicator = self.indicators[columns[j]]
                drivers.append(
                    (
                        indicator.sentence_label,
                        format_value(self.values[row, columns[j]], indicator.unit),
                    )
                )
            sentences.append(drivers_sentence(drivers, available, total))
        return sentences

    def indicators_table(self) -> pd.DataFrame:
        table = self.raw.copy()
        for position, indicator in enumerate(self.indicators):
            table[f"{indicator.id}_norm"] = self.normalised[:, position]
        ordered = [*IDENTITY_COLUMNS, *[c for c in table.columns if c not in IDENTITY_COLUMNS]]
        return table[ordered]

    def contributions_table(self) -> pd.DataFrame:
        within, composite = self._effective_weights()
        n, k = self.normalised.shape
        challenge_total = np.array(
            [self.weights[self.membership == c].sum() for c in range(len(self.challenge_ids))]
        )
        share = self.challenge_weights / self.challenge_weights.sum()
        nominal_composite = share[self.membership] * self.weights / challenge_total[self.membership]
        blocks = []
        for score_id, effective, nominal in (
            *((c, within, self.weights) for c in self.challenge_ids),
            (self.catalogue.composite_id, composite, nominal_composite),
        ):
            if score_id == self.catalogue.composite_id:
                columns = np.arange(k)
            else:
                columns = np.flatnonzero(self.membership == self.challenge_ids.index(score_id))
            rows = np.repeat(np.arange(n), columns.size)
            cols = np.tile(columns, n)
            blocks.append(
                pd.DataFrame(
                    {
                        "cut": self.raw["cut"].astype(str).to_numpy()[rows],
                        "challenge": score_id,
                        "indicator": [self.indicators[j].id for j in cols],
                        "indicator_challenge": [self.indicators[j].challenge for j in cols],
                        "label": [self.indicators[j].label for j in cols],
                        "unit": [self.indicators[j].unit for j in cols],
                        "raw_value": self.values[rows, cols],
                        "normalised": self.normalised[rows, cols],
                        "weight": nominal[cols],
                        "effective_weight": effective[rows, cols],
                        "contribution": effective[rows, cols] * self.normalised[rows, cols],
                    }
                )
            )
        return pd.concat(blocks, ignore_index=True)

    def clusters_table(self, neighbours: dict[int, list[int]]) -> pd.DataFrame:
        frames = []
        for position, score_id in enumerate(self.catalogue.score_ids):
            moran = local_moran(
                self.scores[:, position],
                neighbours,
                self.params.moran_permutations,
                self.moran_seeds[position],
                self.params.moran_significance,
            )
            moran.insert(0, "challenge", score_id)
            moran.insert(0, "cut", self.raw["cut"].astype(str).to_numpy())
            frames.append(moran)
        return pd.concat(frames, ignore_index=True)

    def groups_table(self, neighbours: dict[int, list[int]]) -> pd.DataFrame:
        frames = []
        challenges = len(self.challenge_ids)
        for position, score_id in enumerate(self.catalogue.score_ids):
            tier = self.tiers[:, position]
            priority = np.isfinite(tier) & (tier <= self.params.priority_tiers)
            if position < challenges:
                attributes = self.normalised[:, self.membership == position]
            else:
                attributes = self.scores[:, :challenges]
            labels = contiguous_groups(
                priority,
                _fill_columns(attributes, priority),
                neighbours,
                self.params.max_group_size,
            )
            grouped = np.flatnonzero(labels >= 0)
            if grouped.size == 0:
                continue
            # Number groups by their best-ranked member so ids read in priority order.
            best = pd.Series(self.ranks[grouped, position]).groupby(labels[grouped]).min()
            order = {
                label: index + 1
                for index, label in enumerate(best.sort_values(kind="stable").index)
            }
            sizes = pd.Series(labels[grouped]).value_counts()
            frames.append(
                pd.DataFrame(
                    {
                        "cut": self.raw["cut"].astype(str).to_numpy()[grouped],
                        "name": self.raw["name"].to_numpy()[grouped],
                        "challenge": score_id,
                        "group_id": [f"{score_id}-{order[label]:02d}" for label in labels[grouped]],
                        "group_size": [int(sizes[label]) for label in labels[grouped]],
                    }
                )
            )
        columns = ["cut", "name", "challenge", "group_id", "group_size"]
        if not frames:
            return pd.DataFrame(
                {c: pd.Series(dtype=int if c == "group_size" else object) for c in columns}
            )
        table = pd.concat(frames, ignore_index=True)
        return table.sort_values(["challenge", "group_id", "cut"], kind="stable").reset_index(
            drop=True
        )

    def reference_table(self) -> pd.DataFrame:
        """Normalisation reference of each indicator in this scope."""
        log_applied = self.params.outlier_treatment in ("log", "log_winsorize")
        rows = []
        for position, indicator in enumerate(self.indicators):
            prepared = self.prepared[:, position]
            has_values = bool(np.isfinite(prepared).any())
            low = float(np.nanmin(prepared)) if has_values else math.nan
            high = float(np.nanmax(prepared)) if has_values else math.nan
            logged = log_applied and indicator.skewed
            sign = 1.0 if indicator.direction == "higher_is_worse" else -1.0
            raw_bounds = sorted(_to_raw(sign * bound, logged) for bound in (low, high))
            rows.append(
                {
                    "indicator": indicator.id,
                    "challenge": indicator.challenge,
                    "label": indicator.label,
                    "unit": indicator.unit,
                    "direction": indicator.direction,
                    "log_transform": logged,
                    "communes_with_data": int(np.isfinite(self.values[:, position]).sum()),
                    "used": not bool(self.unsupported[position]),
                    "clip_low_raw": raw_bounds[0],
                    "clip_high_raw": raw_bounds[1],
                    "prepared_min": low,
                    "prepared_max": high,
                    "prepared_mean": float(np.nanmean(prepared)) if has_values else math.nan,
                    "prepared_sd": float(np.nanstd(prepared)) if has_values else math.nan,
                    "target_raw": math.nan if indicator.target is None else indicator.target,
                    "prepared_target": float(self.prepared_targets[position]),
                    "weight": float(indicator.weight),
                }
            )
        return pd.DataFrame(rows)

    def portfolio_table(self, inputs: AnalysisInputs) -> pd.DataFrame:
        tiers_by_cut = pd.DataFrame(
            self.tiers, columns=list(self.catalogue.score_ids), index=self.raw["cut"].astype(str)
        )
        return portfolio_table(
            self.raw,
            inputs.huella_presence,
            inputs.project_sites,
            tiers_by_cut,
            self.catalogue.composite_id,
            self.params.priority_tiers,
        )


def _nullable_int(values: FloatArray) -> pd.Series:
    """Whole numbers with gaps as pandas' nullable integer (ranks and tiers)."""
    return pd.Series(values).round().astype("Int64")


def _to_raw(prepared_value: float, logged: bool) -> float:
    """Invert the log transform of one un-oriented prepared value back to raw units."""
    if not logged or math.isnan(prepared_value):
        return prepared_value + 0.0
    # Adding 0.0 turns a negative zero into zero, which prints as "0" in the tables.
    return math.copysign(math.expm1(abs(prepared_value)), prepared_value) + 0.0


def _fill_columns(attributes: FloatArray, rows: npt.NDArray[np.bool_]) -> FloatArray:
    """Fill missing attributes of the selected rows with the column mean among them (or 0)."""
    values = np.array(attributes, dtype=float, copy=True)
    if not rows.any():
        return np.nan_to_num(values)
    with np.errstate(invalid="ignore"):
        counts = np.isfinite(values[rows]).sum(axis=0)
        sums = np.nansum(values[rows], axis=0)
        means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return np.where(np.isfinite(values), values, means)
