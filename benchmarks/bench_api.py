"""Load test of the serving API on loopback: p50/p99 latency and throughput per route.

Usage::

    GEOGAPS_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:55432/geogaps_a1 \\
        .venv/bin/python benchmarks/bench_api.py [--requests 300] [--concurrency 4] [--workers 2]

It uses its own database (``<test database>_bench``), loads the real data folder once, stores a
national run, starts ``geogaps serve --workers N`` on a free loopback port and fires a bounded
number of requests per route from a small thread pool. ``/scores`` is measured side by side on
two servers: one over the database with 1 run, one over a copy of it holding 499 more runs of
the same size (345 communes × 4 scores), in alternating rounds so machine load hits both alike.

Then, on the same database in the same run, :func:`bench_ogc.compare_with_tipg` serves it with
geogaps and with developmentseed's tipg side by side and times an OGC items page of 100
features and a vector tile on both (``--skip-ogc`` leaves that part out).

Targets (2 cores): profile p99 < 25 ms; ``/gaps`` cached < 20 ms, new regional computation
< 300 ms; ``/scores`` with 500 runs within 1.5× of 1 run; OGC items and tiles at least as fast
as tipg.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_ogc import compare_with_tipg  # noqa: E402

from analysis import ScoringParameters  # noqa: E402
from geo_service.services.runs import run_scoring  # noqa: E402
from layers.loading import load_directory  # noqa: E402
from layers.runs import RunRecord  # noqa: E402
from layers.stores import PostgisStore  # noqa: E402

DATA_DIR = (ROOT / ".." / "shared" / "data" / "chile").resolve()


def bench_database(base_url: str) -> str:
    """URL of the benchmark's own database (created with PostGIS if missing)."""
    url = make_url(base_url)
    name = f"{url.database}_bench"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    target = url.set(database=name)
    engine = create_engine(target)
    with engine.begin() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return target.render_as_string(hide_password=False)


def prepare(url: str, draws: int) -> tuple[PostgisStore, RunRecord]:
    """Load the data once, drop old runs, store one national run."""
    store = PostgisStore(url)
    store.migrate()
    if store.count("communes") != 345:
        result = load_directory(store, DATA_DIR)
        if result.failures:
            print("load failures:", result.failures)
    with store.engine.begin() as connection:
        connection.execute(text("TRUNCATE score_runs CASCADE"))
        # Shared /gaps answers of an earlier benchmark would turn "new" computations into hits.
        connection.execute(text("TRUNCATE api_answers"))
    record = run_scoring(store, ScoringParameters(draws=draws, seed=1))
    return store, record.run


def copy_database(url: str, suffix: str) -> str:
    """A copy of the database of ``url`` (``CREATE DATABASE ... TEMPLATE``), recreated."""
    source = make_url(url)
    name = f"{source.database}{suffix}"
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"'))
    admin.dispose()
    return source.set(database=name).render_as_string(hide_password=False)


def add_runs(store: PostgisStore, run: RunRecord, count: int) -> None:
    """Store ``count`` older runs of the same size as ``run`` (copies under new ids)."""
    results = store.run_results(run.run_id)
    for number in range(count):
        run_id = f"{number + 1:064x}"
        copy = run.model_copy(
            update={
                "run_id": run_id,
                "created_at": run.created_at - timedelta(minutes=number + 1),
                "result_sha256": f"{number + 1:064x}",
            }
        )
        store.save_run(copy, results.assign(run_id=run_id))
    with store.engine.begin() as connection:
        connection.execute(text("ANALYZE score_runs"))
        connection.execute(text("ANALYZE score_results"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "GEOGAPS_DATABASE_URL": url}
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "geogaps"),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("server did not become ready")


def timed(
    base: str, paths: Callable[[int], str], requests: int, concurrency: int, warm: int = 0
) -> tuple[list[float], float]:
    """Latencies (s) of ``requests`` GETs (``paths(i)``) from ``concurrency`` threads, and the
    wall time they took."""
    with httpx.Client(base_url=base, timeout=60) as client:
        for i in range(warm):
            client.get(paths(i))

        def one(i: int) -> float:
            start = time.perf_counter()
            response = client.get(paths(i))
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise RuntimeError(f"{paths(i)} → {response.status_code}: {response.text[:200]}")
            return elapsed

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            latencies = list(pool.map(one, range(requests)))
        return latencies, time.perf_counter() - started


def figures(latencies: list[float], wall: float) -> dict[str, float]:
    """p50, p99 (ms), throughput and count."""
    ordered = sorted(latencies)
    return {
        "p50": 1000 * statistics.median(ordered),
        "p99": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "rps": len(ordered) / wall,
        "n": len(ordered),
    }


def measure(
    base: str, paths: Callable[[int], str], requests: int, concurrency: int, warm: int = 0
) -> dict[str, float]:
    """Fire ``requests`` GETs (``paths(i)``) from ``concurrency`` threads."""
    return figures(*timed(base, paths, requests, concurrency, warm))


def side_by_side(
    bases: tuple[str, str], path: str, requests: int, concurrency: int, rounds: int = 10
) -> tuple[dict[str, float], dict[str, float]]:
    """The same route on two servers, in alternating rounds so that the machine's load
    affects both alike."""
    samples: list[list[float]] = [[], []]
    walls = [0.0, 0.0]
    for base in bases:
        timed(base, lambda i: path, 10, 1)  # warm caches and connections
    for _ in range(rounds):
        for side, base in enumerate(bases):
            latencies, wall = timed(base, lambda i: path, requests // rounds, concurrency)
            samples[side] += latencies
            walls[side] += wall
    return figures(samples[0], walls[0]), figures(samples[1], walls[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument(
        "--skip-ogc", action="store_true", help="leave out the OGC items/tiles vs tipg part"
    )
    arguments = parser.parse_args()
    base_url = os.environ.get("GEOGAPS_TEST_DATABASE_URL")
    if not base_url:
        sys.exit("set GEOGAPS_TEST_DATABASE_URL (the benchmark creates <db>_bench next to it)")
    url = bench_database(base_url)
    store, run = prepare(url, arguments.draws)
    # Profiles are cached per worker (run, data state, CUT): cycle over 20 communes and warm
    # each worker with a few passes; an uncached profile costs one build (docs/operacion.md, 3).
    cuts = list(store.read("communes", region="04", columns=["cut"])["cut"])
    cuts += list(store.read("communes", region="05", columns=["cut"], limit=5)["cut"])
    regions = [f"{r:02d}" for r in range(1, 17)]
    n, c = arguments.requests, arguments.concurrency
    rows: list[tuple[str, dict[str, float]]] = []
    process, base = start_server(url, arguments.workers)
    try:
        rows.append(
            ("/communes/{cut}", measure(base, lambda i: f"/communes/{cuts[i % len(cuts)]}", n, c,
                                        warm=8 * len(cuts)))
        )  # fmt: skip
        rows.append(
            (
                "/priorities?region=…&challenge=agua&top=10",
                measure(
                    base,
                    lambda i: f"/priorities?region={regions[i % 16]}&challenge=agua&top=10",
                    n,
                    c,
                    warm=16,
                ),
            )
        )
        cached = "/gaps?region=04&challenge=agua&weights=agua:2,conectividad:1"
        rows.append(("/gaps (cached)", measure(base, lambda i: cached, n, c, warm=4)))
        uncached_n = max(20, n // 10)
        rows.append(
            (
                "/gaps (new regional computation)",
                measure(
                    base,
                    lambda i: (
                        f"/gaps?region={regions[i % 16]}&challenge=agua"
                        f"&weights=agua:{1 + (i + 1) / 997:.6f}"
                    ),
                    uncached_n,
                    1,
                    warm=0,
                ),
            )
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    store.close()
    many_url = copy_database(url, "_500runs")
    many_store = PostgisStore(many_url)
    add_runs(many_store, run, 499)
    stored_runs = many_store.count_runs()
    many_store.close()
    scores = "/scores?challenge=agua&region=04"
    one_server, one_base = start_server(url, arguments.workers)
    many_server, many_base = start_server(many_url, arguments.workers)
    try:
        one_run, many_runs = side_by_side((one_base, many_base), scores, n, c)
    finally:
        for server in (one_server, many_server):
            server.terminate()
            server.wait(timeout=30)
    rows.append(("/scores (1 run stored)", one_run))
    rows.append((f"/scores ({stored_runs} runs stored)", many_runs))
    print(f"\nworkers={arguments.workers} concurrency={c} requests={n} cores={os.cpu_count()}")
    print(f"{'route':48} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for name, numbers in rows:
        print(
            f"{name:48} {numbers['n']:>5.0f} {numbers['p50']:>8.1f} {numbers['p99']:>8.1f} "
            f"{numbers['rps']:>8.1f}"
        )
    ratio = many_runs["p50"] / one_run["p50"]
    print(f"\n/scores p50 with 500 runs / with 1 run: {ratio:.2f}× (target ≤ 1.5×)")
    if not arguments.skip_ogc:
        # The OGC items page and tile, here and in tipg, on the same database in this run.
        print()
        compare_with_tipg(url, 2 * n, max(4, min(8, c + 2)))


if __name__ == "__main__":
    main()
