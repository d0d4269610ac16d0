"""Response helpers every router shares: JSON without NaN, and page links."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from geo_service.services.rows import clean


class SafeJSONResponse(JSONResponse):
    """JSON that never holds NaN or Infinity (they become null)."""

    def render(self, content: Any) -> bytes:
        """Serialise ``content`` with NaN and Infinity as null."""
        return json.dumps(
            clean(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


def page_links(request: Request, total: int, limit: int, offset: int) -> dict[str, Any]:
    """``total``, ``limit``, ``offset`` and the ``next`` page's URL (None on the last page)."""
    following = offset + limit
    next_url = (
        str(request.url.include_query_params(offset=following, limit=limit))
        if following < total
        else None
    )
    return {"total": total, "limit": limit, "offset": offset, "next": next_url}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["detail"],
                    "properties": {"detail": {"type": "string"}},
                }
            }
        },
    }


#: Statuses any route can answer, with the body every one of them has.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Parámetro de consulta desconocido o mal formado; el mensaje lo nombra."),
    404: _error("Lo pedido no existe (comuna, corrida, capa, conjunto); el mensaje lo nombra."),
    500: _error("Error interno del servidor (queda registrado)."),
    503: _error("El almacén de datos no responde; reintente en unos segundos (Retry-After)."),
}
