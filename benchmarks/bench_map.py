"""Measure the national map page in headless Chromium: bytes transferred and time to first render.

Targets (issue 11) on 2 cores: the national ``/mapa`` page under 3 MB transferred (every asset:
HTML, Leaflet, script, styles, outlines, scores) and under 2 s to first render (commune
outlines drawn in their tier colours). Also printed: time from a weight slider move to the
re-ranked table (``/gaps``), cold (first call after start) and warm.

The store is loaded from ``../shared/data/chile`` into a throwaway embedded store and scored
once (not timed), unless ``--store-dir`` names one that already holds a scored run. The app is
served by uvicorn on a free loopback port; every request to another host is aborted and
counted (it must be 0).

Usage::

    python benchmarks/bench_map.py [--store-dir DIR] [--repeat 3] [--draws 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from analysis import ScoringParameters  # noqa: E402
from geo_service.app import create_app  # noqa: E402
from geo_service.services.runs import run_scoring  # noqa: E402
from geo_service.settings import Settings  # noqa: E402
from layers.loading import load_directory  # noqa: E402
from layers.stores import EmbeddedStore  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def prepared_store(store_dir: Path | None, data_dir: Path, draws: int) -> Path:
    """A store folder with a scored national run (built in a temporary folder if needed)."""
    if store_dir is not None:
        return store_dir
    folder = Path(tempfile.mkdtemp(prefix="geogaps_bench_map_"))
    store = EmbeddedStore(folder)
    result = load_directory(store, data_dir)
    if result.failures:
        raise SystemExit(f"load failed: {result.failures}")
    run_scoring(store, ScoringParameters(draws=draws))
    return folder


def serve(store_dir: Path) -> tuple[uvicorn.Server, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(store_dir=store_dir, database_url=None)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    # /ready, not /health: the first load is measured once the server says it is ready.
    for _ in range(1200):
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not start")


def measure(browser, url: str) -> dict[str, float]:
    """One cold page load (new context, empty cache) and one slider move."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    transferred: list[int] = []

    def only_loopback(route) -> None:
        if urlparse(route.request.url).hostname in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    def finished(request) -> None:
        sizes = request.sizes()
        transferred.append(sizes["responseBodySize"] + sizes["responseHeadersSize"])

    page.route("**/*", only_loopback)
    page.on("requestfinished", finished)
    started = time.perf_counter()
    page.goto(f"{url}/mapa")
    page.wait_for_selector("body[data-map-ready]")
    first_render = time.perf_counter() - started
    page.wait_for_load_state("networkidle")
    before = page.get_attribute("body", "data-scores-ready")
    moved = time.perf_counter()
    page.eval_on_selector(
        'input[data-weight="rural_urbano"]',
        "el => { el.value = '2.5'; el.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    page.wait_for_function(
        "(before) => document.body.dataset.scoresReady !== before", arg=before, timeout=60_000
    )
    rescored = time.perf_counter() - moved
    context.close()
    return {
        "bytes": float(sum(transferred)),
        "requests": float(len(transferred)),
        "first_render_s": first_render,
        "slider_to_table_s": rescored,
        "outside_requests": float(len(outside)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-dir", type=Path, default=None)
    parser.add_argument(
        "--data-dir", type=Path, default=PROJECT_ROOT / ".." / "shared" / "data" / "chile"
    )
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    store_dir = prepared_store(options.store_dir, options.data_dir.resolve(), options.draws)
    server, url = serve(store_dir)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            runs = [measure(browser, url) for _ in range(options.repeat)]
            browser.close()
    finally:
        server.should_exit = True
    figures = {
        "bytes_transferred": statistics.median(r["bytes"] for r in runs),
        "requests": statistics.median(r["requests"] for r in runs),
        "first_render_s_first": runs[0]["first_render_s"],
        "first_render_s_median": statistics.median(r["first_render_s"] for r in runs),
        "slider_to_table_s_first": runs[0]["slider_to_table_s"],
        "slider_to_table_s_median": statistics.median(r["slider_to_table_s"] for r in runs),
        "outside_requests": sum(r["outside_requests"] for r in runs),
    }
    if options.json:
        print(json.dumps(figures, indent=2))
        return
    megabytes = figures["bytes_transferred"] / 1e6
    requests = figures["requests"]
    render = f"first {figures['first_render_s_first']:.2f} s"
    render += f", median {figures['first_render_s_median']:.2f} s"
    slider = f"first {figures['slider_to_table_s_first']:.2f} s"
    slider += f", median {figures['slider_to_table_s_median']:.2f} s"
    print(f"national /mapa, {options.repeat} cold loads (new browser context each)")
    print(f"  transferred (all assets, median): {megabytes:.2f} MB in {requests:.0f} requests")
    print(f"  first render (outlines in tier colours): {render}")
    print(f"  weight slider → re-ranked table (/gaps): {slider}")
    print("  targets: < 3 MB, < 2 s")
    print(f"  requests to other hosts: {figures['outside_requests']:.0f}")


if __name__ == "__main__":
    main()
