"""Communes: the list, each commune's profile, priorities, clusters and proposed groups."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Path, Query, Request, Response

from analysis.formatting import format_interval
from geo_service.api.deps import (
    LimitQuery,
    OffsetQuery,
    RegionQuery,
    RunIdQuery,
    SafeJSONResponse,
    ServingDep,
    ServingState,
    StoreDep,
    check_challenge,
    page_links,
    resolve_run,
    run_result,
    run_stats,
)
from geo_service.errors import NotFoundError
from geo_service.services.profiles import (
    IDENTITY,
    commune_context,
    scored_profiles,
    stored_profiles,
)
from geo_service.services.rows import records, score_rows
from geo_service.services.runs import data_changes
from layers.runs import RunRecord
from layers.stores import Store

router = APIRouter(tags=["comunas"])

CutPath = Annotated[
    str,
    Path(
        pattern=r"^\d{4,5}$",
        description="Código único territorial (CUT) de la comuna; 4303 y 04303 valen igual.",
        examples=["04303"],
    ),
]
ChallengeQuery = Annotated[
    str,
    Query(description="Id de un desafío del catálogo o `compuesto`.", examples=["agua"]),
]


@router.get(
    "/communes",
    summary="Comunas",
    description="Comunas cargadas (CUT, nombre, provincia, región, superficie), opcionalmente de "
    "una región. Paginado.",
)
def communes(
    request: Request,
    store: StoreDep,
    region: RegionQuery = None,
    limit: LimitQuery = 100,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    """Communes page by page."""
    total = store.count("communes", region=region)
    rows = store.read(
        "communes", region=region, columns=IDENTITY, limit=limit, offset=offset, order=["cut"]
    )
    return {**page_links(request, total, limit, offset), "communes": records(rows)}


@router.get(
    "/communes/{cut}",
    summary="Perfil de una comuna",
    description="Identidad, indicadores con unidad, año y fuente (del catálogo), puntaje de cada "
    "desafío con rango nacional y regional, intervalo 5–95 % y probabilidad de quedar en el "
    "tramo de mayor prioridad, explicación en castellano, resumen de sistemas APR, "
    "establecimientos por categoría, presencia de Huella Local y proyectos. Todo lo que viene "
    "de puntajes sale de la corrida nacional guardada (indicada en `run`); si los datos "
    "cambiaron desde esa corrida, `data_changed` lo dice. CUT desconocido: 404.",
    response_model=dict[str, Any],
)
def commune_profile(
    store: StoreDep, serving: ServingDep, cut: CutPath, run_id: RunIdQuery = None
) -> Response:
    """One commune's profile, rendered once per run, data state and commune in each worker."""
    code = cut.zfill(5)
    run = _profile_run(store, serving, run_id)
    state = serving.recent("state", store.state_key)
    body = serving.profiles.get_or_make(
        (run.run_id if run else None, state, code),
        lambda: SafeJSONResponse(_profile(store, serving, code, run, state)).body,
    )
    return Response(body, media_type="application/json")


def commune_profile_data(
    store: Store, serving: ServingState, cut: str, run_id: str | None = None
) -> dict[str, Any]:
    """The profile of :func:`commune_profile` as a dict (the printable page uses it)."""
    run = _profile_run(store, serving, run_id)
    state = serving.recent("state", store.state_key)
    return _profile(store, serving, cut.zfill(5), run, state)


def _profile_run(store: Store, serving: ServingState, run_id: str | None) -> RunRecord | None:
    """The run a profile shows: the one asked for, else the newest national one, else none."""
    try:
        return resolve_run(store, run_id, serving=serving)
    except NotFoundError:
        if run_id is not None:
            raise
        return None


def _profile(
    store: Store, serving: ServingState, code: str, run: RunRecord | None, state: str
) -> dict[str, Any]:
    """Identity, the run's half and today's context of one commune, all from caches."""
    context = communes_context(store, serving, state)
    if code not in context:
        raise NotFoundError(f"comuna desconocida: CUT {code!r} no está entre las comunas cargadas")
    own = context[code]
    profile: dict[str, Any] = {name: own[name] for name in IDENTITY}
    profile["run"] = run.summary() if run else None
    profile["data_changed"] = (
        serving.changes.get_or_make((run.run_id, state), lambda: data_changes(store, run))
        if run
        else None
    )
    scored = scored_profile(store, serving, run, code) if run else {}
    profile["indicators"] = scored.get("indicators", [])
    profile["scores"] = scored.get("scores", [])
    profile["explanation"] = scored.get("explanation")
    for part in ("apr", "facilities", "huella_local", "projects"):
        profile[part] = own[part]
    return profile


def communes_context(store: Store, serving: ServingState, state: str) -> dict[str, dict[str, Any]]:
    """Every commune's identity and context for data state ``state``, read once per state."""
    return serving.context.get_or_make(state, lambda: commune_context(store))


def run_profiles(store: Store, serving: ServingState, run: RunRecord) -> dict[str, str] | None:
    """The profiles stored with ``run`` (None for an older run), read once per run."""
    return serving.run_profiles.get_or_make(run.run_id, lambda: stored_profiles(store, run))


def scored_profile(store: Store, serving: ServingState, run: RunRecord, code: str) -> Any:
    """The run's half of one profile (indicators, scores, explanation).

    Read from the profiles stored with the run; a run saved before profiles were kept gets
    its profile built here, then cached per commune.
    """
    stored = run_profiles(store, serving, run)
    if stored is not None:
        text = stored.get(code)
        return json.loads(text) if text is not None else {}
    return serving.built_profiles.get_or_make(
        (run.run_id, code),
        lambda: scored_profiles(run_result(store, serving, run), run, [code])[code],
    )


@router.get(
    "/priorities",
    summary="Comunas prioritarias",
    description="Las `top` comunas de mayor brecha en un desafío (por omisión el compuesto), de "
    "la corrida nacional más reciente; con `region`, ordenadas por su rango dentro de la región. "
    "Cada fila trae las razones (explicación) y la incertidumbre (intervalo 5–95 %, "
    "probabilidad de tramo 1).",
)
def priorities(
    store: StoreDep,
    serving: ServingDep,
    region: RegionQuery = None,
    challenge: ChallengeQuery = "compuesto",
    top: Annotated[int, Query(ge=1, le=345, description="Cuántas comunas.")] = 10,
    run_id: RunIdQuery = None,
) -> dict[str, Any]:
    """The top priorities of a challenge."""
    check_challenge(challenge)
    run = resolve_run(store, run_id, serving=serving)
    order = ["rank_region", "rank", "cut"] if region else ["rank", "cut"]
    frame = store.run_results(
        run.run_id, challenge=challenge, region=region, limit=top, order=order
    )
    frame = frame[frame["rank"].notna()]
    rows = score_rows(frame, run, run_stats(store, serving, run), run.ranked_counts)
    for row in rows:
        row["interval_label"] = format_interval(row.get("rank_p05"), row.get("rank_p95"))
    return {"run": run.summary(), "challenge": challenge, "region": region, "priorities": rows}


def _run_table_page(
    request: Request,
    store: Store,
    serving: Any,
    table: str,
    challenge: str | None,
    region: str | None,
    run_id: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    run = resolve_run(store, run_id, serving=serving)
    result = run_result(store, serving, run)
    check_challenge(challenge, result.catalogue.score_ids)
    frame: pd.DataFrame = getattr(result, table)
    if challenge is not None:
        frame = frame[frame["challenge"] == challenge]
    if region is not None:
        frame = frame[frame["cut"].astype(str).str[:2] == region]
    total = len(frame)
    page = frame.iloc[offset : offset + limit]
    return {"run": run.summary(), **page_links(request, total, limit, offset), table: records(page)}


@router.get(
    "/clusters",
    summary="Agrupamientos espaciales (Moran local)",
    description="I de Moran local por comuna y desafío de la corrida guardada: cuadrante "
    "(alto-alto, bajo-bajo...) y valor p. Paginado.",
)
def clusters(
    request: Request,
    store: StoreDep,
    serving: ServingDep,
    challenge: Annotated[str | None, Query(description="Desafío.", examples=["agua"])] = None,
    region: RegionQuery = None,
    run_id: RunIdQuery = None,
    limit: LimitQuery = 500,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    """Local Moran clusters of a stored run."""
    return _run_table_page(
        request, store, serving, "clusters", challenge, region, run_id, limit, offset
    )


@router.get(
    "/groups",
    summary="Grupos intercomunales propuestos",
    description="Grupos contiguos de comunas prioritarias propuestos por la corrida guardada "
    "(SKATER), por desafío. Paginado.",
)
def groups(
    request: Request,
    store: StoreDep,
    serving: ServingDep,
    challenge: Annotated[str | None, Query(description="Desafío.", examples=["agua"])] = None,
    region: RegionQuery = None,
    run_id: RunIdQuery = None,
    limit: LimitQuery = 500,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    """Proposed intercommunal groups of a stored run."""
    return _run_table_page(
        request, store, serving, "groups", challenge, region, run_id, limit, offset
    )
