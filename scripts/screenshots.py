"""Regenerate the README's screenshots from the real data, in Debian's Chromium.

Loads ``../shared/data/chile`` into a throwaway embedded store (or uses ``--store-dir`` if it
already holds a scored run), scores it with the default parameters, serves the real app on a
free loopback port and drives headless Chromium (``/usr/bin/chromium``, installed by
``scripts/browser.sh``) through the planner's question — "which Coquimbo communes come first
for water, why and how sure" — writing every image of :data:`SCREENSHOTS` into ``docs/img``.
Every request to another host is aborted; the script fails if the page tried one.

Usage::

    .venv/bin/python scripts/screenshots.py [--store-dir DIR] [--draws 1000] [--out docs/img]

``tests/test_readme.py`` checks that the README shows exactly the images listed here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: The images this script writes (relative to the project root), with what each one shows.
SCREENSHOTS: dict[str, str] = {
    "docs/img/mapa.png": "mapa, desafío Agua en la Región de Coquimbo, panel de Canela abierto",
    "docs/img/prioridades.png": "tabla de prioridades de Coquimbo para Agua, con la leyenda",
    "docs/img/perfil.png": "perfil imprimible de Canela",
    "docs/img/telefono.png": "el mismo mapa en un teléfono (390 × 844)",
}
#: The commune the screenshots follow: Canela, Región de Coquimbo.
COMMUNE = "04202"
REGION = "04"
CHALLENGE = "agua"


def prepared_store(store_dir: Path | None, data_dir: Path, draws: int | None) -> Path:
    """A store folder with a scored national run.

    ``store_dir`` if it already holds one; otherwise the data folder is loaded and scored there
    (or in a temporary folder).
    """
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring
    from layers.loading import load_directory
    from layers.stores import EmbeddedStore

    held = store_dir is not None and (store_dir / "manifest.json").exists()
    if held and EmbeddedStore(store_dir).runs(limit=1):
        return store_dir
    folder = store_dir or Path(tempfile.mkdtemp(prefix="geogaps_capturas_")) / "store"
    store = EmbeddedStore(folder)
    result = load_directory(store, data_dir)
    if result.failures:
        raise SystemExit(f"la carga falló: {result.failures}")
    parameters = ScoringParameters() if draws is None else ScoringParameters(draws=draws)
    run_scoring(store, parameters)
    return folder


def settled(page: Any) -> None:
    """Wait until the map shows the region's view and Leaflet has finished zooming to it."""
    page.wait_for_selector(f'body[data-map-ready][data-view="{REGION}"]', timeout=60_000)
    page.wait_for_selector("body[data-scores-ready]", timeout=60_000)
    # The fit to the region may start a frame after the flags are set: let it start, then end.
    page.wait_for_timeout(500)
    page.wait_for_function(
        "() => !document.querySelector('.leaflet-zoom-anim, .leaflet-pan-anim')", timeout=30_000
    )
    # The canvas redraws on the frame after the animation ends.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def click_commune(page: Any, url: str, cut: str) -> None:
    """Click a commune on the map itself, at its label point, and wait for its panel."""
    import httpx

    outlines = httpx.get(f"{url}/mapa/capas/comunas.geojson", timeout=60).json()
    label = next(
        f["properties"]["label_point"]
        for f in outlines["features"]
        if f["properties"]["cut"] == cut
    )
    point = page.evaluate(
        "([lon, lat]) => { const p = window.geogapsMap.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        label,
    )
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_selector("#geogaps-panel:not([hidden]) .geogaps-indicators", timeout=60_000)


def capture(url: str, out: Path) -> list[Path]:
    """Drive Chromium through the planner's question and write every screenshot."""
    from playwright.sync_api import sync_playwright

    # The browser and the offline page exactly as the browser tests set them up.
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, offline_page

    if not CHROMIUM.exists():
        raise SystemExit(f"falta {CHROMIUM}: instálelo con scripts/browser.sh")
    view = f"{url}/mapa?desafio={CHALLENGE}&region={REGION}"
    outside: list[str] = []
    written: list[Path] = []

    def shot(page: Any, name: str, **options: Any) -> None:
        path = out / Path(name).name
        page.screenshot(path=str(path), **options)
        written.append(path)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = offline_page(browser, outside, viewport={"width": 1366, "height": 768})
        page.goto(view)
        settled(page)
        click_commune(page, url, COMMUNE)
        shot(page, "docs/img/mapa.png")
        # The priority table's box, whole: a viewport tall enough that the side panel does
        # not scroll it under the header.
        page.set_viewport_size({"width": 1366, "height": 2400})
        table_box = page.locator("section.geogaps-box", has=page.locator("#geogaps-table-body"))
        shot(table_box, "docs/img/prioridades.png")
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto(f"{url}/comunas/{COMMUNE}")
        page.wait_for_selector("#perfil-nombre")
        shot(page, "docs/img/perfil.png", full_page=True)
        page.close()
        phone = offline_page(
            browser, outside, viewport={"width": 390, "height": 844}, is_mobile=True
        )
        phone.goto(view)
        settled(phone)
        shot(phone, "docs/img/telefono.png")
        phone.close()
        browser.close()
    if outside:
        raise SystemExit(f"la página pidió otros servidores: {outside[:5]}")
    return written


def main() -> None:
    """Parse the options, build or reuse the store, serve it and write the screenshots."""
    sys.path.insert(0, str(PROJECT_ROOT))
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store-dir", type=Path, default=None)
    parser.add_argument(
        "--data-dir", type=Path, default=PROJECT_ROOT / ".." / "shared" / "data" / "chile"
    )
    parser.add_argument("--draws", type=int, default=None, help="por omisión, los del catálogo")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "img")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    store_dir = prepared_store(options.store_dir, options.data_dir.resolve(), options.draws)
    from geo_service.settings import Settings
    from tests.test_browser import LoopbackServer

    with LoopbackServer(Settings(store_dir=store_dir, database_url=None)) as server:
        written = capture(server.url, options.out)
    for path in written:
        print(f"escrita {path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
