"""Gap analysis of Chilean communes: pure functions from input tables to result tables.

Typical use::

    from analysis import ScoringParameters, score_communes, ranked_table, explain_commune

    result = score_communes(inputs, ScoringParameters(region="04", draws=1000, seed=7))
    table = ranked_table(result, "agua")
    text = explain_commune(result, "04303")
    run_hash = result.digest()
"""

# Names are imported on first use (PEP 562) so that a light import such as
# ``analysis.formatting`` or ``analysis.challenges`` does not pull in scipy, mapclassify and
# matplotlib: every ``geogaps`` command would otherwise pay seconds before it starts.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from analysis.explain import explain_commune, explain_communes
    from analysis.indicators import compute_indicators
    from analysis.inputs import AnalysisInputs
    from analysis.normalisation import normalise, prepare_matrix
    from analysis.parameters import ScoringParameters
    from analysis.result import SCORE_COLUMNS, ScoringResult
    from analysis.scoring import ranked_table, score_communes

_EXPORTS: dict[str, str] = {
    "aggregate": "analysis.aggregation",
    "combine_challenges": "analysis.aggregation",
    "rank_descending": "analysis.aggregation",
    "tiers": "analysis.aggregation",
    "Catalogue": "analysis.challenges",
    "CatalogueSettings": "analysis.challenges",
    "Challenge": "analysis.challenges",
    "Indicator": "analysis.challenges",
    "apply_weights": "analysis.challenges",
    "load_catalogue": "analysis.challenges",
    "canonical_csv": "analysis.digest",
    "tables_digest": "analysis.digest",
    "explain_commune": "analysis.explain",
    "explain_communes": "analysis.explain",
    "compute_indicators": "analysis.indicators",
    "AnalysisInputs": "analysis.inputs",
    "normalise": "analysis.normalisation",
    "prepare_matrix": "analysis.normalisation",
    "ScoringParameters": "analysis.parameters",
    "SCORE_COLUMNS": "analysis.result",
    "ScoringResult": "analysis.result",
    "ranked_table": "analysis.scoring",
    "score_communes": "analysis.scoring",
}


def __getattr__(name: str) -> Any:
    """Import an exported name from its module the first time it is asked for."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
    "explain_communes",
    "load_catalogue",
    "normalise",
    "prepare_matrix",
    "rank_descending",
    "ranked_table",
    "score_communes",
    "tables_digest",
    "tiers",
]
