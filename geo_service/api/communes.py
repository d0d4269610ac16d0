"""Communes: the list, each commune's profile, priorities, clusters and proposed groups."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Path, Query, Request

from analysis import ScoringResult, explain_commune
from analysis.formatting import format_interval
from geo_service.api.common import (
    LimitQuery,
    OffsetQuery,
    RegionQuery,
    RunIdQuery,
    ServingDep,
    StoreDep,
    check_challenge,
    page_links,
    records,
    resolve_run,
    run_result,
    run_stats,
    score_rows,
)
from geo_service.errors import NotFoundError
from geo_service.scoring import data_changes
from layers.runs import RunRecord
from layers.store import Store

router = APIRouter(tags=["comunas"])

IDENTITY = [
    "cut",
    "name",
    "province_code",
    "province_name",
    "region_code",
    "region_name",
    "area_km2",
]
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
)
def commune_profile(
    store: StoreDep, serving: ServingDep, cut: CutPath, run_id: RunIdQuery = None
) -> dict[str, Any]:
    """One commune's profile."""
    code = cut.zfill(5)
    try:
        run: RunRecord | None = resolve_run(store, run_id, serving=serving)
    except NotFoundError:
        if run_id is not None:
            raise
        run = None
    key = (run.run_id if run else None, serving.recent("state", store.state_key), code)
    cached = serving.profiles.get(key)
    if cached is not None:
        return dict(cached)
    profile = build_profile(store, serving, run, code)
    serving.profiles.put(key, profile)
    return profile


def build_profile(store: Store, serving: Any, run: RunRecord | None, code: str) -> dict[str, Any]:
    """The profile JSON of one commune (see :func:`commune_profile`)."""
    identity = store.read("communes", cuts=[code], columns=IDENTITY)
    if identity.empty:
        raise NotFoundError(f"comuna desconocida: CUT {code!r} no está entre las comunas cargadas")
    profile: dict[str, Any] = records(identity)[0]
    profile["run"] = run.summary() if run else None
    profile["data_changed"] = data_changes(store, run) if run else None
    profile["indicators"] = []
    profile["scores"] = []
    profile["explanation"] = None
    if run is not None:
        result = run_result(store, serving, run)
        profile.update(_scored_part(store, serving, run, result, code))
    profile.update(_context_part(store, code))
    return profile


def _scored_part(
    store: Store, serving: Any, run: RunRecord, result: ScoringResult, code: str
) -> dict[str, Any]:
    catalogue = result.catalogue
    own_indicators = result.indicators[result.indicators["cut"] == code]
    indicators: list[dict[str, Any]] = []
    if not own_indicators.empty:
        values = own_indicators.iloc[0]
        for indicator in catalogue.indicators:
            indicators.append(
                {
                    "id": indicator.id,
                    "challenge": indicator.challenge,
                    "label": indicator.label,
                    "unit": indicator.unit,
                    "year": indicator.year,
                    "source": indicator.source,
                    "dataset": indicator.dataset,
                    "value": values.get(indicator.column),
                    "normalised": values.get(f"{indicator.column}_norm"),
                    "weight": indicator.weight,
                }
            )
    own_scores = result.scores[result.scores["cut"] == code]
    rows = score_rows(own_scores, run, run_stats(store, serving, run), run.ranked_counts)
    clusters = result.clusters[result.clusters["cut"] == code].set_index("challenge")
    groups = result.groups[result.groups["cut"] == code].set_index("challenge")
    for row in rows:
        challenge = row["challenge"]
        row["label"] = catalogue.label_of(challenge)
        row["interval_label"] = format_interval(row.get("rank_p05"), row.get("rank_p95"))
        row["cluster"] = (
            records(clusters.loc[[challenge]].reset_index())[0]
            if challenge in clusters.index
            else None
        )
        row["group"] = (
            records(groups.loc[[challenge]].reset_index())[0] if challenge in groups.index else None
        )
    try:
        explanation: str | None = explain_commune(result, code)
    except (KeyError, ValueError):
        explanation = None
    return {"indicators": indicators, "scores": rows, "explanation": explanation}


def _context_part(store: Store, code: str) -> dict[str, Any]:
    apr = store.read(
        "apr_systems", cuts=[code], columns=["name", "beneficiaries", "connections", "status"]
    )
    facilities = store.read("facilities", cuts=[code], columns=["category"])
    huella = store.read("huella_presence", cuts=[code], columns=["intervention"])
    projects = store.read(
        "project_sites",
        cuts=[code],
        columns=["project_id", "name", "typology", "stage", "total_investment_clp"],
    )
    return {
        "apr": {
            "systems": len(apr),
            "beneficiaries": float(apr["beneficiaries"].sum()) if len(apr) else 0.0,
            "connections": float(apr["connections"].sum()) if len(apr) else 0.0,
            "by_status": {str(k): int(v) for k, v in apr["status"].value_counts().items()},
        },
        "facilities": {
            str(k): int(v) for k, v in facilities["category"].value_counts().sort_index().items()
        },
        "huella_local": {
            "present": not huella.empty,
            "interventions": sorted(set(huella["intervention"])),
        },
        "projects": {
            "total": len(projects),
            "investment_clp": float(pd.to_numeric(projects["total_investment_clp"]).sum()),
            "items": records(projects),
        },
    }


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
