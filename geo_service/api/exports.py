"""Downloads of the map's view: the priority table for Excel and a static PNG of the map."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from analysis import load_catalogue
from analysis.formatting import format_day
from geo_service.api import gaps as gaps_api
from geo_service.api import scores as scores_api
from geo_service.api.deps import MAX_PAGE, CachesDep, RegionQuery, StoreDep
from geo_service.errors import BadParameterError
from geo_service.services.cache import Caches
from geo_service.services.map_data import outlines, region_list
from geo_service.services.serving import resolve_run
from layers.stores import Store
from maps.exports import map_png, priority_csv

router = APIRouter(tags=["exportaciones"])


ChallengeQuery = Annotated[
    str, Query(pattern=r"^[a-z][a-z0-9_]*$", description="Desafío del catálogo o `compuesto`.")
]
WeightsQuery = Annotated[
    str | None,
    Query(max_length=2000, description="Pesos `clave:peso` como en `/gaps` (opcional)."),
]


def view_rows(
    request: Request,
    store: Store,
    caches: Caches,
    challenge: str,
    region: str | None,
    weights: str | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Score rows and scope notes of the page's view, from the API functions the page calls."""
    if weights:
        body = gaps_api.gaps(
            request,
            store,
            caches,
            request.app.state.settings,
            region=region,
            challenge=challenge,
            normalization="minmax",
            aggregation="arithmetic",
            weights=weights,
            limit=MAX_PAGE,
            offset=0,
        )
    else:
        body = scores_api.scores_of(
            request, store, caches, challenge=challenge, region=region, run_id=None,
            limit=MAX_PAGE, offset=0,
        )  # fmt: skip
    rows: list[dict[str, Any]] = body["scores"]
    return rows, [str(note) for note in body.get("notes", {}).values()]


@router.get(
    "/exports/prioridades.csv",
    summary="Tabla de prioridades para Excel",
    description="Las comunas del desafío (y región) ordenadas por lugar, como CSV para Excel en "
    "castellano: UTF-8 con BOM, separador `;`, coma decimal y encabezados en castellano. Con "
    "`weights`, los puntajes se calculan a pedido como en `/gaps`.",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV para Excel."}},
)
def priorities_csv(
    request: Request,
    store: StoreDep,
    caches: CachesDep,
    challenge: ChallengeQuery = "compuesto",
    region: RegionQuery = None,
    weights: WeightsQuery = None,
) -> Response:
    """The priority table of the map's view as a CSV download."""
    rows, notes = view_rows(request, store, caches, challenge, region, weights)
    names = {r["code"]: r["name"] for r in region_list(store, caches)}
    filename = f"prioridades_{challenge}_{region or 'nacional'}.csv"
    return Response(
        priority_csv(rows, names, notes),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/exports/mapa.png",
    summary="Mapa estático (PNG)",
    description="Mapa de la vista del mapa (desafío, región y pesos): comunas por tramo de la "
    "vista (regionales en una región, como en el mapa), prioridades inciertas achuradas, límites "
    "regionales y leyenda; de todo Chile continental o de una región. Título y leyenda van "
    "también en los metadatos de texto del PNG.",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "Imagen PNG."}},
)
def map_png_route(
    request: Request,
    store: StoreDep,
    caches: CachesDep,
    challenge: ChallengeQuery = "compuesto",
    region: RegionQuery = None,
    weights: WeightsQuery = None,
) -> Response:
    """A static PNG of the map's view for reports."""
    catalogue = load_catalogue()
    if challenge not in catalogue.score_ids:
        raise BadParameterError(
            f"desafío desconocido {challenge!r}; use {', '.join(catalogue.score_ids)}"
        )
    run = resolve_run(store, None, caches=caches)  # 404 naming what to do when none is stored
    rows, notes = view_rows(request, store, caches, challenge, region, weights)
    names = {r["code"]: r["name"] for r in region_list(store, caches)}
    scope = f"Región {names.get(region, region)}" if region else "Chile continental"
    tiers = "Tramos regionales" if region else "Tramos nacionales"
    source = (
        f"pesos propios ({weights}), sin simulaciones"
        if weights
        else f"corrida {run.run_id[:12]} del {format_day(run.created_at)}"
    )
    rescaled = " · re-escalado en la región" if region and weights else ""

    def build() -> bytes:
        return map_png(
            outlines(store, caches),
            rows,
            title=f"{catalogue.label_of(challenge)} · {scope}",
            subtitle=f"{tiers}{rescaled} · {source}",
            region=region,
            notes=notes,
        )

    key = ("png", run.run_id, challenge, region or "", weights or "")
    image = caches.get_or_make("page", key, build, state=caches.data_state(store))
    return Response(image, media_type="image/png", headers={"Cache-Control": "no-cache"})
