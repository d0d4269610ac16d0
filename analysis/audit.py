"""Statistical coherence audit of the index, as the JRC and COINr do before publishing one.

Per challenge, on the normalised indicators of the point estimate (oriented so that a larger
value is a larger gap):

- Pearson correlations among the indicators and of each indicator with its challenge score;
- Cronbach's alpha (internal consistency) and the share of variance of the first principal
  component of the indicators' correlation matrix (one dimension or several);
- a flag on every indicator whose correlation with its own challenge is negative, i.e. runs
  against the direction it declares (it lowers the gap where the challenge says it is high);
- a flag on every pair of indicators, in the same or in different challenges, with
  ``|r| > 0.9``: double counting.

A flag is *documented* when the catalogue explains it: an indicator's ``notes`` naming the
other indicator's id (pairs) or containing the word ``auditoría`` (direction, any case). The shipped
catalogue passes when every flag is documented.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis.challenges import Catalogue, Indicator
from analysis.scoring import ScoredModel

FloatArray = npt.NDArray[np.float64]
#: |r| above which two indicators count the same thing twice (COINr's default threshold).
COLLINEAR_R = 0.9
#: Fewer common communes than this and a correlation is not computed.
MIN_PAIRS = 10
AUDIT_MARK = "auditoría"


@dataclass(frozen=True)
class AuditResult:
    """The coherence audit of one scope.

    Attributes
    ----------
    challenges : pandas.DataFrame
        ``challenge, label, indicators, communes_complete, cronbach_alpha, pc1_share,
        flags, undocumented``.
    indicators : pandas.DataFrame
        ``challenge, indicator, label, communes_with_data, r_with_challenge, against_direction,
        documented``.
    pairs : pandas.DataFrame
        ``indicator_a, indicator_b, challenge_a, challenge_b, communes, r, collinear,
        documented`` for every pair of used indicators.
    scope_label : str
    """

    challenges: pd.DataFrame
    indicators: pd.DataFrame
    pairs: pd.DataFrame
    scope_label: str

    @property
    def flags(self) -> pd.DataFrame:
        """Every flag, documented or not: ``kind, challenge, subject, r, documented``."""
        rows = [
            {
                "kind": "dirección",
                "challenge": row["challenge"],
                "subject": row["indicator"],
                "r": row["r_with_challenge"],
                "documented": row["documented"],
            }
            for row in self.indicators[self.indicators["against_direction"]].to_dict("records")
        ]
        rows += [
            {
                "kind": "|r| > 0,9",
                "challenge": row["challenge_a"]
                if row["challenge_a"] == row["challenge_b"]
                else f"{row['challenge_a']} / {row['challenge_b']}",
                "subject": f"{row['indicator_a']} ~ {row['indicator_b']}",
                "r": row["r"],
                "documented": row["documented"],
            }
            for row in self.pairs[self.pairs["collinear"]].to_dict("records")
        ]
        return pd.DataFrame(rows, columns=["kind", "challenge", "subject", "r", "documented"])

    @property
    def passed(self) -> bool:
        """Whether every flag is documented in the catalogue."""
        flags = self.flags
        return bool(flags.empty or flags["documented"].all())


def audit_index(scored: ScoredModel, scope_label: str = "nacional") -> AuditResult:
    """Audit the coherence of every challenge of a scored index.

    Parameters
    ----------
    scored : ScoredModel
        Output of :func:`analysis.scoring.scored_model`.
    scope_label : str
        Scope shown in reports.

    Returns
    -------
    AuditResult
    """
    catalogue = scored.catalogue
    model, point = scored.model, scored.point
    used = ~model.unsupported & (model.indicator_weights > 0)
    normalised = point.normalised
    indicator_rows = []
    challenge_rows = []
    for position, challenge in enumerate(catalogue.challenges):
        columns = np.flatnonzero((model.membership == position) & used)
        score = point.scores[:, position]
        for j in columns:
            r = _pearson(normalised[:, j], score)
            indicator = catalogue.indicators[j]
            against = bool(np.isfinite(r) and r < 0)
            indicator_rows.append(
                {
                    "challenge": challenge.id,
                    "indicator": indicator.id,
                    "label": indicator.label,
                    "communes_with_data": int(np.isfinite(normalised[:, j]).sum()),
                    "r_with_challenge": r,
                    "against_direction": against,
                    "documented": (not against) or _mentions(indicator, AUDIT_MARK),
                }
            )
        block = normalised[:, columns]
        complete = block[np.isfinite(block).all(axis=1)]
        challenge_rows.append(
            {
                "challenge": challenge.id,
                "label": challenge.label,
                "indicators": int(columns.size),
                "communes_complete": len(complete),
                "cronbach_alpha": cronbach_alpha(complete),
                "pc1_share": first_component_share(complete),
            }
        )
    indicators = pd.DataFrame(indicator_rows)
    pairs = _pairs(catalogue, normalised, model.membership, used)
    challenges = pd.DataFrame(challenge_rows)
    result = AuditResult(challenges, indicators, pairs, scope_label)
    flags = result.flags
    for frame_column, values in (
        (
            "flags",
            [int((flags["challenge"].str.contains(c)).sum()) for c in challenges["challenge"]],
        ),
        (
            "undocumented",
            [
                int((flags["challenge"].str.contains(c) & ~flags["documented"]).sum())
                for c in challenges["challenge"]
            ],
        ),
    ):
        challenges[frame_column] = values
    return result


def cronbach_alpha(items: FloatArray) -> float:
    """Cronbach's alpha of complete cases ``(n, k)``: ``k/(k-1) (1 - sum var_j / var(sum))``.

    ``NaN`` with fewer than two items or two cases, or when the total does not vary.
    """
    n, k = items.shape
    if k < 2 or n < 2:
        return float("nan")
    item_variance = items.var(axis=0, ddof=1).sum()
    total_variance = items.sum(axis=1).var(ddof=1)
    if total_variance <= 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - item_variance / total_variance))


def first_component_share(items: FloatArray) -> float:
    """Share of the variance carried by the first principal component of the correlations."""
    n, k = items.shape
    if k < 2 or n < 3:
        return float("nan") if k == 0 else 1.0
    varying = items.std(axis=0) > 0
    if varying.sum() < 2:
        return 1.0
    correlation = np.corrcoef(items[:, varying], rowvar=False)
    eigenvalues = np.linalg.eigvalsh(correlation)
    return float(eigenvalues[-1] / eigenvalues.sum())


def _pearson(a: FloatArray, b: FloatArray) -> float:
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < MIN_PAIRS or np.std(a[both]) == 0 or np.std(b[both]) == 0:
        return float("nan")
    return float(np.corrcoef(a[both], b[both])[0, 1])


def _pairs(
    catalogue: Catalogue,
    normalised: FloatArray,
    membership: npt.NDArray[np.int64],
    used: npt.NDArray[np.bool_],
) -> pd.DataFrame:
    columns = np.flatnonzero(used)
    rows = []
    for position, a in enumerate(columns):
        for b in columns[position + 1 :]:
            both = np.isfinite(normalised[:, a]) & np.isfinite(normalised[:, b])
            r = _pearson(normalised[:, a], normalised[:, b])
            first, second = catalogue.indicators[a], catalogue.indicators[b]
            collinear = bool(np.isfinite(r) and abs(r) > COLLINEAR_R)
            rows.append(
                {
                    "indicator_a": first.id,
                    "indicator_b": second.id,
                    "challenge_a": catalogue.challenge_ids[membership[a]],
                    "challenge_b": catalogue.challenge_ids[membership[b]],
                    "communes": int(both.sum()),
                    "r": r,
                    "collinear": collinear,
                    "documented": (not collinear)
                    or _mentions(first, second.id)
                    or _mentions(second, first.id),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "indicator_a",
            "indicator_b",
            "challenge_a",
            "challenge_b",
            "communes",
            "r",
            "collinear",
            "documented",
        ],
    )


def _mentions(indicator: Indicator, text: str) -> bool:
    return indicator.notes is not None and text.lower() in indicator.notes.lower()
