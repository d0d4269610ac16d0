"""The serving floor: the same server returning the same bytes from memory (benchmarks only).

Mounted only when ``GEOGAPS_FLOOR_FILE`` is set (never by default, never in the OpenAPI
document): ``GET /_floor`` answers that file's bytes, read once at the first request, through
the same middleware and the same answer path as ``/scores`` (ETag, 304, gzip done once). A
benchmark writes a real answer (e.g. the plain bytes of ``/scores?challenge=agua&region=04``)
to the file, then times both routes on one server: what is left between them is the cost of
finding the cached answer.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import NotFoundError
from geo_service.api.responses import RenderedAnswer, answer_response, rendered_bytes


def floor_router(path: Path) -> APIRouter:
    """A router with the hidden ``GET /_floor`` answering the bytes of ``path``."""
    router = APIRouter(include_in_schema=False)
    held: list[RenderedAnswer] = []

    def read() -> RenderedAnswer:
        try:
            return rendered_bytes(path.read_bytes())
        except FileNotFoundError:
            raise NotFoundError(f"el archivo del piso {path} aún no existe") from None

    @router.get("/_floor")
    async def floor(request: Request) -> Response:
        if not held:
            held.append(await run_in_threadpool(read))
        return answer_response(request, held[0])

    return router
