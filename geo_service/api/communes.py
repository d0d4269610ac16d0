"""Communes: the list, each commune's profile, priorities, clusters and proposed groups."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from geo_service.api.deps import (
    CachesDep,
    LimitQuery,
    OffsetQuery,
    RegionQuery,
    RunIdQuery,
    StoreDep,
)
from geo_service.api.responses import SafeJSONResponse, page_links
from geo_service.services.profiles import IDENTITY
from geo_service.services.rows import records
from geo_service.services.serving import (
    profile_of,
    profile_run,
)

router = APIRouter(tags=["comunas"])

CutPath = Annotated[
    str,
    Path(
        pattern=r"^\d{4,5}$",
        description="Código único territorial (CUT) de la comuna; 4303 y 04303 valen igual.",
        examples=["04303"],
    ),
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
    store: StoreDep, caches: CachesDep, cut: CutPath, run_id: RunIdQuery = None
) -> Response:
    """One commune's profile, rendered once per run, data state and commune in each worker."""
    code = cut.zfill(5)
    run = profile_run(store, caches, run_id)
    state = caches.data_state(store)
    body = caches.get_or_make(
        "profile_body",
        (run.run_id if run else None, code),
        lambda: SafeJSONResponse(profile_of(store, caches, code, run, state)).body,
        state=state,
    )
    return Response(body, media_type="application/json")
