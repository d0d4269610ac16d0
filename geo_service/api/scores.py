"""Scores of stored runs: the scores, the priorities, clusters and groups, and their files."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Hashable
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from analysis.view import with_view
from domain import regions_of
from geo_service.api.deps import (
    CachesDep,
    LimitQuery,
    OffsetQuery,
    RegionQuery,
    RunIdQuery,
    StoreDep,
    check_challenge,
)
from geo_service.api.responses import (
    NOT_MODIFIED,
    RenderedAnswer,
    cached_answer,
    kept_answer,
    kept_under,
    page_links,
)
from geo_service.api.runs import RUN_EXAMPLE
from geo_service.services.cache import Caches
from geo_service.services.rows import records, score_rows
from geo_service.services.serving import (
    resolve_run,
    run_notes_table,
    run_result,
    run_stats,
    run_ties,
)
from layers.runs import NATIONAL_SCOPE, RunRecord
from layers.stores import Store

router = APIRouter(tags=["corridas y puntajes"])

OptionalChallengeQuery = Annotated[
    str | None,
    Query(
        description="Id de un desafío del catálogo (agua, conectividad, rural_urbano, "
        "compuesto...).",
        examples=["agua"],
    ),
]

ChallengeQuery = Annotated[
    str,
    Query(description="Id de un desafío del catálogo o `compuesto`.", examples=["agua"]),
]


@router.get(
    "/scores",
    summary="Puntajes de una corrida guardada",
    description="Puntajes de brecha de una corrida (por omisión, la nacional más reciente), "
    "ordenados por desafío y rango. `region` filtra las filas de la corrida nacional; cada fila "
    "trae el nombre de la comuna, el rango nacional y el regional («3 de 15»), el intervalo "
    "5–95 % y la explicación. La respuesta dice de qué corrida viene. Cada fila trae `view`: "
    "la respuesta de la comuna en la vista pedida (con `region`, tramo, lugar, intervalo y "
    "tramo 1 de la región; `tie` y «(empate)» si comparte el lugar; `certainty` «firme» o "
    "«incierto»; `coverage_label`, la parte del peso cubierta), la misma que muestran el mapa, "
    "el CSV, el PNG y el perfil. `notes` dice qué indicadores quedan fuera del ámbito por la "
    "regla de comparabilidad. La respuesta lleva `ETag`: con `If-None-Match` y la misma "
    "corrida responde 304 sin cuerpo.",
    response_model=dict[str, Any],
    responses={
        **NOT_MODIFIED,
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "run": RUN_EXAMPLE,
                        "total": 15,
                        "limit": 500,
                        "offset": 0,
                        "next": None,
                        "scores": [
                            {
                                "cut": "04303",
                                "name": "Monte Patria",
                                "region_code": "04",
                                "challenge": "agua",
                                "score": 0.71,
                                "rank": 12,
                                "national_total": 345,
                                "rank_label": "12 de 345",
                                "rank_region": 2,
                                "region_total": 15,
                                "rank_region_label": "2 de 15",
                                "tier": 1,
                                "tier_label": "Prioridad muy alta",
                            }
                        ],
                    }
                }
            }
        },
    },
)
async def scores(
    request: Request,
    store: StoreDep,
    caches: CachesDep,
    challenge: OptionalChallengeQuery = None,
    region: RegionQuery = None,
    run_id: RunIdQuery = None,
    limit: LimitQuery = 500,
    offset: OffsetQuery = 0,
) -> Response:
    """Scores of a stored run, page by page, rendered once per run and request.

    The ``next`` link repeats the request's URL, so a page that has one is kept under its URL;
    a last page does not depend on the host and is kept without it, so the map's page filled
    by the warm-up (in-process, another host) is the one a browser gets.
    """
    check_challenge(challenge)
    key = (challenge, region, limit, offset)

    def page(run: RunRecord) -> dict[str, Any]:
        return score_page(request, store, caches, run, challenge, region, limit, offset)

    return await run_answer(
        request,
        store,
        caches,
        run_id,
        "scores_answer",
        key,
        page,
        paged_key=(*key, str(request.url)),
    )


def scores_of(
    request: Request,
    store: Store,
    caches: Caches,
    challenge: str | None,
    region: str | None,
    run_id: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """The ``/scores`` answer as a dict (the exports read it), never cached as bytes."""
    check_challenge(challenge)
    run = resolve_run(store, run_id, caches=caches)
    return score_page(request, store, caches, run, challenge, region, limit, offset)


def score_page(
    request: Request,
    store: Store,
    caches: Caches,
    run: RunRecord,
    challenge: str | None,
    region: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """One page of a run's scores, read through the ``(run_id, ...)`` indexes."""
    check_challenge(challenge, tuple(run.ranked_counts) or None)
    total = store.count_results(run.run_id, challenge=challenge, region=region)
    frame = store.run_results(
        run.run_id,
        challenge=challenge,
        region=region,
        limit=limit,
        offset=offset,
        order=["challenge", "rank", "cut"],
    )
    rows = score_rows(frame, run, run_stats(store, caches, run), run.ranked_counts)
    answer_views(store, caches, run, region, rows)
    return {
        "run": run.summary(),
        **page_links(request, total, limit, offset),
        "notes": run_notes(store, caches, run, challenge),
        "scores": rows,
    }


async def run_answer(
    request: Request,
    store: Store,
    caches: Caches,
    run_id: str | None,
    namespace: str,
    key: Hashable,
    content: Callable[[RunRecord], dict[str, Any]],
    paged_key: Hashable | None = None,
) -> Response:
    """The answer ``content(run)`` of a stored run, rendered once per run and ``key``.

    A stored run never changes, so its id is the answer's whole state: the run asked for, or
    the newest national run when the worker looked it up within the last second. An answer
    with a ``next`` link is kept under ``paged_key`` instead, when given (the link names the
    request's host).
    """
    known = run_id or caches.known_newest_run_id(NATIONAL_SCOPE)
    keys = (key,) if paged_key is None else (key, paged_key)

    def render() -> RenderedAnswer:
        run = resolve_run(store, run_id, caches=caches)
        with caches.making(namespace, key, state=run.run_id):  # rendered once, however many ask
            found = kept_under(caches, namespace, keys, run.run_id)
            if found is not None:
                return found
            body = content(run)
            keep_under = paged_key if paged_key is not None and body.get("next") else key
            return kept_answer(caches, namespace, keep_under, run.run_id, lambda: body)

    return await cached_answer(request, caches, namespace, keys, known, render)


def answer_views(
    store: Store, caches: Caches, run: RunRecord, region: str | None, rows: list[dict[str, Any]]
) -> None:
    """Write each row's answer in the view (rows changed in place).

    A regional run is scored within its region, so its view is that region, re-scaled there;
    a national run's view is ``region`` (its regional tiers and places) or the nation.
    """
    within = run.scope != NATIONAL_SCOPE
    view_region = run.scope if within else region
    ties = run_ties(store, caches, run)[view_region is not None and not within]
    with_view(rows, region=view_region, within_region=within, ties=ties)


def run_notes(
    store: Store, caches: Caches, run: RunRecord, challenge: str | None
) -> dict[str, str]:
    """The run's notes (indicators left out of its scope), per challenge."""
    notes = run_notes_table(store, caches, run)
    if notes.empty:
        return {}
    if challenge is not None:
        notes = notes[notes["challenge"] == challenge]
    return {str(c): str(n) for c, n in zip(notes["challenge"], notes["note"], strict=True)}


ExportFormat = Literal["csv", "geojson", "gpkg"]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}


@router.get(
    "/exports/scores.{extension}",
    summary="Exportar puntajes (CSV, GeoJSON, GeoPackage)",
    description="Todos los puntajes de una corrida (por omisión, la nacional más reciente) como "
    "CSV plano, GeoJSON o GeoPackage con la geometría de las comunas. El nombre del archivo "
    "lleva el id de la corrida.",
    responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}},
)
def export_scores(
    store: StoreDep,
    extension: Annotated[ExportFormat, Path(description="csv, geojson o gpkg.")],
    run_id: RunIdQuery = None,
    challenge: OptionalChallengeQuery = None,
    region: RegionQuery = None,
) -> Response:
    """A file of a run's scores."""
    check_challenge(challenge)
    run = resolve_run(store, run_id)
    rows = store.run_results(
        run.run_id, challenge=challenge, region=region, order=["challenge", "rank", "cut"]
    )
    rows = pd.DataFrame(rows).assign(run_id=run.run_id)
    filename = f"puntajes_{run.scope}_{run.run_id[:12]}.{extension}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if extension == "csv":
        content = rows.to_csv(index=False, lineterminator="\n").encode("utf-8")
        return Response(content, media_type=MEDIA_TYPES["csv"], headers=headers)
    cuts = sorted(set(rows["cut"]))
    shapes = store.read("communes", cuts=cuts or None, columns=["cut", "geom"])
    frame = gpd.GeoDataFrame(rows.merge(shapes, on="cut", how="left"), geometry="geom")
    frame = frame.set_crs("EPSG:4326", allow_override=True)
    if extension == "geojson":
        text = frame.to_json(drop_id=True, na="null")
        return Response(text.encode("utf-8"), media_type=MEDIA_TYPES["geojson"], headers=headers)
    with tempfile.TemporaryDirectory(prefix="geogaps-export-") as folder:
        path = FilePath(folder) / filename
        frame.to_file(path, driver="GPKG", layer="puntajes")
        content = path.read_bytes()
    return Response(content, media_type=MEDIA_TYPES["gpkg"], headers=headers)


@router.get(
    "/priorities",
    summary="Comunas prioritarias",
    description="Las `top` comunas de mayor brecha en un desafío (por omisión el compuesto), de "
    "la corrida nacional más reciente; con `region`, ordenadas por su rango dentro de la región. "
    "Cada fila trae las razones (explicación) y la incertidumbre (intervalo 5–95 %, "
    "probabilidad de tramo 1). La respuesta lleva `ETag`: con `If-None-Match` y la misma "
    "corrida responde 304 sin cuerpo.",
    response_model=dict[str, Any],
    responses=NOT_MODIFIED,
)
async def priorities(
    request: Request,
    store: StoreDep,
    caches: CachesDep,
    region: RegionQuery = None,
    challenge: ChallengeQuery = "compuesto",
    top: Annotated[int, Query(ge=1, le=345, description="Cuántas comunas.")] = 10,
    run_id: RunIdQuery = None,
) -> Response:
    """The top priorities of a challenge, rendered once per run and query."""
    check_challenge(challenge)

    def answer(run: RunRecord) -> dict[str, Any]:
        order = ["rank_region", "rank", "cut"] if region else ["rank", "cut"]
        frame = store.run_results(
            run.run_id, challenge=challenge, region=region, limit=top, order=order
        )
        frame = frame[frame["rank"].notna()]
        rows = score_rows(frame, run, run_stats(store, caches, run), run.ranked_counts)
        answer_views(store, caches, run, region, rows)
        for row in rows:
            row["interval_label"] = row["view"]["interval_label"]
        return {"run": run.summary(), "challenge": challenge, "region": region, "priorities": rows}

    key = (challenge, region, top)
    return await run_answer(request, store, caches, run_id, "priorities_answer", key, answer)


def _run_table_page(
    request: Request,
    store: Store,
    caches: Caches,
    table: str,
    challenge: str | None,
    region: str | None,
    run_id: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    run = resolve_run(store, run_id, caches=caches)
    result = run_result(store, caches, run)
    check_challenge(challenge, result.catalogue.score_ids)
    frame: pd.DataFrame = getattr(result, table)
    if challenge is not None:
        frame = frame[frame["challenge"] == challenge]
    if region is not None:
        frame = frame[regions_of(frame["cut"]) == region]
    total = len(frame)
    page = frame.iloc[offset : offset + limit]
    return {"run": run.summary(), **page_links(request, total, limit, offset), table: records(page)}


def _run_table_route(table: str, doc: str) -> Callable[..., dict[str, Any]]:
    """A paginated route over one table of a stored run (``clusters`` or ``groups``)."""

    def route(
        request: Request,
        store: StoreDep,
        caches: CachesDep,
        challenge: Annotated[str | None, Query(description="Desafío.", examples=["agua"])] = None,
        region: RegionQuery = None,
        run_id: RunIdQuery = None,
        limit: LimitQuery = 500,
        offset: OffsetQuery = 0,
    ) -> dict[str, Any]:
        return _run_table_page(
            request, store, caches, table, challenge, region, run_id, limit, offset
        )

    route.__name__ = table
    route.__doc__ = doc
    return route


router.get(
    "/clusters",
    summary="Agrupamientos espaciales (Moran local)",
    description="I de Moran local por comuna y desafío de la corrida guardada: cuadrante "
    "(alto-alto, bajo-bajo...) y valor p. Paginado.",
)(_run_table_route("clusters", "Local Moran clusters of a stored run."))
router.get(
    "/groups",
    summary="Grupos intercomunales propuestos",
    description="Grupos contiguos de comunas prioritarias propuestos por la corrida guardada "
    "(SKATER), por desafío. Paginado.",
)(_run_table_route("groups", "Proposed intercommunal groups of a stored run."))
