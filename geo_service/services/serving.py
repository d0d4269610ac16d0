"""What a request reads, through the worker's caches: stored runs, profiles and inputs.

The run asked for (or the newest of a scope), its tables and regional counts are cached by run
id (stored runs never change); a commune's profile joins the run's stored half with today's
context of the commune, cached per data state; the analysis inputs of ``/gaps`` are read once
per data state. The routes and the start-up warm-up (:mod:`geo_service.services.warm`) use
these functions, so what the warm-up fills is exactly what the routes read.
"""

from __future__ import annotations

import json
from typing import Any, cast

import pandas as pd

from analysis import ScoringResult, compute_indicators, load_catalogue
from analysis.scoring import ScopeGraph, scope_graph
from analysis.view import PlaceKey, place_counts
from domain.errors import NotFoundError
from geo_service.services.cache import Caches
from geo_service.services.inputs import read_analysis_inputs
from geo_service.services.profiles import (
    IDENTITY,
    commune_context,
    scored_profiles,
    stored_profiles,
    stored_sources,
)
from geo_service.services.rows import records, region_counts
from geo_service.services.runs import NOTES_TABLE, PreparedInputs, data_changes, stored_result
from layers.runs import NATIONAL_SCOPE, RunRecord
from layers.stores import Store


def resolve_run(
    store: Store,
    run_id: str | None,
    scope: str = NATIONAL_SCOPE,
    caches: Caches | None = None,
) -> RunRecord:
    """The run asked for, or the newest of ``scope``; NotFoundError saying what to do."""
    try:
        if run_id is not None:
            return store.run(run_id)
        if caches is None:
            return store.newest_run(scope)
        return caches.newest_run(scope, lambda: store.newest_run(scope))
    except LookupError as error:
        raise NotFoundError(f"{error}; ejecute `geogaps score` o POST /runs primero") from None


def run_result(store: Store, caches: Caches, run: RunRecord) -> ScoringResult:
    """The stored run's tables (indicators, contributions, clusters...), cached by run id."""
    try:
        return caches.get_or_make("run_result", run.run_id, lambda: stored_result(store, run))
    except LookupError as error:
        raise NotFoundError(str(error)) from None


def run_notes_table(store: Store, caches: Caches, run: RunRecord) -> pd.DataFrame:
    """The run's notes (``challenge, note``), without reading its other stored tables.

    ``/scores`` shows only the notes: the first page of a new run reads them alone, not the
    run's whole result (unless that is cached already). A run stored without notes has none.
    """
    kept = caches.get("run_result", run.run_id)
    if kept is not None:
        return cast(pd.DataFrame, kept.notes)

    def read() -> pd.DataFrame:
        tables = store.run_tables(run.run_id, names=[NOTES_TABLE])
        return tables.get(NOTES_TABLE, pd.DataFrame({"challenge": [], "note": []}, dtype=object))

    return caches.get_or_make("run_notes", run.run_id, read)


def run_stats(store: Store, caches: Caches, run: RunRecord) -> dict[tuple[str, str], int]:
    """Communes ranked per (challenge, region) in a run, for "n de N" regional ranks."""

    def count() -> dict[tuple[str, str], int]:
        rows = store.run_results(run.run_id, order=["challenge", "cut"])
        return region_counts(rows[["challenge", "cut", "rank", "region_code"]])

    return caches.get_or_make("run_stats", run.run_id, count)


def run_ties(store: Store, caches: Caches, run: RunRecord) -> dict[bool, dict[PlaceKey, int]]:
    """Communes sharing each place of a run, nationally (False) and within regions (True)."""

    def count() -> dict[bool, dict[PlaceKey, int]]:
        columns = ["challenge", "cut", "rank", "rank_region", "region_code"]
        frame = store.run_results(run.run_id, order=["challenge", "cut"])
        rows = records(frame[[c for c in columns if c in frame.columns]])
        return {regional: place_counts(rows, regional=regional) for regional in (False, True)}

    return caches.get_or_make("run_ties", run.run_id, count)


def commune_profile_data(
    store: Store, caches: Caches, cut: str, run_id: str | None = None
) -> dict[str, Any]:
    """The profile of ``GET /communes/{cut}`` as a dict (the printable page uses it)."""
    run = profile_run(store, caches, run_id)
    state = caches.data_state(store)
    return profile_of(store, caches, cut.zfill(5), run, state)


def profile_run(store: Store, caches: Caches, run_id: str | None) -> RunRecord | None:
    """The run a profile shows: the one asked for, else the newest national one, else none."""
    try:
        return resolve_run(store, run_id, caches=caches)
    except NotFoundError:
        if run_id is not None:
            raise
        return None


def profile_of(
    store: Store, caches: Caches, code: str, run: RunRecord | None, state: str
) -> dict[str, Any]:
    """Identity, the run's half and today's context of one commune, all from caches."""
    context = communes_context(store, caches, state)
    if code not in context:
        raise NotFoundError(f"comuna desconocida: CUT {code!r} no está entre las comunas cargadas")
    own = context[code]
    profile: dict[str, Any] = {name: own[name] for name in IDENTITY}
    profile["run"] = run.summary() if run else None
    profile["data_changed"] = (
        caches.get_or_make(
            "data_changes", run.run_id, lambda: data_changes(store, run), state=state
        )
        if run
        else None
    )
    scored = scored_profile(store, caches, run, code) if run else {}
    profile["indicators"] = with_missing_reasons(scored.get("indicators", []), own)
    profile["scores"] = scored.get("scores", [])
    profile["explanation"] = scored.get("explanation")
    for part in ("apr", "facilities", "huella_local", "projects"):
        profile[part] = own[part]
    return profile


#: Context part of a profile holding each layer's coverage, by the layer's store table.
LAYER_PARTS = {"apr_systems": "apr", "project_sites": "projects"}


def with_missing_reasons(items: list[dict[str, Any]], own: dict[str, Any]) -> list[dict[str, Any]]:
    """Indicator items of a profile, each missing value with the reason it is missing.

    A value that needs a layer not covering the commune says so (with the layer's coverage);
    any other missing value is missing in its source. A value is never 0 for lack of data.
    """
    layers = {i.id: i.layer for i in load_catalogue().indicators}
    answered = []
    for item in items:
        reason = None
        if item.get("value") is None:
            part = own.get(LAYER_PARTS.get(layers.get(item["id"]) or "", ""), {})
            reason = part.get("reason") or f"sin dato en la fuente ({item.get('source')})"
        answered.append({**item, "missing_reason": reason})
    return answered


def communes_context(store: Store, caches: Caches, state: str) -> dict[str, dict[str, Any]]:
    """Every commune's identity and context for data state ``state``, read once per state."""
    return caches.get_or_make("commune_context", "", lambda: commune_context(store), state=state)


def run_profiles(store: Store, caches: Caches, run: RunRecord) -> dict[str, str] | None:
    """The profiles stored with ``run`` (None for an older run), read once per run."""
    return caches.get_or_make("run_profiles", run.run_id, lambda: stored_profiles(store, run))


def scored_profile(store: Store, caches: Caches, run: RunRecord, code: str) -> Any:
    """The run's half of one profile (indicators, scores, explanation).

    Read from the profiles stored with the run; a run saved before profiles were kept gets
    its profile built here, then cached per commune.
    """
    stored = run_profiles(store, caches, run)
    if stored is not None:
        text = stored.get(code)
        return json.loads(text) if text is not None else {}
    return caches.get_or_make(
        "built_profiles",
        (run.run_id, code),
        lambda: scored_profiles(
            run_result(store, caches, run), run, [code], sources=stored_sources(store, run)
        )[code],
    )


def analysis_inputs(store: Store, caches: Caches, state: str) -> tuple[Any, Any]:
    """Inputs and raw indicators of the current store state, computed once per state."""

    def make() -> tuple[Any, Any]:
        inputs = read_analysis_inputs(store)
        return inputs, compute_indicators(inputs, load_catalogue())

    return caches.get_or_make("analysis_inputs", "", make, state=state)


def neighbour_graph(store: Store, caches: Caches, state: str, region: str | None) -> ScopeGraph:
    """The neighbour graph of a scope's communes (``region``, or None for the nation).

    Built once per data state and scope: it depends on the boundaries only, never on the
    weights or the parameters of a scoring.
    """

    def make() -> ScopeGraph:
        inputs, raw = analysis_inputs(store, caches, state)
        return scope_graph(inputs, raw, region)

    return caches.get_or_make("scope_graph", region or "", make, state=state)


def prepared_inputs(store: Store, caches: Caches, region: str | None) -> PreparedInputs:
    """What a stored run of ``region`` reads, from the caches of the store's data state now.

    The state is looked up afresh (not the one reused for a second), so a run never pairs the
    data loaded a moment ago with the inputs read before.
    """
    state = store.state_key()
    inputs, raw = analysis_inputs(store, caches, state)
    return PreparedInputs(inputs, raw, neighbour_graph(store, caches, state, region))
