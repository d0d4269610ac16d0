"""What every benchmark here shares: scratch databases, servers, the load generator, the table.

- :class:`Scratch` creates databases on the server under a name prefix the benchmark owns, marks
  each with a comment, drops them at the end and, at start, drops leftovers an interrupted run
  left behind (same prefix AND same comment: a database of someone else is never touched).
- :func:`served` runs one uvicorn process (one worker) on a free loopback port until the block
  ends: geogaps through :func:`bench_app` (the app of ``geo_service.app.create_app`` plus the
  *floor* route, see below) or tipg.
- :func:`measure` fires a fixed number of GETs from a fixed number of client threads at several
  targets in alternating blocks, so the machine's other load falls on all of them alike.
- :class:`Row` and :func:`render_table` write the one table: measure, geogaps, peer,
  ratio = geogaps ÷ peer, goal.

The floor: :func:`bench_app` adds ``PUT``/``GET /_banco/piso/{name}`` to the real app; the
benchmark stores there the exact bytes a route answered, and the floor is the same server,
same middleware and same uvicorn configuration returning those bytes from memory.
"""

from __future__ import annotations

import math
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request, Response
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The worktree's packages, not whichever copy the virtualenv's editable install points at.
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from domain.numbers import format_number  # noqa: E402

#: Path of the floor route (``{name}`` is a label of the stored bytes).
FLOOR_PATH = "/_banco/piso"
#: No compression on either side: the figures are for building and sending the answer.
IDENTITY = {"Accept-Encoding": "identity"}


# -- scratch databases -------------------------------------------------------------------------


class Scratch:
    """Databases ``<prefix>_<name>`` on the server of ``server_url``, commented as ours."""

    def __init__(self, server_url: str, prefix: str, comment: str) -> None:
        self.server: URL = make_url(server_url)
        self.prefix = prefix
        self.comment = comment
        self.created: list[str] = []

    def _admin(self) -> Any:
        return create_engine(self.server.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def name(self, suffix: str) -> str:
        return f"{self.prefix}_{suffix}"

    def url(self, suffix: str) -> str:
        return self.server.set(database=self.name(suffix)).render_as_string(hide_password=False)

    def sweep(self) -> list[str]:
        """Drop leftovers of an interrupted run: our prefix and our comment, nothing else."""
        engine = self._admin()
        try:
            with engine.connect() as connection:
                names = connection.execute(
                    text(
                        "SELECT datname FROM pg_database WHERE starts_with(datname, :prefix) "
                        "AND shobj_description(oid, 'pg_database') = :comment"
                    ),
                    {"prefix": f"{self.prefix}_", "comment": self.comment},
                ).scalars()
                dropped = list(names)
                for name in dropped:
                    connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()
        return dropped

    def create(self, suffix: str, template: str | None = None) -> str:
        """Create ``<prefix>_<suffix>`` (empty with PostGIS, or a copy of scratch ``template``).

        Refuses a name that exists: it is not ours (:meth:`sweep` dropped our leftovers).
        """
        name = self.name(suffix)
        engine = self._admin()
        try:
            with engine.connect() as connection:
                copy = f' TEMPLATE "{self.name(template)}"' if template else ""
                connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
                self.created.append(name)
                connection.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{self.comment}'"))
        finally:
            engine.dispose()
        if template is None:
            database = create_engine(self.url(suffix))
            try:
                with database.begin() as connection:
                    connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            finally:
                database.dispose()
        return self.url(suffix)

    def drop_all(self) -> None:
        """Drop every database this object created (in ``finally``)."""
        engine = self._admin()
        try:
            with engine.connect() as connection:
                for name in reversed(self.created):
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()
        self.created.clear()


# -- servers -----------------------------------------------------------------------------------


def bench_app() -> Any:
    """geogaps' app (settings from the environment) with the floor route added.

    ``PUT {FLOOR_PATH}/{name}`` keeps the request body and its ``Content-Type``; ``GET`` returns
    them as they are. Served by the same uvicorn process and middleware as every other route.
    """
    from geo_service.app import create_app

    app = create_app()
    kept: dict[str, tuple[bytes, str]] = {}

    async def keep(name: str, request: Request) -> Response:
        kept[name] = (await request.body(), request.headers.get("content-type", ""))
        return Response(status_code=204)

    async def floor(name: str) -> Response:  # on the event loop, like a kept answer
        content, media_type = kept[name]
        return Response(content, media_type=media_type)

    app.add_api_route(f"{FLOOR_PATH}/{{name}}", keep, methods=["PUT"], include_in_schema=False)
    app.add_api_route(f"{FLOOR_PATH}/{{name}}", floor, methods=["GET"], include_in_schema=False)
    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(name: str, app: str, env: dict[str, str], ready: str, factory: bool) -> Iterator[str]:
    """Run ``uvicorn app`` (one worker, loopback) until the block ends; yield its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", *(["--factory"] if factory else [])]
    log = open(f"/tmp/bench_{name}_{port}.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} terminó al iniciar; ver {log.name}")
            with suppress(httpx.HTTPError):
                if httpx.get(base + ready, timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} no respondió en 180 s; ver {log.name}")
            time.sleep(0.25)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def geogaps_server(database_url: str) -> Any:
    """geogaps with the floor route over ``database_url`` (ready once its caches are warm)."""
    return served(
        "geogaps",
        "benchmarks.harness:bench_app",
        {"GEOGAPS_DATABASE_URL": database_url},
        "/ready",
        factory=True,
    )


def tipg_server(database_url: str) -> Any:
    """tipg over the ``communes`` and ``facilities`` tables of ``database_url``."""
    libpq = make_url(database_url).set(drivername="postgresql")
    env = {
        "DATABASE_URL": libpq.render_as_string(hide_password=False),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.communes", "public.facilities"]',
        "TIPG_DEBUG": "false",
        # geogaps' tile buffer (tipg's default is 256); both use the 4096 extent.
        "TIPG_TILE_BUFFER": "64",
    }
    return served("tipg", "tipg.main:app", env, "/collections", factory=False)


# -- load generator ----------------------------------------------------------------------------

#: A request target: the URL of the i-th request.
Target = Callable[[int], str]


def constant(url: str) -> Target:
    """The target asking for ``url`` every time."""
    return lambda number: url


@dataclass
class Block:
    """One block of requests: latencies in the order they finished, wall time, sizes."""

    latencies: list[float]
    wall: float
    sizes: list[int]
    last_body: bytes = b""


def fire(target: Target, requests: int, clients: int, start: int = 0) -> Block:
    """``requests`` GETs (``target(start)``, ``target(start + 1)``…) from ``clients`` threads.

    Each thread keeps its own connection; any status but 200 or 204 stops the benchmark.
    """
    latencies: list[float] = []
    sizes: list[int] = []
    last = [b""]
    lock = threading.Lock()
    numbers = iter(range(start, start + requests))
    failure: list[BaseException] = []

    def worker() -> None:
        with httpx.Client(headers=IDENTITY, timeout=120) as client:
            while not failure:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                url = target(number)
                began = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - began
                if response.status_code not in (200, 204):  # 204: an empty vector tile
                    failure.append(RuntimeError(f"{url}: HTTP {response.status_code}"))
                    return
                with lock:
                    latencies.append(elapsed)
                    sizes.append(len(response.content))
                    last[0] = response.content

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failure:
        raise failure[0]
    return Block(latencies, time.perf_counter() - began, sizes, last[0])


@dataclass
class Figures:
    """Latency percentiles (ms), throughput and median answer size over timed blocks."""

    p50_ms: float
    p99_ms: float
    rps: float
    bytes: int
    n: int
    first_p50_ms: float = field(default=float("nan"))


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0–1) of ``values``."""
    ordered = sorted(values)
    # ceil(share × n), less float noise (0.99 × 100 is 99.00000000000001)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered) - 1e-9)))
    return ordered[rank - 1]


def figures(blocks: Sequence[Block]) -> Figures:
    """:class:`Figures` of ``blocks``; ``first_p50_ms`` is the median first request of each."""
    latencies = [x for block in blocks for x in block.latencies]
    return Figures(
        p50_ms=1000 * statistics.median(latencies),
        p99_ms=1000 * percentile(latencies, 0.99),
        rps=len(latencies) / sum(block.wall for block in blocks),
        bytes=int(statistics.median(x for block in blocks for x in block.sizes)),
        n=len(latencies),
        first_p50_ms=1000 * statistics.median(block.latencies[0] for block in blocks),
    )


def measure(
    targets: dict[str, Target],
    requests: int,
    clients: int,
    blocks: int,
    before_block: Callable[[str], None] | None = None,
    after_block: Callable[[str, Block], None] | None = None,
) -> dict[str, Figures]:
    """Each target in turn, block after block (a first warm-up block each is not counted).

    ``requests`` is the number of timed requests per target, split into ``blocks`` blocks.
    ``before_block(name)`` runs untimed before each block (to change what is served) and
    ``after_block(name, block)`` after it (to check what was served).
    """
    size = max(clients, requests // blocks)
    timed: dict[str, list[Block]] = {name: [] for name in targets}
    counter = 0
    for number in range(blocks + 1):
        for name, target in targets.items():
            if before_block is not None:
                before_block(name)
            block = fire(target, size, clients, start=counter)
            counter += size
            if after_block is not None:
                after_block(name, block)
            if number > 0:
                timed[name].append(block)
    return {name: figures(runs) for name, runs in timed.items()}


# -- the table ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: ``ratio`` is ``geogaps / peer`` and must be ``<= goal``."""

    measure: str
    geogaps: float | None
    peer: float | None
    unit: str
    goal: float | None
    peer_name: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.geogaps is None or not self.peer:
            return None
        return self.geogaps / self.peer

    @property
    def verdict(self) -> str:
        """``sí`` / ``no`` against the goal; empty when there is no goal or no ratio."""
        if self.goal is None or self.ratio is None:
            return ""
        return "sí" if self.ratio <= self.goal else "no"

    @classmethod
    def of_load(cls, record: Mapping[str, Any]) -> Row:
        """A row of ``bench_load.load_rows`` (``measure``, ``geogaps_s``, ``peer_s``, ``goal``;
        the peer is ogr2ogr; the goal may be written for people, ``"≤ 1,00"``)."""
        goal = record["goal"]
        if isinstance(goal, str):
            goal = float(goal.strip("≤ ").replace(".", "").replace(",", "."))
        return cls(record["measure"], record["geogaps_s"], record["peer_s"], "s", goal, "ogr2ogr")

    def as_dict(self) -> dict[str, Any]:
        meets = None if not self.verdict else self.verdict == "sí"
        return {**asdict(self), "ratio": self.ratio, "meets_goal": meets}


def format_figure(value: float | None, unit: str) -> str:
    """A measured figure with its unit, Chilean style: ``12,3 ms``, ``4,21 s``; ``—`` if none."""
    if value is None:
        return "—"
    decimals = 1 if unit == "ms" else 2
    return f"{format_number(value, decimals)} {unit}"


def format_ratio(value: float | None) -> str:
    """``0,82×``; ``—`` when there is no ratio."""
    return "—" if value is None else f"{format_number(value, 2)}×"


def render_table(rows: Sequence[Row]) -> str:
    """The table as aligned text, one line per row, notes under it."""
    header = ("medida", "geogaps", "par", "razón", "meta", "cumple")
    lines = [
        (
            row.measure,
            format_figure(row.geogaps, row.unit),
            format_figure(row.peer, row.unit) + (f" ({row.peer_name})" if row.peer_name else ""),
            format_ratio(row.ratio),
            "—" if row.goal is None else f"≤ {format_ratio(row.goal)}",
            row.verdict,
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
    out = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        )
        for cells in [header, *lines]
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {row.measure}: {row.note}" for row in rows if row.note]
    return "\n".join(out + (["", "notas:", *notes] if notes else []))
