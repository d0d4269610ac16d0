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
from geo_service.api.responses import (
    NOT_MODIFIED,
    RenderedAnswer,
    cached_answer,
    kept_answer,
    page_links,
)
from geo_service.services.profiles import IDENTITY
from geo_service.services.rows import records
from geo_service.services.serving import (
    profile_of,
    profile_run,
)
from layers.runs import NATIONAL_SCOPE

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
    "cambiaron desde esa corrida, `data_changed` lo dice. CUT desconocido: 404. La respuesta "
    "lleva `ETag`: con `If-None-Match`, si ni la corrida ni los datos cambiaron, responde 304 "
    "sin cuerpo.",
    response_model=dict[str, Any],
    responses=NOT_MODIFIED,
)
async def commune_profile(
    request: Request, store: StoreDep, caches: CachesDep, cut: CutPath, run_id: RunIdQuery = None
) -> Response:
    """One commune's profile, rendered once per run, data state and commune in each worker.

    The profile joins the run's half with today's context, so its state is the data state and
    its key holds the run (none when no national run is stored yet).
    """
    code = cut.zfill(5)
    known_run = run_id or caches.known_newest_run_id(NATIONAL_SCOPE)
    known_state = caches.known_data_state() if known_run else None

    def render() -> RenderedAnswer:
        run = profile_run(store, caches, run_id)
        state = caches.data_state(store)
        return kept_answer(
            caches,
            "profile_answer",
            (run.run_id if run else None, code),
            state,
            lambda: profile_of(store, caches, code, run, state),
        )

    key = (known_run, code)
    return await cached_answer(request, caches, "profile_answer", (key,), known_state, render)
