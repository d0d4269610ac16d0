"""Fill a worker's caches before it takes requests, so no planner pays for a cold start.

Every worker of ``geogaps serve --workers N`` has its own caches. Without this, the first
request for the newest run, a commune's context or ``/gaps`` in each worker costs a read of
whole tables (0.1–1.5 s); with it, the worker reads them once while starting. A store that
cannot answer (database down, nothing loaded, no run yet) only skips what it cannot fill:
the server still starts and ``/ready`` says why it is not ready.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from analysis.formatting import format_seconds
from domain.errors import NotFoundError
from geo_service.services.cache import Caches
from geo_service.services.serving import (
    analysis_inputs,
    communes_context,
    resolve_run,
    run_profiles,
    run_result,
    run_stats,
)
from layers.stores import Store

# uvicorn configures this logger: its lines show up with the server's own.
logger = logging.getLogger("uvicorn.error")


def warm_caches(store: Store, caches: Caches) -> list[str]:
    """Read what the busiest routes need once; return the names of the caches filled.

    Fills the newest national run (its tables, regional counts and stored profiles), every
    commune's context for the data loaded now and the inputs of ``/gaps``.
    """
    started = time.perf_counter()
    filled: list[str] = []
    try:
        state = caches.data_state(store)
    except Exception as error:
        logger.warning("cachés sin calentar: el almacén no responde (%s)", error)
        return filled
    steps: list[tuple[str, Callable[[], object]]] = [
        ("contexto de comunas", lambda: communes_context(store, caches, state)),
        ("entradas de /gaps", lambda: analysis_inputs(store, caches, state)),
    ]
    try:
        run = resolve_run(store, None, caches=caches)
    except NotFoundError:
        run = None
    if run is not None:
        steps[:0] = [
            ("tablas de la corrida", lambda: run_result(store, caches, run)),
            ("conteos regionales", lambda: run_stats(store, caches, run)),
            ("perfiles guardados", lambda: run_profiles(store, caches, run)),
        ]
    for name, fill in steps:
        try:
            fill()
        except Exception as error:
            logger.warning("caché %s sin calentar: %s", name, error)
        else:
            filled.append(name)
    logger.info(
        "cachés listas en %s: %s",
        format_seconds(time.perf_counter() - started),
        ", ".join(filled) or "ninguna",
    )
    return filled
