"""The result of one scoring run: its tables, parameters and catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.challenges import Catalogue
from analysis.digest import tables_digest
from analysis.parameters import ScoringParameters

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
    "challenges_available",
    "median_rank",
    "rank_p05",
    "rank_p95",
    "top_tier_share",
    "rank_region",
    "tier_region",
    "tier_label_region",
    "median_rank_region",
    "rank_p05_region",
    "rank_p95_region",
    "top_tier_share_region",
    "explanation",
)


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
    notes : pandas.DataFrame
        ``challenge, note``: gaps of a whole source (e.g. APR data for a few communes only),
        described once per challenge instead of in every commune's sentence.
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
    notes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"challenge": [], "note": []}, dtype=object)
    )
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


@dataclass(frozen=True)
class LiveScores:
    """The scores of a scoring computed on request, without the tables only a stored run keeps.

    ``scores``, ``notes``, ``parameters``, ``catalogue``, ``scope_label`` and
    ``communes_in_scope`` are those of the :class:`ScoringResult` of the same scoring, the same
    rows and explanations; ``ranked`` counts the communes with a score, per score id.
    """

    scores: pd.DataFrame
    notes: pd.DataFrame
    parameters: ScoringParameters
    catalogue: Catalogue
    scope_label: str
    communes_in_scope: int
    ranked: dict[str, int]

    def ranked_count(self, challenge: str) -> int:
        """Return how many communes have a score for ``challenge``."""
        return self.ranked.get(challenge, 0)
