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
