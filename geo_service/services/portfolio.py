"""The Mesas de Convergencia's portfolio set against the gaps, on the data of a store.

Shared by ``geogaps portafolio`` and the ``/portafolio`` routes, so the command line and the API
give the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis import ScoringParameters, load_catalogue, score_communes
from analysis.decision.portfolio import (
    PROJECT_COLUMNS,
    PortfolioReview,
    choose_portfolio,
    review_portfolio,
)
from geo_service.services.cache import Caches
from geo_service.services.inputs import read_analysis_inputs, scope_communes
from layers.mesas import mesa_records
from layers.stores import Store

#: Stage of an initiative the Mesa decided not to pursue (not part of its portfolio).
DISCARDED = "descartada"


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


def mesa_initiatives(store: Store, cuts: list[str]) -> pd.DataFrame:
    """The initiatives the Mesas in office recorded in ``cuts``, as portfolio projects.

    Retired and discarded (``descartada``) initiatives are left out, and so is one of an
    intercommunal Mesa recorded without a commune (it cannot be set against one commune's
    gaps). The total investment is the public plus the private amount, only when both are
    known (an unknown amount is never a zero).
    """
    records = mesa_records(store)
    wanted = set(cuts)
    rows = []
    for mesa in records.mesas_of_communes(cuts):
        source = f"iniciativas de «{mesa['nombre']}» (mesa {mesa['mesa_id']})"
        for initiative in records.rows(mesa["mesa_id"], "iniciativa"):
            cut = initiative["comuna"]
            if initiative["retirado"] or initiative["etapa"] == DISCARDED or cut not in wanted:
                continue
            public, private = initiative["monto_publico_clp"], initiative["monto_privado_clp"]
            rows.append(
                {
                    "cut": str(cut),
                    "project_id": f"{mesa['mesa_id']}/{initiative['id']}",
                    "name": initiative["nombre"],
                    "typology": initiative["tipologia"],
                    "stage": initiative["etapa"],
                    "total_investment_clp": None
                    if public is None or private is None
                    else float(public + private),
                    "private_contribution_clp": None if private is None else float(private),
                    "portfolio_source": source,
                }
            )
    return pd.DataFrame(rows, columns=list(PROJECT_COLUMNS))


def portfolio_review(
    store: Store, region: str | None, priority_tiers: int = 1, caches: Caches | None = None
) -> tuple[PortfolioReview, str]:
    """The portfolio of the communes of ``region`` (or all) against their national gaps.

    A commune's projects are its Mesas' initiatives when a Mesa recorded any, otherwise the
    loaded ``project_sites`` rows (:func:`analysis.decision.portfolio.choose_portfolio`); the
    commune table's ``portfolio_source`` says which.

    Returns
    -------
    tuple
        The review and a Spanish sentence naming the source of the gap scores.
    """
    communes = scope_communes(store, region)
    scores = gap_scores(store, caches)
    projects = choose_portfolio(
        mesa_initiatives(store, communes["cut"].astype(str).tolist()),
        store.read("project_sites", region=region),
    )
    review = review_portfolio(
        communes,
        scores.scores,
        projects,
        store.read("huella_presence", region=region),
        load_catalogue(),
        priority_tiers,
    )
    return review, scores.source
