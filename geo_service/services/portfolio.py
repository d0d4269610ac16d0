"""The Mesas de Convergencia's portfolio set against the gaps, on the data of a store.

Shared by ``geogaps portafolio`` and the ``/portafolio`` routes, so the command line and the API
give the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis import ScoringParameters, load_catalogue, score_communes
from analysis.decision.portfolio import PortfolioReview, review_portfolio
from geo_service.services.cache import Caches
from geo_service.services.inputs import read_analysis_inputs, scope_communes
from layers.stores import Store


@dataclass(frozen=True)
class GapScores:
    """Long gap scores of every commune and where they come from."""

    scores: pd.DataFrame
    source: str


def gap_scores(store: Store, caches: Caches | None = None) -> GapScores:
    """National gap scores: the newest stored national run, or defaults computed now.

    A stored run is used only when it is national, so ranks and tiers compare every commune
    of the country; otherwise the default parameters are scored without Monte Carlo and
    without saving (about two seconds nationally).
    """
    stored = _stored_national_run(store)
    if stored is not None:
        return stored
    if caches is None:
        return _default_scores(store)
    scores: GapScores = caches.get_or_make(
        "decision", "default_scores", lambda: _default_scores(store), state=caches.data_state(store)
    )
    return scores


def _default_scores(store: Store) -> GapScores:
    inputs = read_analysis_inputs(store)
    result = score_communes(inputs, ScoringParameters(draws=0, moran_permutations=99))
    return GapScores(
        result.scores[["cut", "challenge", "score", "rank", "tier"]],
        "puntajes nacionales con los parámetros por defecto (calculados ahora, sin guardar)",
    )


def _stored_national_run(store: Store) -> GapScores | None:
    try:
        run, results = store.read_score_run()
    except LookupError:
        return None
    parameters = _field(run, "parameters") or {}
    scope = _field(run, "scope")
    if parameters.get("region") is not None or scope not in (None, "nacional") or results.empty:
        return None
    run_id = str(_field(run, "run_id") or "")
    return GapScores(
        results[["cut", "challenge", "score", "rank", "tier"]],
        f"corrida nacional guardada {run_id[:12]}",
    )


def _field(record: Any, name: str) -> Any:
    """A field of a stored run record, whether the store returns a mapping or an object."""
    if isinstance(record, dict):
        return record.get(name)
    return getattr(record, name, None)


def portfolio_review(
    store: Store, region: str | None, priority_tiers: int = 1, caches: Caches | None = None
) -> tuple[PortfolioReview, str]:
    """The portfolio of the communes of ``region`` (or all) against their national gaps.

    Returns
    -------
    tuple
        The review and a Spanish sentence naming the source of the gap scores.
    """
    communes = scope_communes(store, region)
    scores = gap_scores(store, caches)
    review = review_portfolio(
        communes,
        scores.scores,
        store.read("project_sites", region=region),
        store.read("huella_presence", region=region),
        load_catalogue(),
        priority_tiers,
    )
    return review, scores.source
