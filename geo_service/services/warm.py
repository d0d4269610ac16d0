"""Fill a worker's caches in the background, and say when they are full (``/ready``).

Every worker of ``geogaps serve --workers N`` has its own caches. Without a warm-up, the first
request for the newest run, a commune's context, ``/gaps``, the map's outlines or the national
Zonas Rezagadas emulation in each worker costs a read of whole tables or a national
computation (0.1 s to 20 s). The worker takes connections at once (``/health`` answers), warms
its caches in a thread and answers ``/ready`` with 503 until that thread is done; a balancer
that waits for ``/ready`` sends it no planner before the first map load is as fast as later
ones.

After the warm-up the thread keeps watching the store: when the data state or the newest
national run changes (a load, a removal, a new run, from this worker or another), it warms the
caches of the new state in the background. ``/ready`` stays 200 meanwhile (the worker answers
every request, and taking every worker out of rotation at once would be an outage); a request
that arrives before the re-warm reaches what it needs computes it itself.

A store that cannot answer (database down, nothing loaded, no run yet) only skips what it
cannot fill: the warm-up still ends, ``/ready`` says why the store is not ready, and the
watcher warms the caches once the store answers.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from analysis import load_catalogue
from domain.errors import NotFoundError
from domain.numbers import format_integer, format_seconds
from geo_service.services.accessibility import land_cover_path
from geo_service.services.cache import Caches
from geo_service.services.eligibility import eligibility
from geo_service.services.map_data import medians, outlines, region_list
from geo_service.services.serving import (
    analysis_inputs,
    communes_context,
    resolve_run,
    run_profiles,
    run_result,
    run_stats,
    run_ties,
)
from layers.runs import RunRecord
from layers.stores import Store
from maps.page import PageUrls

# uvicorn configures this logger: its lines show up with the server's own.
logger = logging.getLogger("uvicorn.error")

#: Seconds between two looks at the store's data state and newest run, once warm.
WATCH_SECONDS = 5.0
#: Seconds a client is told to wait before asking ``/ready`` again while warming.
RETRY_AFTER_SECONDS = 2


@dataclass
class WarmUp:
    """Progress of one worker's warm-up: what it is filling, whether it is done.

    ``/ready`` reads it; the warm-up thread writes it. ``stop`` ends the thread (the lifespan
    sets it when the worker stops).
    """

    step: str = "inicio"
    filled: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    #: Warm-ups finished: the first one, then one per change of data or newest run.
    finished: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def ready(self) -> bool:
        """Whether the first warm-up has finished (re-warms after a data change do not count)."""
        return self.done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the first warm-up has finished (or ``timeout``); whether it has."""
        return self.done.wait(timeout)

    def wait_for_warm_ups(self, count: int, timeout: float | None = None) -> bool:
        """Block until ``count`` warm-ups have finished (or ``timeout``); whether they have."""
        with self.changed:
            return self.changed.wait_for(lambda: self.finished >= count, timeout)

    def record(self, filled: list[str]) -> None:
        """Keep what a warm-up filled and count it (the first one makes the worker ready)."""
        with self.changed:
            self.filled = filled
            self.finished += 1
            self.changed.notify_all()

    def close(self) -> None:
        """Stop the thread after its current step and wait for it (the store closes next)."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join()


#: What warms one application: called in the warm-up thread with the app, returns the names
#: of the caches filled. ``create_app`` takes another one for tests (one that waits for the
#: test to let it go, say).
Warmer = Callable[[Any], list[str]]


def map_first_load(run: RunRecord) -> list[str]:
    """The requests of ``/mapa``'s first load that read the store, as ``mapa.js`` makes them.

    The page, the commune and region outlines, the newest run's scores for the composite
    challenge (``loadScores``) and the ``/gaps`` call that readies live re-weighting. The
    static scripts and styles are files: nothing to warm.
    """
    urls = PageUrls()
    composite = load_catalogue().composite_id
    return [
        "/mapa",
        urls.communes,
        urls.regions,
        f"{urls.scores}?challenge={composite}&limit=1000&run_id={run.run_id}",
        f"{urls.gaps}?challenge={composite}&limit=1",
    ]


def replay(app: Any, paths: list[str]) -> None:
    """Ask ``app`` for ``paths`` in this process, as a browser would (gzip accepted).

    Going through the routes fills exactly the caches they read, whatever they keep.

    Raises
    ------
    RuntimeError
        If a request does not answer 200 (the warm-up logs it and goes on).
    """

    async def ask() -> None:
        transport = httpx.ASGITransport(app=app)
        headers = {"Accept-Encoding": "gzip"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://calentamiento"
        ) as client:
            for path in paths:
                response = await client.get(path, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"{path} respondió {response.status_code}")

    asyncio.run(ask())


def warm_caches(
    store: Store,
    caches: Caches,
    *,
    app: Any | None = None,
    land_cover: Path | None = None,
    national_eligibility: bool = False,
    progress: WarmUp | None = None,
) -> list[str]:
    """Read what the first map load and the busiest routes need once; return what was filled.

    Fills the newest national run (its tables, regional counts, ties and stored profiles),
    every commune's context and the inputs of ``/gaps`` for the data loaded now, the map's
    outlines and every region's medians; with ``app``, the first map load's own requests
    (:func:`map_first_load`: page, layers, scores, ``/gaps``); with ``national_eligibility``,
    the Zonas Rezagadas emulation the commune profile shows (the longest step: last). Each
    step's time is logged; ``progress`` is told which step runs.
    """
    started = time.perf_counter()
    filled: list[str] = []
    try:
        state = caches.data_state(store)
    except Exception as error:
        logger.warning("cachés sin calentar: el almacén no responde (%s)", error)
        return filled
    try:
        run: RunRecord | None = resolve_run(store, None, caches=caches)
    except NotFoundError:
        run = None
    except Exception as error:
        logger.warning("corrida más reciente sin leer: %s", error)
        run = None
    steps: list[tuple[str, Callable[[], object]]] = []
    if run is not None:
        newest = run
        steps += [
            ("tablas de la corrida", lambda: run_result(store, caches, newest)),
            ("conteos regionales", lambda: run_stats(store, caches, newest)),
            ("empates por lugar", lambda: run_ties(store, caches, newest)),
            ("perfiles guardados", lambda: run_profiles(store, caches, newest)),
        ]
    steps += [
        ("contexto de comunas", lambda: communes_context(store, caches, state)),
        ("entradas de /gaps", lambda: analysis_inputs(store, caches, state)),
        ("contornos del mapa", lambda: outlines(store, caches)),
    ]
    if run is not None:
        steps.append(
            (
                "medianas regionales",
                lambda: [medians(store, caches, r["code"]) for r in region_list(store, caches)],
            )
        )
        if app is not None:
            paths = map_first_load(run)
            steps.append(("primera carga del mapa", lambda: replay(app, paths)))
    if national_eligibility:
        steps.append(
            (
                "Zonas Rezagadas nacional",
                lambda: eligibility(store, None, caches, land_cover=land_cover),
            )
        )
    for number, (name, fill) in enumerate(steps, start=1):
        if progress is not None:
            if progress.stop.is_set():
                break
            progress.step = f"{name} ({format_integer(number)} de {format_integer(len(steps))})"
        step_started = time.perf_counter()
        try:
            fill()
        except Exception as error:
            logger.warning("caché %s sin calentar: %s", name, error)
        else:
            filled.append(name)
            logger.info(
                "caché %s lista en %s", name, format_seconds(time.perf_counter() - step_started)
            )
    logger.info(
        "cachés listas en %s: %s",
        format_seconds(time.perf_counter() - started),
        ", ".join(filled) or "ninguna",
    )
    return filled


def watched_state(store: Store, caches: Caches) -> tuple[str, str] | None:
    """The data state and newest national run id now ("" without a run); None if unreadable."""
    caches.forget_recent()
    try:
        state = caches.data_state(store)
    except Exception:
        return None
    try:
        run_id = resolve_run(store, None, caches=caches).run_id
    except Exception:
        run_id = ""
    return state, run_id


def start_warm_up(app: Any, warm: Warmer) -> WarmUp:
    """Warm ``app``'s caches in a thread, then re-warm them whenever the data change.

    The store and caches are the app's (``app.state``); the :class:`WarmUp` that ``/ready``
    reads is kept as ``app.state.warm_up`` before the thread starts, and returned. Close it
    before closing the store.
    """
    store: Store = app.state.store
    caches: Caches = app.state.caches
    progress = WarmUp()
    app.state.warm_up = progress

    def warm_guarded() -> list[str]:
        # A failing warm-up must neither keep /ready at 503 nor end the watcher.
        try:
            return warm(app)
        except Exception:
            logger.exception("calentamiento interrumpido: las peticiones calcularán lo que falte")
            return []

    def work() -> None:
        started = time.perf_counter()
        logger.info("calentando cachés; /ready responde 503 hasta terminar")
        warmed = watched_state(store, caches)
        filled = warm_guarded()
        if progress.stop.is_set():
            return  # stopped while warming: the worker is shutting down
        # Everything imported and cached so far lives as long as the worker: keep it out of
        # the collector's full passes, which otherwise stall every request for 0.1–0.2 s.
        gc.collect()
        gc.freeze()
        progress.step = "listo"
        progress.done.set()
        progress.record(filled)
        logger.info(
            "servidor listo en %s: /ready responde 200",
            format_seconds(time.perf_counter() - started),
        )
        while not progress.stop.wait(WATCH_SECONDS):
            now = watched_state(store, caches)
            if now is None or now == warmed:
                continue
            logger.info("datos o corrida nuevos: recalentando cachés en segundo plano")
            warmed = now
            progress.record(warm_guarded())

    progress.thread = threading.Thread(target=work, name="geogaps-calentamiento", daemon=True)
    progress.thread.start()
    return progress


def warm_app(app: Any) -> list[str]:
    """Warm an application's caches the way its settings say (the default :data:`Warmer`)."""
    settings = app.state.settings
    return warm_caches(
        app.state.store,
        app.state.caches,
        app=app,
        land_cover=land_cover_path(settings),
        national_eligibility=settings.warm_eligibility,
        progress=app.state.warm_up,
    )
