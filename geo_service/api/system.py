"""Health and readiness of the service."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from geo_service.api.deps import StoreDep
from geo_service.api.responses import SafeJSONResponse
from geo_service.errors import message_of

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
    summary="El almacén de datos responde",
    description="200 si el almacén (PostGIS o GeoParquet) responde; 503 con el motivo si no. "
    "Se recupera solo cuando la base de datos vuelve, sin reiniciar el servidor.",
    responses={
        200: {"content": {"application/json": {"example": {"status": "ready"}}}},
        503: {
            "content": {
                "application/json": {
                    "example": {
                        "status": "unavailable",
                        "reason": "almacén de datos no disponible: connection refused",
                    }
                }
            }
        },
    },
)
def ready(store: StoreDep) -> Response:
    """Readiness probe: the store answers a trivial query."""
    try:
        store.ping()
    except Exception as error:
        return SafeJSONResponse(
            {"status": "unavailable", "reason": message_of(error, 503)},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return SafeJSONResponse({"status": "ready"})
