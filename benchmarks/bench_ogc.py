"""Benchmark: geogaps' OGC API – Features and vector tiles against developmentseed's tipg.

Both servers run at the same time, each as its own uvicorn process with ONE worker on its own
loopback port, over the SAME PostGIS database and the same tables (``communes``,
``facilities``). A bounded load generator (a fixed number of requests, a fixed number of client
threads, one ``httpx.Client`` each) asks both for the same things:

- an items page of 100 communes (geogaps: ``/collections/comunas/items?limit=100``, which also
  joins the newest national run's scores; tipg: ``/collections/public.communes/items?limit=100``);
- an items page of 100 health facilities (``category = salud`` on both);
- the Web Mercator tile z7 over La Serena of the communes, and the z10 tile of the facilities.

Each case runs in alternating blocks (geogaps, tipg, geogaps, tipg, …; the first block of
each server is a warm-up), so that whatever else the machine does falls on both alike.
Responses are checked once before timing: the same number of features in the items pages, and
the feature counts of the decoded tiles are printed.

Usage (the database must hold the national data; ``--prepare`` loads and scores it if not)::

    GEOGAPS_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:55432/geogaps_a2_national \\
        .venv/bin/python benchmarks/bench_ogc.py [--prepare] [--requests 400] [--concurrency 6]

Prints, per case and server, p50 and p99 latency (ms), throughput (requests/s) and response size.
Requests are sent with ``Accept-Encoding: identity`` by default (``--gzip`` to let both servers
compress), so the figures measure the query and the assembly of the answer, not compression.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import mapbox_vector_tile
import morecantile
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / ".." / "shared" / "data" / "chile"
LA_SERENA = (-71.25, -29.90)
#: Timed blocks per server and case (plus one warm-up block each).
BLOCKS = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(name: str, command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """Run a uvicorn server in a subprocess until the block ends; yield its base URL."""
    log = open(f"/tmp/bench_ogc_{name}_{port}.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited; see {log.name}")
            try:
                if httpx.get(f"{base}/collections", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start; see {log.name}")
            time.sleep(0.25)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _prepare(url: str) -> None:
    """Load the national data and score a national run if the database lacks them."""
    sys.path.insert(0, str(PROJECT_ROOT))
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring
    from layers.loading import load_directory
    from layers.stores import PostgisStore

    store = PostgisStore(url)
    store.migrate()
    if store.count_rows("communes") == 0:
        load_directory(store, DATA_DIR.resolve())
    try:
        store.newest_run()
    except LookupError:
        run_scoring(store, ScoringParameters(draws=0, seed=1))
    store.close()


def _load(url: str, requests: int, concurrency: int, headers: dict[str, str]) -> dict:
    """``requests`` GETs of ``url`` from ``concurrency`` threads: latencies and wall time."""
    latencies: list[float] = []
    sizes: list[int] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        with httpx.Client(headers=headers, timeout=60) as client:
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                start = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: HTTP {response.status_code} {response.text[:200]}")
                with lock:
                    latencies.append(elapsed)
                    sizes.append(len(response.content))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "wall": time.perf_counter() - began, "sizes": sizes}


def _figures(blocks: list[dict]) -> dict:
    """p50, p99, throughput and median size over the timed blocks of one server."""
    latencies = sorted(x for block in blocks for x in block["latencies"])
    sizes = [x for block in blocks for x in block["sizes"]]
    return {
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, round(0.99 * len(latencies)) - 1)],
        "rps": len(latencies) / sum(block["wall"] for block in blocks),
        "bytes": int(statistics.median(sizes)),
    }


def _features(client: httpx.Client, url: str) -> int:
    response = client.get(url)
    response.raise_for_status()
    if "tiles" in url:
        layers = mapbox_vector_tile.decode(response.content)
        return sum(len(layer["features"]) for layer in layers.values())
    return len(response.json()["features"])


def compare_with_tipg(
    database_url: str, requests: int = 400, concurrency: int = 6, gzip: bool = False
) -> dict[str, dict[str, dict]]:
    """Serve the database with geogaps and tipg side by side and time the four cases.

    Returns ``{case: {"geogaps": figures, "tipg": figures}}`` (see :func:`_figures`).
    """
    url = make_url(database_url)
    libpq_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
    tms = morecantile.tms.get("WebMercatorQuad")
    z7 = tms.tile(*LA_SERENA, 7)
    z10 = tms.tile(*LA_SERENA, 10)
    cases = {
        "items: 100 comunas": (
            "/collections/comunas/items?limit=100",
            "/collections/public.communes/items?limit=100",
        ),
        "items: 100 establecimientos de salud": (
            "/collections/establecimientos_salud/items?limit=100",
            "/collections/public.facilities/items?limit=100&category=salud",
        ),
        f"tile: comunas z{z7.z}/{z7.x}/{z7.y}": (
            f"/tiles/comunas/{z7.z}/{z7.x}/{z7.y}.pbf",
            f"/collections/public.communes/tiles/WebMercatorQuad/{z7.z}/{z7.x}/{z7.y}",
        ),
        f"tile: salud z{z10.z}/{z10.x}/{z10.y}": (
            f"/tiles/establecimientos_salud/{z10.z}/{z10.x}/{z10.y}.pbf",
            f"/collections/public.facilities/tiles/WebMercatorQuad/{z10.z}/{z10.x}/{z10.y}"
            "?category=salud",
        ),
    }
    geogaps_port, tipg_port = _free_port(), _free_port()
    python = sys.executable
    headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
    results: dict[str, dict[str, dict]] = {}
    with (
        _server(
            "geogaps",
            [
                python,
                "-m",
                "uvicorn",
                "--factory",
                "geo_service.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(geogaps_port),
                "--log-level",
                "warning",
            ],
            {"GEOGAPS_DATABASE_URL": database_url},
            geogaps_port,
        ) as geogaps,
        _server(
            "tipg",
            [
                python,
                "-m",
                "uvicorn",
                "tipg.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(tipg_port),
                "--log-level",
                "warning",
            ],
            {
                "DATABASE_URL": libpq_url,
                "TIPG_DB_SCHEMAS": '["public"]',
                "TIPG_DB_TABLES": '["public.communes", "public.facilities"]',
                "TIPG_DEBUG": "false",
                # the same tile buffer as geogaps (tipg's default is 256), same 4096 extent
                "TIPG_TILE_BUFFER": "64",
            },
            tipg_port,
        ) as tipg,
    ):
        with httpx.Client(headers=headers, timeout=60) as client:
            for case, (ours, theirs) in cases.items():
                mine, other = _features(client, geogaps + ours), _features(client, tipg + theirs)
                print(f"{case}: geogaps {mine} objetos, tipg {other} objetos")
                if mine != other and not case.startswith("tile"):
                    raise RuntimeError(f"{case}: geogaps has {mine} features, tipg {other}")
        # Blocks alternate between the servers so that load from elsewhere on the machine
        # falls on both alike; the first block of each is a warm-up and is not counted.
        block = max(requests // BLOCKS, concurrency)
        for case, (ours, theirs) in cases.items():
            timed: dict[str, list[dict]] = {"geogaps": [], "tipg": []}
            for number in range(BLOCKS + 1):
                for name, target in (("geogaps", geogaps + ours), ("tipg", tipg + theirs)):
                    run = _load(target, block, concurrency, headers)
                    if number > 0:
                        timed[name].append(run)
            results[case] = {name: _figures(blocks) for name, blocks in timed.items()}
    print(
        f"OGC API – Features / teselas: {block * BLOCKS} peticiones medidas por caso y "
        f"servidor, {concurrency} hilos, 1 worker por servidor, misma base {url.database}, "
        f"Accept-Encoding: {headers['Accept-Encoding']}"
    )
    print(f"{'caso':42} {'servidor':8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'bytes':>9}")
    for case, by_server in results.items():
        for name, figures in by_server.items():
            print(
                f"{case:42} {name:8} {figures['p50_ms']:8.1f} {figures['p99_ms']:8.1f} "
                f"{figures['rps']:8.1f} {figures['bytes']:9d}"
            )
        ratio = by_server["tipg"]["p50_ms"] / by_server["geogaps"]["p50_ms"]
        print(f"{'':42} tipg p50 / geogaps p50 = {ratio:.2f}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("GEOGAPS_DATABASE_URL"))
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--prepare", action="store_true", help="load and score if needed")
    parser.add_argument("--gzip", action="store_true", help="accept gzip-compressed answers")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give --database-url or set GEOGAPS_DATABASE_URL")
    if not 4 <= args.concurrency <= 8:
        parser.error("--concurrency must be between 4 and 8")
    if args.prepare:
        _prepare(args.database_url)
    results = compare_with_tipg(args.database_url, args.requests, args.concurrency, args.gzip)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
