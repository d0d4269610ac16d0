"""Stored score runs: list them, read one, start one."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field, ValidationError

from analysis import ScoringParameters
from domain import REGION_PATTERN, REGION_PATTERN_WITH_NATIONAL
from geo_service.api.deps import (
    CachesDep,
    LimitQuery,
    OffsetQuery,
    SettingsDep,
    StoreDep,
    WriteAccess,
)
from geo_service.api.gaps import MAX_WEIGHT
from geo_service.api.responses import page_links
from geo_service.errors import refused_input
from geo_service.services.runs import run_scoring
from geo_service.services.serving import prepared_inputs, resolve_run

router = APIRouter(tags=["corridas y puntajes"])

ScopeQuery = Annotated[
    str | None,
    Query(
        pattern=REGION_PATTERN_WITH_NATIONAL,
        description="`nacional` o un código de región.",
        examples=["nacional"],
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


#: A relative weight, from 0 to :data:`geo_service.api.gaps.MAX_WEIGHT`.
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT, allow_inf_nan=False)]


class RunRequest(BaseModel):
    """Parameters of a run started over HTTP."""

    region: str | None = Field(default=None, pattern=REGION_PATTERN, examples=["04"])
    normalization: Literal["minmax", "zscore", "rank", "target"] = "minmax"
    aggregation: Literal["arithmetic", "geometric"] = "arithmetic"
    draws: int = Field(default=200, ge=0, le=2000)
    seed: int | None = Field(default=None, ge=0)
    challenge_weights: dict[str, Weight] = Field(default_factory=dict)
    indicator_weights: dict[str, Weight] = Field(default_factory=dict)


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
    store: StoreDep, caches: CachesDep, settings: SettingsDep, body: RunRequest
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
        with caches.compute_lock:
            prepared = prepared_inputs(store, caches, parameters.region)
            record = run_scoring(store, parameters, prepared=prepared)
    except ValidationError as error:  # weights the catalogue cannot take (all zero...)
        raise refused_input(error) from None
    caches.forget_recent()
    return {"run": record.run.summary(), "stored": record.stored}
