"""Gap analysis of Chilean communes: pure functions from input tables to result tables.

Typical use::

    from analysis import ScoringParameters, score_communes, ranked_table, explain_commune

    result = score_communes(inputs, ScoringParameters(region="04", draws=1000, seed=7))
    table = ranked_table(result, "agua")
    text = explain_commune(result, "04303")
    run_hash = result.digest()
"""

from analysis.aggregation import aggregate, combine_challenges, rank_descending, tiers
from analysis.challenges import (
    Catalogue,
    CatalogueSettings,
    Challenge,
    Indicator,
    apply_weights,
    load_catalogue,
)
from analysis.digest import canonical_csv, tables_digest
from analysis.explain import explain_commune
from analysis.indicators import compute_indicators
from analysis.inputs import AnalysisInputs
from analysis.normalisation import normalise, prepare_matrix
from analysis.parameters import ScoringParameters
from analysis.result import SCORE_COLUMNS, ScoringResult
from analysis.scoring import ranked_table, score_communes

__all__ = [
    "SCORE_COLUMNS",
    "AnalysisInputs",
    "Catalogue",
    "CatalogueSettings",
    "Challenge",
    "Indicator",
    "ScoringParameters",
    "ScoringResult",
    "aggregate",
    "apply_weights",
    "canonical_csv",
    "combine_challenges",
    "compute_indicators",
    "explain_commune",
    "load_catalogue",
    "normalise",
    "prepare_matrix",
    "rank_descending",
    "ranked_table",
    "score_communes",
    "tables_digest",
    "tiers",
]
