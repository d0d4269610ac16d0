"""Stage 6 of the scoring pipeline: explanations and the result tables.

Each function turns the arrays of the earlier stages (:class:`analysis.uncertainty.IndexModel`,
:class:`analysis.scoring.PointEstimate`, ``Uncertainty``) into one table of
:class:`analysis.result.ScoringResult`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis.challenges import Catalogue
from analysis.estimates import PointEstimate, Uncertainty
from analysis.formatting import format_value
from analysis.indicators import IDENTITY_COLUMNS
from analysis.inputs import AnalysisInputs
from analysis.model import IndexModel
from analysis.parameters import ScoringParameters
from analysis.portfolio import portfolio_table
from analysis.result import SCORE_COLUMNS
from analysis.spatial import contiguous_groups, local_moran
from analysis.wording import (
    composite_sentence,
    drivers_sentence,
    no_score_sentence,
    structural_gap_note,
    tier_label,
)

FloatArray = npt.NDArray[np.float64]


def structural_columns(model: IndexModel) -> npt.NDArray[np.bool_]:
    """Indicators left out of the scope by the comparability rule (too few communes with data)."""
    left_out: npt.NDArray[np.bool_] = model.unsupported
    return left_out


def notes_table(model: IndexModel, catalogue: Catalogue, communes: int) -> pd.DataFrame:
    """One note per challenge naming its indicators with a partial source."""
    structural = structural_columns(model)
    rows = []
    for position, challenge_id in enumerate(catalogue.challenge_ids):
        columns = np.flatnonzero((model.membership == position) & structural)
        if columns.size == 0:
            continue
        with_data = int(np.isfinite(model.values[:, columns]).any(axis=1).sum())
        labels = [catalogue.indicators[j].label for j in columns]
        rows.append(
            {
                "challenge": challenge_id,
                "note": structural_gap_note(
                    labels, with_data, communes, catalogue.settings.min_indicator_share
                ),
            }
        )
    return pd.DataFrame(rows, columns=["challenge", "note"], dtype=object)


def effective_weights(model: IndexModel, point: PointEstimate) -> tuple[FloatArray, FloatArray]:
    """Effective weights per commune and indicator: within challenge and in composite."""
    c = model.challenges
    present = ~np.isnan(point.normalised)
    within = np.zeros_like(point.normalised)
    for challenge in range(c):
        columns = np.flatnonzero(model.membership == challenge)
        weights = np.where(present[:, columns], model.indicator_weights[columns], 0.0)
        total = weights.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            within[:, columns] = weights / total
    has_score = point.eligible[:, :c]
    within = np.where(has_score[:, model.membership], within, np.nan)
    challenge_weights = np.where(has_score, model.challenge_weights, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        challenge_share = challenge_weights / challenge_weights.sum(axis=1, keepdims=True)
    composite = challenge_share[:, model.membership] * within
    composite = np.where(point.eligible[:, [c]], composite, np.nan)
    return within, composite


def scores_table(
    raw: pd.DataFrame,
    catalogue: Catalogue,
    params: ScoringParameters,
    model: IndexModel,
    point: PointEstimate,
    uncertainty: Uncertainty,
) -> pd.DataFrame:
    """The ``scores`` table: one row per commune and score, columns ``SCORE_COLUMNS``.

    Rows come score by score (catalogue order), communes in ``raw``'s order within each.
    """
    within, composite = effective_weights(model, point)
    structural = structural_columns(model)
    c = model.challenges
    scores = len(catalogue.score_ids)
    explanations: list[str] = []
    for position in range(scores):
        explanations += _explanations(
            catalogue,
            params,
            model,
            point,
            position,
            composite if position == c else within,
            structural,
        )

    def stacked(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """An (n, scores) array as one column, score after score."""
        return np.asarray(values).ravel(order="F")

    def labels(tiers: FloatArray) -> list[str]:
        return [tier_label(t, params.tier_count) for t in stacked(tiers)]

    # Built column by column over every score at once: one frame instead of one per score.
    table = pd.DataFrame(
        {
            "cut": np.tile(raw["cut"].astype(str).to_numpy(), scores),
            "name": np.tile(raw["name"].to_numpy(), scores),
            "region_code": np.tile(raw["region_code"].astype(str).to_numpy(), scores),
            "challenge": np.repeat(np.array(catalogue.score_ids, dtype=object), len(raw)),
            "score": stacked(point.scores),
            "rank": _nullable_int(stacked(point.ranks)),
            "tier": _nullable_int(stacked(point.tiers)),
            "tier_label": labels(point.tiers),
            "coverage": stacked(point.coverage),
            "indicators_available": stacked(point.available),
            "indicators_total": np.repeat(point.total, len(raw)),
            "challenges_available": stacked(
                np.column_stack(
                    [point.eligible[:, :c].astype(np.int64), point.challenges_available]
                )
            ),
            "median_rank": stacked(uncertainty.scope.median_rank),
            "rank_p05": stacked(uncertainty.scope.rank_p05),
            "rank_p95": stacked(uncertainty.scope.rank_p95),
            "top_tier_share": stacked(uncertainty.scope.top_tier_share),
            "rank_region": _nullable_int(stacked(uncertainty.region_point_rank)),
            "tier_region": _nullable_int(stacked(uncertainty.region_point_tier)),
            "tier_label_region": labels(uncertainty.region_point_tier),
            "median_rank_region": stacked(uncertainty.region.median_rank),
            "rank_p05_region": stacked(uncertainty.region.rank_p05),
            "rank_p95_region": stacked(uncertainty.region.rank_p95),
            "top_tier_share_region": stacked(uncertainty.region.top_tier_share),
            "explanation": explanations,
        }
    )
    return table[list(SCORE_COLUMNS)]


def _explanations(
    catalogue: Catalogue,
    params: ScoringParameters,
    model: IndexModel,
    point: PointEstimate,
    position: int,
    effective: FloatArray,
    structural: npt.NDArray[np.bool_],
) -> list[str]:
    c = model.challenges
    is_composite = position == c
    columns = (
        np.arange(len(catalogue.indicators))
        if is_composite
        else np.flatnonzero(model.membership == position)
    )
    contribution = effective[:, columns] * point.normalised[:, columns]
    counted = model.challenge_weights > 0
    # Largest contribution first (ties in catalogue order), for every commune at once.
    order = np.argsort(-np.nan_to_num(contribution, nan=-np.inf), axis=1, kind="stable")
    positive = np.take_along_axis(contribution > 0, order, axis=1)
    # Indicators this commune lacks where its source covers the scope; gaps of a whole
    # source are in ScoringResult.notes, once per challenge.
    lacking = (
        np.zeros((model.values.shape[0], columns.size), dtype=bool)
        if is_composite
        else ~structural[columns] & np.isnan(model.values[:, columns])
    )
    indicators = [catalogue.indicators[j] for j in columns]
    sentences = []
    for row in range(model.values.shape[0]):
        if not point.eligible[row, position]:
            sentences.append(
                no_score_sentence(
                    int(point.available[row, position]),
                    int(point.total[position]),
                    float(point.coverage[row, position]),
                    params.min_coverage,
                )
            )
            continue
        drivers = [
            (
                indicators[j].sentence_label,
                format_value(model.values[row, columns[j]], indicators[j].unit),
            )
            for j in order[row][positive[row]][:3]
        ]
        missing = [indicators[j].sentence_label for j in np.flatnonzero(lacking[row])]
        sentence = drivers_sentence(drivers, missing)
        if is_composite:
            absent = [
                catalogue.challenges[s].label
                for s in range(c)
                if counted[s] and not point.eligible[row, s]
            ]
            sentence = composite_sentence(
                sentence, int(point.challenges_available[row]), int(counted.sum()), absent
            )
        sentences.append(sentence)
    return sentences


def indicators_table(raw: pd.DataFrame, catalogue: Catalogue, point: PointEstimate) -> pd.DataFrame:
    """Raw indicators, context columns and normalised indicators (suffix ``_norm``)."""
    table = raw.copy()
    for position, indicator in enumerate(catalogue.indicators):
        table[f"{indicator.id}_norm"] = point.normalised[:, position]
    ordered = [*IDENTITY_COLUMNS, *[c for c in table.columns if c not in IDENTITY_COLUMNS]]
    return table[ordered]


def contributions_table(
    raw: pd.DataFrame, catalogue: Catalogue, model: IndexModel, point: PointEstimate
) -> pd.DataFrame:
    """Long table of every indicator's weight and contribution to every score."""
    within, composite = effective_weights(model, point)
    n, k = point.normalised.shape
    challenge_ids = catalogue.challenge_ids
    challenge_total = np.array(
        [model.indicator_weights[model.membership == c].sum() for c in range(len(challenge_ids))]
    )
    share = model.challenge_weights / model.challenge_weights.sum()
    # A challenge whose indicators are all left out of the scope weighs nothing in it.
    with np.errstate(invalid="ignore", divide="ignore"):
        nominal_composite = np.where(
            challenge_total[model.membership] > 0,
            share[model.membership] * model.indicator_weights / challenge_total[model.membership],
            0.0,
        )
    indicators = catalogue.indicators
    blocks = []
    for score_id, effective, nominal in (
        *((c, within, model.indicator_weights) for c in challenge_ids),
        (catalogue.composite_id, composite, nominal_composite),
    ):
        if score_id == catalogue.composite_id:
            columns = np.arange(k)
        else:
            columns = np.flatnonzero(model.membership == challenge_ids.index(score_id))
        rows = np.repeat(np.arange(n), columns.size)
        cols = np.tile(columns, n)
        blocks.append(
            pd.DataFrame(
                {
                    "cut": raw["cut"].astype(str).to_numpy()[rows],
                    "challenge": score_id,
                    "indicator": [indicators[j].id for j in cols],
                    "indicator_challenge": [indicators[j].challenge for j in cols],
                    "label": [indicators[j].label for j in cols],
                    "unit": [indicators[j].unit for j in cols],
                    "raw_value": model.values[rows, cols],
                    "normalised": point.normalised[rows, cols],
                    "weight": nominal[cols],
                    "effective_weight": effective[rows, cols],
                    "contribution": effective[rows, cols] * point.normalised[rows, cols],
                }
            )
        )
    return pd.concat(blocks, ignore_index=True)


def clusters_table(
    raw: pd.DataFrame,
    catalogue: Catalogue,
    params: ScoringParameters,
    point: PointEstimate,
    neighbours: dict[int, list[int]],
    seeds: list[int],
) -> pd.DataFrame:
    """Local Moran's I of every score."""
    frames = []
    for position, score_id in enumerate(catalogue.score_ids):
        moran = local_moran(
            point.scores[:, position],
            neighbours,
            params.moran_permutations,
            seeds[position],
            params.moran_significance,
        )
        moran.insert(0, "challenge", score_id)
        moran.insert(0, "cut", raw["cut"].astype(str).to_numpy())
        frames.append(moran)
    return pd.concat(frames, ignore_index=True)


def groups_table(
    raw: pd.DataFrame,
    catalogue: Catalogue,
    params: ScoringParameters,
    model: IndexModel,
    point: PointEstimate,
    neighbours: dict[int, list[int]],
) -> pd.DataFrame:
    """Contiguous groups of priority communes, per score."""
    frames = []
    c = model.challenges
    for position, score_id in enumerate(catalogue.score_ids):
        tier = point.tiers[:, position]
        priority = np.isfinite(tier) & (tier <= params.priority_tiers)
        if position < c:
            attributes = point.normalised[:, model.membership == position]
        else:
            attributes = point.scores[:, :c]
        labels = contiguous_groups(
            priority, _fill_columns(attributes, priority), neighbours, params.max_group_size
        )
        grouped = np.flatnonzero(labels >= 0)
        if grouped.size == 0:
            continue
        # Number groups by their best-ranked member so ids read in priority order.
        best = pd.Series(point.ranks[grouped, position]).groupby(labels[grouped]).min()
        order = {
            label: index + 1 for index, label in enumerate(best.sort_values(kind="stable").index)
        }
        sizes = pd.Series(labels[grouped]).value_counts()
        frames.append(
            pd.DataFrame(
                {
                    "cut": raw["cut"].astype(str).to_numpy()[grouped],
                    "name": raw["name"].to_numpy()[grouped],
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
    return table.sort_values(["challenge", "group_id", "cut"], kind="stable").reset_index(drop=True)


def reference_table(catalogue: Catalogue, model: IndexModel, point: PointEstimate) -> pd.DataFrame:
    """Normalisation reference of each indicator in this scope."""
    rows = []
    for position, indicator in enumerate(catalogue.indicators):
        prepared = point.prepared[:, position]
        has_values = bool(np.isfinite(prepared).any())
        low = float(np.nanmin(prepared)) if has_values else math.nan
        high = float(np.nanmax(prepared)) if has_values else math.nan
        logged = model.log_skewed and indicator.skewed
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
                "communes_with_data": int(np.isfinite(model.values[:, position]).sum()),
                "used": not bool(model.unsupported[position]),
                "clip_low_raw": raw_bounds[0],
                "clip_high_raw": raw_bounds[1],
                "prepared_min": low,
                "prepared_max": high,
                "prepared_mean": float(np.nanmean(prepared)) if has_values else math.nan,
                "prepared_sd": float(np.nanstd(prepared)) if has_values else math.nan,
                "target_raw": math.nan if indicator.target is None else indicator.target,
                "prepared_target": float(point.prepared_targets[position]),
                "weight": float(indicator.weight),
            }
        )
    return pd.DataFrame(rows)


def portfolio_stage(
    raw: pd.DataFrame,
    inputs: AnalysisInputs,
    catalogue: Catalogue,
    params: ScoringParameters,
    point: PointEstimate,
) -> pd.DataFrame:
    """Huella Local presence and projects beside the priority tiers."""
    tiers_by_cut = pd.DataFrame(
        point.tiers, columns=list(catalogue.score_ids), index=raw["cut"].astype(str)
    )
    return portfolio_table(
        raw,
        inputs.huella_presence,
        inputs.project_sites,
        tiers_by_cut,
        catalogue.composite_id,
        params.priority_tiers,
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
        zeros: FloatArray = np.nan_to_num(values)
        return zeros
    with np.errstate(invalid="ignore"):
        counts = np.isfinite(values[rows]).sum(axis=0)
        sums = np.nansum(values[rows], axis=0)
        means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return np.where(np.isfinite(values), values, means)
