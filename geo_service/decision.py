"""Decision tools wired to a store: read the inputs, call the pure analysis, describe sources.

Shared by ``geo_service/cli_decision.py`` and ``geo_service/api_decision.py`` so the command
line and the API always give the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis import ScoringParameters, load_catalogue, score_communes
from analysis.decision.portfolio import PortfolioReview, review_portfolio
from geo_service.inputs import read_analysis_inputs
from layers.store import Store


@dataclass(frozen=True)
class GapScores:
    """Long gap scores of every commune and where they come from."""

    scores: pd.DataFrame
    source: str


def scope_communes(store: Store, region: str | None) -> pd.DataFrame:
    """``cut, name, region_code`` of the communes of one region (or all), sorted by CUT.

    Raises
    ------
    LookupError
        If no commune is loaded, or none of ``region``.
    """
    communes = store.read_table("communes", ["cut", "name", "region_code"])
    if communes.empty:
        raise LookupError("no hay comunas cargadas: ejecute `geogaps load`")
    if region is not None:
        communes = communes[communes["region_code"].astype(str) == region]
        if communes.empty:
            raise LookupError(f"región desconocida {region!r}")
    return communes.sort_values("cut").reset_index(drop=True)


def gap_scores(store: Store) -> GapScores:
    """National gap scores: the newest stored national run, or defaults computed now.

    A stored run is used only when it is national, so ranks and tiers compare every commune
    of the country; otherwise the default parameters are scored without Monte Carlo and
    without saving (about two seconds nationally).
    """
    stored = _stored_national_run(store)
    if stored is not None:
        return stored
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
    if parameters.get("region") is not None or results.empty:
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
    store: Store, region: str | None, priority_tiers: int = 1
) -> tuple[PortfolioReview, str]:
    """The portfolio of the communes of ``region`` (or all) against their national gaps.

    Returns
    -------
    tuple
        The review and a Spanish sentence naming the source of the gap scores.
    """
    communes = scope_communes(store, region)
    scores = gap_scores(store)
    review = review_portfolio(
        communes,
        scores.scores,
        store.read_table("project_sites"),
        store.read_table("huella_presence"),
        load_catalogue(),
        priority_tiers,
    )
    return review, scores.source
