"""Offline pages, the phone layout and the overlays' legends, in a real browser and over HTTP.

A server on loopback serves the national store with one scored run (as in ``test_browser``).
Every HTML page the service serves is read and must name no other host; ``/docs`` and
``/redoc`` must draw every operation with every request to another host aborted; on a phone
(390×844) and a laptop (1366×768) a chosen commune's panel comes into view, the layer list
leaves the map visible, and each overlay brings its legend.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import httpx
import pytest
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from pydantic import SecretStr

from analysis import ScoringParameters
from geo_service.api import ROUTERS
from geo_service.services.runs import run_scoring
from geo_service.settings import Settings
from maps.assets import STATIC_DIR
from maps.overlays import overlay_legends
from maps.page import OVERLAYS
from tests import test_browser as base

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1366, "height": 768}}
REGION = "04"
#: Values for the path parameters of the HTML pages (a Coquimbo commune).
PAGE_PARAMETERS = {"cut": "04303", "mesa_id": "{mesa_id}"}
#: The write key of the module's server (a Mesa's pages need a Mesa, created with it).
API_KEY = "clave-de-prueba-paginas"
#: Attributes through which a page makes the browser fetch or go somewhere.
URL_ATTRIBUTES = {"src", "href", "srcset", "poster", "data", "action", "xlink:href"}
CSS_URL = re.compile(r"url\(\s*[\"']?([^\"')\s]+)", re.IGNORECASE)

browser = base.browser


class _Links(HTMLParser):
    """Every URL a page names in an attribute, and the text of its ``<style>`` blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.stylesheets: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name == "srcset" and value:
                self.urls.extend(part.split()[0] for part in value.split(",") if part.strip())
            elif name in URL_ATTRIBUTES and value:
                self.urls.append(value)
        if tag == "link" and "stylesheet" in (values.get("rel") or "") and values.get("href"):
            self.stylesheets.append(str(values["href"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _other_hosts(urls: list[str]) -> list[str]:
    return [u for u in urls if urlparse(u.strip()).hostname not in (None, *base.LOOPBACK)]


def _html_pages(app) -> list[str]:
    """Paths of every HTML page the app serves (its GET routes answering HTML).

    The app mounts :data:`geo_service.api.ROUTERS` without a prefix: their routes' paths are
    the app's.
    """
    paths = []
    for route in [*app.routes, *(r for router in ROUTERS for r in router.routes)]:
        if not isinstance(route, APIRoute) or "GET" not in (route.methods or set()):
            continue
        if route.response_class is not HTMLResponse:
            continue
        unknown = set(route.param_convertors) - set(PAGE_PARAMETERS)
        assert not unknown, f"give {route.path} a value for {unknown} in PAGE_PARAMETERS"
        paths.append(route.path.format(**PAGE_PARAMETERS))
    return paths


@pytest.fixture(scope="module")
def server(national_postgis) -> Iterator[base.LoopbackServer]:
    run_scoring(national_postgis, ScoringParameters(draws=20, seed=7))
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, api_key=SecretStr(API_KEY))
    with base.LoopbackServer(settings) as running:
        yield running


def _open_map(browser, server, outside: list[str], options: dict):
    page = base.offline_page(browser, outside, **options)
    page.goto(f"{server.url}/mapa?desafio=agua&region={REGION}")
    page.wait_for_selector("body[data-map-ready]")
    base.wait_for_region_view(page, server.url, REGION)  # zoomed: taps land on communes
    return page


def _commune_point(page, server, cut: str) -> tuple[float, float]:
    """Where commune ``cut``'s label point is on the screen."""
    outlines = httpx.get(f"{server.url}/mapa/capas/comunas.geojson").json()
    label = next(
        f["properties"]["label_point"]
        for f in outlines["features"]
        if f["properties"]["cut"] == cut
    )
    x, y = page.evaluate(
        "([lon, lat]) => { const p = window.geogapsMap.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        label,
    )
    box = page.locator(".folium-map").bounding_box()
    return box["x"] + x, box["y"] + y


def _panel_in_view(page) -> None:
    """Wait until the commune panel's top edge is in the upper half of the window (to a pixel)."""
    page.wait_for_function(
        "() => { const p = document.getElementById('geogaps-panel');"
        " if (p.hidden) return false; const top = p.getBoundingClientRect().top;"
        " return top > -2 && top <= window.innerHeight / 2; }"
    )


@pytest.mark.postgis
@pytest.mark.realdata
def test_no_page_names_another_host(server):
    pages = _html_pages(server.server.config.app)
    assert {"/mapa", "/docs", "/redoc", "/comunas/04303", "/portafolio/04303.html"} <= set(pages)
    # A Mesa's pages answer to its members: make one and read them with its token.
    created = httpx.post(
        f"{server.url}/mesas",
        json={"nombre": "Mesa de las páginas", "comunas": ["04303"]},
        headers={"X-API-Key": API_KEY},
    ).json()
    member = {"Authorization": f"Bearer {created['token']}"}
    for path in (page.replace("{mesa_id}", str(created["id"])) for page in pages):
        response = httpx.get(f"{server.url}{path}", timeout=60, headers=member)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html"), path
        links = _Links()
        links.feed(response.text)
        assert links.urls, f"{path} names no URL at all"
        assert _other_hosts(links.urls) == [], path
        assert _other_hosts(CSS_URL.findall("".join(links.styles))) == [], path
        for sheet in links.stylesheets:
            css = httpx.get(urljoin(f"{server.url}{path}", sheet))
            assert css.status_code == 200, sheet
            assert _other_hosts(CSS_URL.findall(css.text)) == [], sheet


def test_vendored_documentation_assets_ship_with_licences_and_versions():
    vendor = STATIC_DIR / "vendor"
    readme = (vendor / "README.md").read_text("utf-8")
    swagger = (vendor / "swagger-ui" / "swagger-ui-bundle.js").read_text("utf-8")
    redoc = (vendor / "redoc" / "redoc.standalone.js").read_text("utf-8")
    assert "Apache License" in (vendor / "swagger-ui" / "LICENSE").read_text("utf-8")
    assert "MIT License" in (vendor / "redoc" / "LICENSE").read_text("utf-8")
    # The versions the README names are the versions of the files.
    swagger_version = re.search(r"\| `swagger-ui/` \|[^|]*\| ([\d.]+) \|", readme)
    redoc_version = re.search(r"\| `redoc/` \|[^|]*\| ([\d.]+) \|", readme)
    assert swagger_version and f'PACKAGE_VERSION:"{swagger_version[1]}"' in swagger
    assert redoc_version and f'" ReDoc Version: ","{redoc_version[1]}"' in redoc


@pytest.mark.postgis
@pytest.mark.realdata
def test_api_documentation_works_offline(browser, server):
    spec = httpx.get(f"{server.url}/openapi.json").json()
    operations = sum(
        1
        for methods in spec["paths"].values()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    )
    outside: list[str] = []
    page = base.offline_page(browser, outside, **LAPTOP)
    page.goto(f"{server.url}/docs")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() == operations
    page.goto(f"{server.url}/redoc")
    page.wait_for_selector("[id^='operation/']", timeout=60_000)
    assert page.locator("[id^='operation/']").count() == operations
    page.close()
    assert outside == []


@pytest.mark.postgis
@pytest.mark.realdata
def test_phone_shows_the_panel_keeps_the_map_and_downloads_the_png(browser, server, tmp_path):
    outside: list[str] = []
    page = _open_map(browser, server, outside, PHONE)
    map_box = page.locator(".folium-map").bounding_box()
    # The scale speaks metres and kilometres only.
    scale = page.locator(".leaflet-control-scale-line")
    assert scale.count() == 1 and re.fullmatch(r"\d+ k?m", scale.text_content() or "")
    # The layer list starts closed, opens over part of the map and closes once a layer is chosen.
    control = page.locator(".leaflet-control-layers")
    closed = control.bounding_box()
    assert "leaflet-control-layers-expanded" not in (control.get_attribute("class") or "")
    assert closed["width"] * closed["height"] < 0.02 * map_box["width"] * map_box["height"]
    toggle = page.locator(".leaflet-control-layers-toggle").bounding_box()
    page.touchscreen.tap(toggle["x"] + toggle["width"] / 2, toggle["y"] + toggle["height"] / 2)
    page.wait_for_selector(".leaflet-control-layers-expanded")
    assert control.bounding_box()["height"] <= 0.5 * map_box["height"]
    page.get_by_label(OVERLAYS["salud"]).check()
    page.wait_for_selector(f'body[data-overlay-salud^="{REGION}:"]')
    page.wait_for_selector(".leaflet-control-layers-expanded", state="detached")
    page.screenshot(path=str(tmp_path / "telefono_capas.png"))

    # Tapping a commune brings its panel into view.
    cut = base.table_cuts(page)[0]
    x, y = _commune_point(page, server, cut)
    page.touchscreen.tap(x, y)
    page.wait_for_selector("#geogaps-panel:not([hidden]) #geogaps-panel-title")
    _panel_in_view(page)
    assert page.text_content("#geogaps-panel-title") == page.text_content(
        f'#geogaps-table-body tr[data-cut="{cut}"] td:nth-child(2)'
    )
    page.screenshot(path=str(tmp_path / "telefono_panel.png"))
    page.get_by_role("button", name="Ver el mapa").click()
    page.wait_for_function(
        "() => Math.abs(document.querySelector('.folium-map').getBoundingClientRect().top) < 2"
    )

    # Another region: the panel of a commune outside it closes.
    before = page.get_attribute("body", "data-scores-ready")
    page.select_option("#geogaps-region", "05")
    base.scores_answered(page, before)
    assert page.locator("#geogaps-panel").is_hidden()

    # The PNG is a file to keep: the map page stays.
    with page.expect_download(timeout=60_000) as download:
        page.click("#geogaps-png")
    assert download.value.suggested_filename == "mapa_agua_05.png"
    saved = tmp_path / "mapa.png"
    download.value.save_as(saved)
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert urlparse(page.url).path == "/mapa"
    page.close()
    assert outside == []


@pytest.mark.postgis
@pytest.mark.realdata
def test_laptop_panel_in_view_and_every_overlay_has_a_legend(browser, server, tmp_path):
    outside: list[str] = []
    page = _open_map(browser, server, outside, LAPTOP)
    # The instability of a priority is defined once on the page.
    assert page.inner_text("body").count("llega al") == 1

    cut = base.table_cuts(page)[-1]
    page.mouse.click(*_commune_point(page, server, cut))
    _panel_in_view(page)
    side = page.locator(".geogaps-side").bounding_box()
    panel = page.locator("#geogaps-panel").bounding_box()
    # Layout boxes are fractional: a panel flush with the column may start a subpixel above it.
    assert side["y"] - 1 <= panel["y"] < side["y"] + side["height"] / 2

    config = page.evaluate("JSON.parse(document.getElementById('geogaps-config').textContent)")
    # Another challenge: the open panel lists that challenge's indicators, not the old ones.
    other = next(c for c in config["challenges"] if c["id"] not in {"agua", config["composite_id"]})
    page.wait_for_selector("#geogaps-panel .geogaps-indicators")
    before = page.get_attribute("body", "data-scores-ready")
    page.select_option("#geogaps-challenge", other["id"])
    base.scores_answered(page, before)
    labels = {i["label"] for i in other["indicators"]}
    page.wait_for_function(
        "(labels) => { const cells = document.querySelectorAll("
        "'#geogaps-panel .geogaps-indicators tbody td:first-child');"
        " return cells.length > 0 && [...cells].every(c => labels.includes(c.textContent)); }",
        arg=sorted(labels),
    )
    page.select_option("#geogaps-challenge", "agua")

    legends = overlay_legends()
    # Proposed sites are computed on request (tens of seconds): test_browser draws them.
    for overlay in (o for o in config["overlays"] if o["id"] != "sitios"):
        page.hover(".leaflet-control-layers")
        page.get_by_label(overlay["label"]).check()
        page.wait_for_selector(f'body[data-overlay-{overlay["id"]}^="{REGION}:"]', timeout=120_000)
        note = page.locator(f'#geogaps-overlay-notes [data-note="{overlay["id"]}"]')
        assert note.locator("h3").text_content() == overlay["label"]
        text = note.text_content() or ""
        for item in (legends.get(overlay["id"]) or {}).get("items", []):
            assert item["label"] in text
        if overlay["id"] == "clusters":
            for entry in config["cluster_legend"]:
                assert f"{entry['label']} ({entry['meaning']})" in text
        # A list of swatches, or (groups: one colour each) a sentence saying what is drawn.
        assert note.locator(".geogaps-swatch").count() or "grupo" in text, overlay["id"]
        drawn = page.get_attribute("body", f"data-overlay-{overlay['id']}")
        if overlay["kind"] == "points":  # an empty layer says so, never reads as "none there"
            assert (drawn == f"{REGION}:0") == (note.locator("[data-empty]").count() == 1)
        page.get_by_label(overlay["label"]).uncheck()
        assert note.count() == 0
    assert set(legends) == {o["id"] for o in config["overlays"] if o["kind"] == "points"}
    page.screenshot(path=str(tmp_path / "portatil.png"))
    page.close()
    assert outside == []


@pytest.mark.postgis
@pytest.mark.realdata
def test_profile_score_table_fits_a_phone(browser, server):
    outside: list[str] = []
    page = base.offline_page(browser, outside, **PHONE)
    page.goto(f"{server.url}/comunas/{PAGE_PARAMETERS['cut']}")
    page.wait_for_selector("#perfil-nombre")
    widths = page.evaluate(
        "() => { const t = document.querySelector('.puntajes table');"
        " return [document.documentElement.scrollWidth, window.innerWidth, t.scrollWidth,"
        " t.clientWidth, t.getBoundingClientRect().right]; }"
    )
    page_width, window_width, table_width, table_box, table_right = widths
    assert page_width <= window_width
    assert table_width <= table_box and table_right <= window_width
    page.close()
    assert outside == []
