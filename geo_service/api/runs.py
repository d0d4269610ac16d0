"""Stored score runs: list, start, read their scores and export them."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from analysis import ScoringParameters
from geo_service.api.deps import (
    LimitQuery,
    OffsetQuery,
    RegionQuery,
    RunIdQuery,
    ServingDep,
    SettingsDep,
    StoreDep,
    WriteAccess,
    check_challenge,
    page_links,
    resolve_run,
    run_stats,
)
from geo_service.errors import BadParameterError
from geo_service.services.rows import score_rows
from geo_service.services.runs import run_scoring
from layers.runs import NATIONAL_SCOPE

router = APIRouter(tags=["corridas y puntajes"])

ScopeQuery = Annotated[
    str | None,
    Query(
        pattern=r"^(nacional|0[1-9]|1[0-6])$",
        description="`nacional` o un código de región.",
        examples=["nacional"],
    ),
]
ChallengeQuery = Annotated[
    str | None,
    Query(
        description="Id de un desafío del catálogo (agua, conectividad, rural_urbano, "
        "compuesto...).",
        examples=["agua"],
    ),
]

RUN_EXAMPLE = {
    "run_id": "3f9c…",
    "scope": "nacional",
    "created_at": "2026-11-22T01:50:00+00:00",
    "software_version": "0.1.0",
    "seed": 20221,
    "parameters": {"region": None, "normalization": "minmax", "draws": 1000},
    "inputs": {"comunas_chile_345": "ab12…"},
    "result_sha256": "9d0e…",
    "versions": {"numpy": "2.4.6"},
    "ranked_counts": {"agua": 345},
}


@router.get(
    "/runs",
    summary="Corridas guardadas",
    description="Corridas de puntaje guardadas, de la más reciente a la más antigua, con su "
    "ámbito (`nacional` o región), parámetros y fecha. Paginado.",
    responses={
        200: {
            "content": {
                "application/json": {"example": {"total": 1, "next": None, "runs": [RUN_EXAMPLE]}}
            }
        }
    },
)
def list_runs(
    request: Request,
    store: StoreDep,
    scope: ScopeQuery = None,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    """Stored runs, newest first."""
    total = store.count_runs(scope)
    runs = store.runs(scope, limit=limit, offset=offset)
    return {**page_links(request, total, limit, offset), "runs": [r.summary() for r in runs]}


@router.get(
    "/runs/{run_id}",
    summary="Una corrida",
    description="El registro de una corrida: entradas (sha256 de cada conjunto leído), "
    "parámetros, versiones y huella de los resultados.",
)
def one_run(
    store: StoreDep,
    run_id: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="Id de la corrida.")],
) -> dict[str, Any]:
    """One stored run."""
    return resolve_run(store, run_id).summary()


class RunRequest(BaseModel):
    """Parameters of a run started over HTTP."""

    region: str | None = Field(default=None, pattern=r"^(0[1-9]|1[0-6])$", examples=["04"])
    normalization: Literal["minmax", "zscore", "rank", "target"] = "minmax"
    aggregation: Literal["arithmetic", "geometric"] = "arithmetic"
    draws: int = Field(default=200, ge=0, le=2000)
    seed: int | None = Field(default=None, ge=0)
    challenge_weights: dict[str, float] = Field(default_factory=dict)
    indicator_weights: dict[str, float] = Field(default_factory=dict)


@router.post(
    "/runs",
    summary="Ejecutar una corrida de puntaje",
    description="Calcula y guarda una corrida con los datos actuales (como `geogaps score`). "
    "Requiere `X-API-Key`. Una corrida regional nunca reemplaza a la nacional que sirven "
    "`/scores` y el mapa.",
    dependencies=[WriteAccess],
    status_code=201,
)
def start_run(
    store: StoreDep, serving: ServingDep, settings: SettingsDep, body: RunRequest
) -> dict[str, Any]:
    """Score and store a run."""
    try:
        parameters = ScoringParameters(
            region=body.region,
            normalization=body.normalization,
            aggregation=body.aggregation,
            draws=body.draws,
            seed=settings.random_seed if body.seed is None else body.seed,
            challenge_weights=body.challenge_weights,
            indicator_weights=body.indicator_weights,
        )
    except ValidationError as error:
        raise BadParameterError(str(error)) from None
    with serving.compute_lock:
        record = run_scoring(store, parameters)
    serving.forget_recent()
    return {"run": record.run.summary(), "stored": record.stored}


@router.get(
    "/scores",
    summary="Puntajes de una corrida guardada",
    description="Puntajes de brecha de una corrida (por omisión, la nacional más reciente), "
    "ordenados por desafío y rango. `region` filtra las filas de la corrida nacional; cada fila "
    "trae el nombre de la comuna, el rango nacional y el regional («3 de 15»), el intervalo "
    "5–95 % y la explicación. La respuesta dice de qué corrida viene.",
    responses={
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
        }
    },
)
def scores(
    request: Request,
    store: StoreDep,
    serving: ServingDep,
    challenge: ChallengeQuery = None,
    region: RegionQuery = None,
    run_id: RunIdQuery = None,
    limit: LimitQuery = 500,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    """Scores of a stored run, page by page, read through the ``(run_id, ...)`` indexes."""
    check_challenge(challenge)
    run = resolve_run(store, run_id, serving=serving)
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
    rows = score_rows(frame, run, run_stats(store, serving, run), run.ranked_counts)
    return {"run": run.summary(), **page_links(request, total, limit, offset), "scores": rows}


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
    challenge: ChallengeQuery = None,
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


__all__ = ["NATIONAL_SCOPE", "router"]
