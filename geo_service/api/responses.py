"""Response helpers every router shares: JSON without NaN, page links, and answers rendered once.

A rendered answer (:class:`RenderedAnswer`) is the JSON bytes of one answer, its gzip bytes and
its ETag, all computed once and kept in the worker's cache; :func:`answer_response` sends it as
it is: ``304`` when the client already holds it (``If-None-Match``), the gzip bytes when the
client accepts gzip, the plain bytes otherwise. Nothing is serialised or compressed again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from geo_service.services.cache import Caches
from geo_service.services.rows import clean

#: Smaller answers go uncompressed (the gzip bytes would save little and cost a header); the
#: application's GZipMiddleware uses the same threshold.
GZIP_MINIMUM_SIZE = 1000
#: Rendered answers are compressed once, so the slowest, smallest level costs nothing per request.
RENDERED_GZIP_LEVEL = 9
JSON_MEDIA_TYPE = "application/json"
#: Larger answers (all scores of a national run on one page) are rendered for each request but
#: not kept: a worker's cache holds answers by count, and a few such pages would fill it.
MAX_KEPT_BYTES = 1 << 20


class SafeJSONResponse(JSONResponse):
    """JSON that never holds NaN or Infinity (they become null)."""

    def render(self, content: Any) -> bytes:
        """Serialise ``content`` with NaN and Infinity as null."""
        return json.dumps(
            clean(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


@dataclass(frozen=True, slots=True)
class RenderedAnswer:
    """One answer's bytes, computed once: plain, gzip (None when small) and their ETags."""

    body: bytes
    gzipped: bytes | None
    etag: str
    gzip_etag: str


def rendered_bytes(body: bytes) -> RenderedAnswer:
    """``body`` with its gzip bytes and strong ETags (one per encoding, as RFC 9110 asks)."""
    tag = hashlib.sha256(body).hexdigest()[:32]
    compressed = None
    if len(body) >= GZIP_MINIMUM_SIZE:
        # mtime=0: the same answer always compresses to the same bytes.
        compressed = gzip.compress(body, compresslevel=RENDERED_GZIP_LEVEL, mtime=0)
    return RenderedAnswer(body, compressed, f'"{tag}"', f'"{tag}-gzip"')


def render_answer(content: Any) -> RenderedAnswer:
    """``content`` as JSON, rendered once (NaN and Infinity as null, as in SafeJSONResponse)."""
    return rendered_bytes(orjson.dumps(clean(content)))


def _accepts_gzip(request: Request) -> bool:
    # The very test GZipMiddleware makes, so both kinds of answer agree on who gets gzip.
    return "gzip" in request.headers.get("accept-encoding", "")


def _already_held(request: Request, answer: RenderedAnswer) -> bool:
    """Whether ``If-None-Match`` names the answer (either encoding's ETag, weak or not, or *)."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or answer.etag in tags or answer.gzip_etag in tags


def answer_response(request: Request, answer: RenderedAnswer) -> Response:
    """The rendered answer as the client wants it: 304, gzip bytes or plain bytes, as kept."""
    encoded = answer.gzipped is not None and _accepts_gzip(request)
    headers = {"ETag": answer.gzip_etag if encoded else answer.etag}
    if answer.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if _already_held(request, answer):
        return Response(status_code=304, headers=headers)
    if encoded:
        # GZipMiddleware leaves an answer that has a Content-Encoding alone.
        headers["Content-Encoding"] = "gzip"
        return Response(answer.gzipped, media_type=JSON_MEDIA_TYPE, headers=headers)
    if answer.gzipped is not None:
        # The plain bytes of a large answer pass through GZipMiddleware, which adds Vary itself.
        del headers["Vary"]
    return Response(answer.body, media_type=JSON_MEDIA_TYPE, headers=headers)


def kept_answer(
    caches: Caches, namespace: str, key: Hashable, state: str, content: Callable[[], Any]
) -> RenderedAnswer:
    """The answer kept under ``key`` for ``state``, else ``content()`` rendered.

    The rendered answer is kept unless larger than :data:`MAX_KEPT_BYTES`.
    """
    with caches.making(namespace, key, state=state):  # rendered once, however many ask
        found: RenderedAnswer | None = caches.get(namespace, key, state=state)
        if found is None:
            found = render_answer(content())
            if len(found.body) <= MAX_KEPT_BYTES:
                caches.put(namespace, key, found, state=state)
    return found


async def cached_answer(
    request: Request,
    caches: Caches,
    namespace: str,
    keys: tuple[Hashable, ...],
    state: str | None,
    render: Callable[[], RenderedAnswer],
) -> Response:
    """The answer kept under one of ``keys`` for ``state``, else ``render()`` in a worker thread.

    ``state`` is what the caller already knows without input/output (a run id, a data state
    looked up within the last second), or None; ``render`` resolves everything, reads what it
    needs and keeps its answer in ``namespace``. A cached answer is sent straight from the event
    loop: no thread, no query, no serialisation.
    """
    found = None if state is None else kept_under(caches, namespace, keys, state)
    if found is None:
        found = await run_in_threadpool(render)
    return answer_response(request, found)


def kept_under(
    caches: Caches, namespace: str, keys: tuple[Hashable, ...], state: str
) -> RenderedAnswer | None:
    """The answer kept under the first of ``keys`` that holds one for ``state``, or None."""
    for key in keys:
        found: RenderedAnswer | None = caches.get(namespace, key, state=state)
        if found is not None:
            return found
    return None


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


#: The status of a rendered answer the client already holds (``If-None-Match``).
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "La respuesta no cambió desde la que el cliente tiene (misma ETag)."}
}

#: Statuses any route can answer, with the body every one of them has.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Parámetro de consulta desconocido o mal formado; el mensaje lo nombra."),
    404: _error("Lo pedido no existe (comuna, corrida, capa, conjunto); el mensaje lo nombra."),
    500: _error("Error interno del servidor (queda registrado)."),
    503: _error("El almacén de datos no responde; reintente en unos segundos (Retry-After)."),
}
