"""The planners' map in a real browser (Debian's Chromium, headless) with the internet blocked.

A server on loopback serves the national store with one scored run; every request to another
host is aborted and counted, and the count must stay zero. Screenshots go to the test's
``tmp_path``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import httpx
import pytest
import uvicorn

from analysis import ScoringParameters
from geo_service.app import create_app
from geo_service.services.runs import run_scoring
from geo_service.settings import Settings
from layers.loading import NAMES_SOURCE, load_directory
from layers.stores import EmbeddedStore
from maps.page import CONTINENT_WEST

if TYPE_CHECKING:
    from playwright.sync_api import Dialog

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HOSTILE = "<img src=x onerror=alert(1)>"


class LoopbackServer:
    """uvicorn serving the app on a free loopback port, in a thread."""

    def __init__(self, settings: Settings) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                # /ready: the caches are warm, as a balancer would wait for.
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the map server did not start")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: scripts/browser.sh installs it (scripts/test.sh runs it)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def offline_page(browser, outside: list[str], **options):
    """A page whose requests to any host but loopback are aborted and recorded."""
    page = browser.new_page(**options)

    def only_loopback(route) -> None:
        if urlparse(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    return page


def scores_answered(page, before: str | None) -> None:
    """Wait until the page has drawn an answer newer than ``before``."""
    page.wait_for_function(
        "(before) => (document.body.dataset.scoresReady || null) !== before",
        arg=before,
    )


def table_cuts(page) -> list[str]:
    return page.eval_on_selector_all(
        "#geogaps-table-body tr", "rows => rows.map(r => r.dataset.cut)"
    )


def wait_for_region_view(page, server_url: str, region: str) -> None:
    """Wait until the page says it shows ``region`` and check that the map really does.

    ``data-view`` once said so while the map stayed national: Leaflet drops a fit asked for
    during the page's first zoom animation, and warm caches answered within it.
    """
    page.wait_for_selector(f'body[data-view="{region}"]')
    outlines = httpx.get(f"{server_url}/mapa/capas/comunas.geojson").json()
    points = [
        f["properties"]["label_point"]
        for f in outlines["features"]
        if f["properties"]["region_code"] == region
    ]
    center = page.evaluate(
        "() => { const c = window.geogapsMap.getCenter(); return [c.lng, c.lat]; }"
    )
    west = min(p[0] for p in points if p[0] >= CONTINENT_WEST)  # islands aside, as the page
    assert west - 1 <= center[0] <= max(p[0] for p in points) + 1, center
    assert min(p[1] for p in points) - 1 <= center[1] <= max(p[1] for p in points) + 1, center


@pytest.fixture(scope="module")
def national_server(national_postgis) -> Iterator[LoopbackServer]:
    run_scoring(national_postgis, ScoringParameters(draws=20, seed=7))
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    with LoopbackServer(Settings(database_url=url)) as server:
        yield server


@pytest.mark.postgis
@pytest.mark.realdata
def test_planner_walks_through_the_map_offline(browser, national_server, tmp_path):
    outside: list[str] = []
    page = offline_page(browser, outside, viewport={"width": 1400, "height": 900})
    page.goto(f"{national_server.url}/mapa")
    page.wait_for_selector("body[data-map-ready]")
    assert page.get_attribute("html", "lang") == "es"
    assert "brechas" in page.title().lower()
    # Every commune outline is drawn on the map's canvas, and the table is filled.
    assert int(page.get_attribute("body", "data-communes")) == 345
    assert page.locator(".leaflet-overlay-pane canvas").count() >= 1
    assert page.locator("#geogaps-table-body tr").count() == 15
    page.screenshot(path=str(tmp_path / "mapa_nacional.png"))

    before = page.get_attribute("body", "data-scores-ready")
    page.select_option("#geogaps-challenge", "agua")
    scores_answered(page, before)
    assert page.text_content("#geogaps-legend h2") == "Agua"

    before = page.get_attribute("body", "data-scores-ready")
    page.select_option("#geogaps-region", "04")
    scores_answered(page, before)
    wait_for_region_view(page, national_server.url, "04")
    cuts = table_cuts(page)
    assert cuts and all(cut.startswith("04") for cut in cuts)
    first_rank = page.text_content("#geogaps-table-body tr:first-child td:first-child")
    assert first_rank == "1"  # re-ranked within the region
    page.screenshot(path=str(tmp_path / "mapa_coquimbo.png"))

    # Click the commune on the map itself (its label point is inside its largest part).
    outlines = httpx.get(f"{national_server.url}/mapa/capas/comunas.geojson").json()
    label = next(
        f["properties"]["label_point"]
        for f in outlines["features"]
        if f["properties"]["cut"] == cuts[0]
    )
    point = page.evaluate(
        "([lon, lat]) => { const p = window.geogapsMap.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        label,
    )
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_selector("#geogaps-panel:not([hidden]) .geogaps-facts")
    panel = page.text_content("#geogaps-panel")
    assert "Lugar en la región1 de " in panel and "Intervalo 5–95 %" in panel
    page.wait_for_selector("#geogaps-panel .geogaps-indicators")
    assert "Mediana regional" in page.text_content("#geogaps-panel .geogaps-indicators")
    page.screenshot(path=str(tmp_path / "panel.png"))

    # Weight the indicator that ranks the region most differently: the table re-ranks.
    before_order = table_cuts(page)
    before = page.get_attribute("body", "data-scores-ready")
    page.eval_on_selector(
        'input[data-weight="agua_fuente_precaria"]',
        "el => { el.value = '3'; el.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    scores_answered(page, before)
    assert table_cuts(page) != before_order
    assert any(f"pesos=agua_fuente_precaria{sep}3" in page.url for sep in ("%3A", ":"))
    assert "recalculado en vivo" in page.text_content("#geogaps-legend")
    csv_link = page.get_attribute("#geogaps-csv", "href")
    assert "weights=" in csv_link
    page.screenshot(path=str(tmp_path / "pesos.png"))

    # Weights that leave no commune scored: the API refuses them and the page says why, in
    # Spanish, instead of drawing every commune as "sin dato".
    for indicator in ("agua_fuente_precaria", "agua_sin_red_publica"):
        page.eval_on_selector(
            f'input[data-weight="{indicator}"]',
            "el => { el.value = '0'; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        )
    page.wait_for_selector("body[data-scores-error]", state="attached")
    status = page.text_content("#geogaps-status") or ""
    assert "ninguna comuna tiene puntaje" in status and "[{" not in status
    before = page.get_attribute("body", "data-scores-ready")
    page.eval_on_selector(
        'input[data-weight="agua_fuente_precaria"]',
        "el => { el.value = '1'; el.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    scores_answered(page, before)

    # Overlays load on demand from loopback.
    page.hover(".leaflet-control-layers")
    page.get_by_label("Sistemas APR / SSR (tamaño según beneficiarios)").check()
    page.wait_for_selector('body[data-overlay-apr^="04:"]')
    # The Zonas Rezagadas emulation outlines the region's susceptible and near-miss communes.
    # The first call computes the national isolation index (tens of seconds; then cached).
    lagging = httpx.get(
        f"{national_server.url}/rezago", params={"region": "04"}, timeout=300
    ).json()
    marked = sum(lagging["counts"][s] for s in ("susceptible", "casi susceptible"))
    page.get_by_label("Zonas rezagadas (emulación)").check()
    page.wait_for_selector('body[data-overlay-rezago^="04:"]', timeout=60_000)
    assert page.get_attribute("body", "data-overlay-rezago") == f"04:{marked}"
    assert "no la lista oficial" in page.text_content("#geogaps-overlay-notes")
    # Proposed primary-care sites of the region (computed on request, then cached).
    page.get_by_label("Sitios propuestos (APS, 60 min)").check()
    page.wait_for_selector('body[data-overlay-sitios^="04:"]', timeout=120_000)
    sites = httpx.get(
        f"{national_server.url}/siting",
        params={"region": "04", "facility": "primary", "new": 5, "minutes": 60},
        timeout=120,
    ).json()["sites"]["features"]
    assert sites and page.get_attribute("body", "data-overlay-sitios") == f"04:{len(sites)}"

    page.click("#geogaps-profile-link")
    page.wait_for_selector("#perfil-nombre")
    assert page.url.endswith(f"/comunas/{cuts[0]}")
    assert page.text_content("#perfil-nombre").strip()
    assert "Indicadores frente a la región y el país" in page.content()
    page.screenshot(path=str(tmp_path / "perfil.png"), full_page=True)
    page.close()

    # On a phone the map comes first, full width, then the legend and the table.
    phone = offline_page(browser, outside, viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.goto(f"{national_server.url}/mapa?desafio=agua&region=04")
    phone.wait_for_selector("body[data-map-ready]")
    map_box = phone.locator(".folium-map").bounding_box()
    legend_box = phone.locator("#geogaps-legend").bounding_box()
    assert map_box["width"] >= 380 and map_box["height"] > 300
    assert legend_box["y"] >= map_box["y"] + map_box["height"]
    phone.screenshot(path=str(tmp_path / "telefono.png"))
    phone.close()
    assert outside == []
    assert (tmp_path / "perfil.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def hostile_folder(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real data folder with a commune and an APR system named with HTML."""
    folder = tmp_path_factory.mktemp("hostile_data")
    for source in data_dir.rglob("*"):
        if source.is_file():
            target = folder / source.relative_to(data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source)
    # Accented commune names come from the INE projections file (layers.loading.NAMES_SOURCE).
    names_path = folder / NAMES_SOURCE
    names_path.unlink()
    text = (data_dir / NAMES_SOURCE).read_text("utf-8")
    assert "Río Hurtado" in text
    names_path.write_text(text.replace("Río Hurtado", f"Río {HOSTILE} Hurtado"), "utf-8")
    apr_path = folder / "water" / "apr_petorca_05404.geojson"
    apr_path.unlink()
    apr = json.loads((data_dir / "water" / "apr_petorca_05404.geojson").read_text("utf-8"))
    apr["features"][0]["properties"]["Sistema_AP"] = HOSTILE
    apr_path.write_text(json.dumps(apr, ensure_ascii=False), "utf-8")
    return folder


@pytest.mark.realdata
def test_names_with_html_are_shown_as_text(browser, hostile_folder, tmp_path):
    store_dir = tmp_path / "store"
    store = EmbeddedStore(store_dir)
    assert not load_directory(store, hostile_folder).failures
    names = store.read_table("communes", ["cut", "name"])
    assert HOSTILE in names.loc[names["cut"] == "04305", "name"].iloc[0]
    run_scoring(store, ScoringParameters(draws=0, moran_permutations=99, seed=3))
    outside: list[str] = []
    dialogs: list[str] = []
    with LoopbackServer(Settings(store_dir=store_dir)) as server:
        page = offline_page(browser, outside, viewport={"width": 1200, "height": 800})

        def dismiss(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", dismiss)
        page.goto(f"{server.url}/mapa?region=04&desafio=agua")
        page.wait_for_selector("body[data-map-ready]")
        page.fill("#geogaps-search", "Hurtado")
        page.locator("#geogaps-search").press("Enter")
        page.wait_for_selector("#geogaps-panel:not([hidden]) #geogaps-panel-title")
        assert page.text_content("#geogaps-panel-title") == f"Río {HOSTILE} Hurtado"
        page.hover(".leaflet-control-layers")
        page.get_by_label("Sistemas APR / SSR (tamaño según beneficiarios)").check()
        page.select_option("#geogaps-region", "05")
        page.wait_for_selector('body[data-overlay-apr^="05:"]')
        assert page.get_attribute("body", "data-overlay-apr") != "05:0"
        apr = httpx.get(f"{server.url}/mapa/capas/apr.geojson", params={"region": "05"}).json()
        assert HOSTILE in {f["properties"]["title"] for f in apr["features"]}
        assert page.locator("img[src='x']").count() == 0
        page.screenshot(path=str(tmp_path / "escapado.png"))
        # The profile's Zonas Rezagadas section needs the national isolation index: warm it.
        httpx.get(f"{server.url}/rezago/04305", timeout=300)
        page.goto(f"{server.url}/comunas/04305")
        assert page.text_content("#perfil-nombre").strip() == f"Río {HOSTILE} Hurtado"
        assert page.locator("img[src='x']").count() == 0
        page.close()
    assert dialogs == []
    assert outside == []
