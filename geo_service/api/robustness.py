"""HTTP routes of the robustness analysis: ``/sensitivity`` (Sobol' indices) and ``/audit``."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from analysis import ScoringParameters, load_catalogue
from geo_service.api.deps import CachesDep, RegionQuery, StoreDep
from geo_service.errors import BadParameterError
from geo_service.services.robustness import (
    audit_for,
    scope_label,
    sensitivity_chart_png,
    sensitivity_for,
)

router = APIRouter(tags=["robustez"])


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records", force_ascii=False))
    return rows


def _parameters(request: Request, region: str | None) -> ScoringParameters:
    settings = request.app.state.settings
    return ScoringParameters(region=region, seed=settings.random_seed, draws=0)


@router.get(
    "/sensitivity",
    summary="Sensibilidad global de los lugares (índices de Sobol')",
    description=(
        "Qué entrada incierta mueve los lugares de las comunas: el peso de cada desafío (o de "
        "cada indicador si se pide un desafío), la normalización, la agregación, la "
        "winsorización y el error de cada estimación publicada (pobreza por ingresos y "
        "multidimensional). Índices de Sobol' de primer orden (S1) y totales (ST) con su "
        "intervalo de confianza del 95 % (SALib, muestreo de Saltelli). El resultado analizado "
        "es el desplazamiento medio absoluto de los lugares respecto del lugar puntual, en "
        "todo el ámbito y en las primeras N comunas. `format=png` devuelve el gráfico."
    ),
)
def sensitivity(
    request: Request,
    store: StoreDep,
    caches: CachesDep,
    region: RegionQuery = None,
    challenge: Annotated[
        str, Query(description="Id de un desafío del catálogo o del índice compuesto.")
    ] = "compuesto",
    samples: Annotated[
        int, Query(ge=16, le=4096, description="N del diseño de Sobol' (potencia de 2).")
    ] = 512,
    top: Annotated[int, Query(ge=1, le=100, description="Tamaño del grupo de primeras.")] = 10,
    format: Annotated[
        Literal["json", "png"], Query(description="`json` (tabla) o `png` (gráfico).")
    ] = "json",
) -> Any:
    """Sobol' indices of one score's ranks."""
    if samples & (samples - 1):
        raise BadParameterError(f"samples debe ser una potencia de 2, no {samples}")
    score_ids = load_catalogue().score_ids
    if challenge not in score_ids:
        raise BadParameterError(
            f"desafío desconocido {challenge!r}; opciones: {', '.join(score_ids)}"
        )
    parameters = _parameters(request, region)
    result = sensitivity_for(
        store, parameters, challenge, base_samples=samples, top_n=top, caches=caches
    )
    if format == "png":
        title = f"Sensibilidad de los lugares — {challenge}, {scope_label(parameters)}"
        return Response(sensitivity_chart_png(result, title), media_type="image/png")
    return {
        "challenge": challenge,
        "scope": scope_label(parameters),
        "base_samples": result.base_samples,
        "evaluations": result.evaluations,
        "top_n": result.top_n,
        "output": (
            "desplazamiento medio absoluto de los lugares respecto del lugar puntual "
            f"(todas las comunas del ámbito y las primeras {result.top_n})"
        ),
        "indices": _records(result.table),
    }


@router.get(
    "/audit",
    summary="Auditoría de coherencia estadística del índice",
    description=(
        "Por desafío: correlaciones entre los indicadores normalizados y con el puntaje del "
        "desafío, alfa de Cronbach, proporción de varianza del primer componente principal; "
        "alertas para todo indicador cuya correlación con su desafío va contra su dirección "
        "declarada y para todo par con |r| > 0,9 (doble conteo), indicando si el catálogo lo "
        "documenta."
    ),
)
def audit(
    request: Request, store: StoreDep, caches: CachesDep, region: RegionQuery = None
) -> dict[str, Any]:
    """Coherence audit of the index in a scope."""
    parameters = _parameters(request, region)
    result = audit_for(store, parameters, caches=caches)
    return {
        "scope": result.scope_label,
        "passed": result.passed,
        "challenges": _records(result.challenges),
        "indicators": _records(result.indicators),
        "pairs": _records(result.pairs),
        "flags": _records(result.flags),
    }
