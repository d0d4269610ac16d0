"""Health and readiness of the service."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from geo_service.api.deps import StoreDep
from geo_service.api.responses import SafeJSONResponse
from geo_service.errors import message_of
from geo_service.services.warm import RETRY_AFTER_SECONDS, WarmUp

router = APIRouter(tags=["servicio"])


@router.get(
    "/health",
    summary="El proceso está vivo",
    description='Responde `{"status": "ok"}` mientras el proceso atiende; no consulta el '
    "almacén (para eso, `/ready`).",
)
def health() -> dict[str, str]:
    """Liveness probe."""
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="El servidor está listo: almacén disponible y cachés calientes",
    description="200 cuando el almacén (PostGIS o GeoParquet) responde y este proceso terminó "
    "de calentar sus cachés; 503 con el motivo y `Retry-After` si no.\n\n"
    "Al arrancar, el proceso acepta conexiones de inmediato (`/health` responde) y calienta "
    "sus cachés en segundo plano (la corrida más reciente, el contexto de las comunas, las "
    "entradas de `/gaps`, la primera carga de `/mapa` y, si `GEOGAPS_WARM_ELIGIBILITY`, Zonas "
    "Rezagadas nacional): mientras tanto responde "
    '`{"status": "warming", "reason": "calentando cachés: …"}` con 503, de modo que un '
    "balanceador no le envíe usuarios antes de que la primera carga del mapa sea tan rápida "
    "como las siguientes. Cada proceso (`--workers N`) tiene su propio calentamiento.\n\n"
    "Tras una carga de datos o una corrida nueva sigue respondiendo 200: las cachés del nuevo "
    "estado se calientan en segundo plano (en pocos segundos) y la primera consulta que llegue "
    "antes las calcula. Se recupera solo cuando la base de datos vuelve, sin reiniciar.",
    responses={
        200: {"content": {"application/json": {"example": {"status": "ready"}}}},
        503: {
            "content": {
                "application/json": {
                    "examples": {
                        "calentando": {
                            "value": {
                                "status": "warming",
                                "reason": "calentando cachés: contornos del mapa (7 de 10)",
                            }
                        },
                        "sin almacén": {
                            "value": {
                                "status": "unavailable",
                                "reason": "almacén de datos no disponible: connection refused",
                            }
                        },
                    }
                }
            }
        },
    },
)
def ready(request: Request, store: StoreDep) -> Response:
    """Readiness probe: the store answers a trivial query and the caches are warm."""
    try:
        store.ping()
    except Exception as error:
        return SafeJSONResponse(
            {"status": "unavailable", "reason": message_of(error, 503)},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    warm_up: WarmUp | None = request.app.state.warm_up
    if warm_up is not None and not warm_up.ready:
        return SafeJSONResponse(
            {"status": "warming", "reason": f"calentando cachés: {warm_up.step}"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return SafeJSONResponse({"status": "ready"})
