"""The Mesa's page in a real browser (headless Chromium, internet blocked).

The example Mesa on the national embedded store: the member enters a token, edits the matrix's
scores (each a versioned PATCH), sees the combined priority the API computes, the commitments
board with its traffic lights, a stale edit refused, and opens the printable report.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from analysis.formatting import format_integer, format_share
from geo_service.services.mesa_example import create_example
from geo_service.services.mesas import add
from geo_service.settings import Settings
from layers.mesas import mesa_records
from tests.test_browser import LoopbackServer, offline_page
from tests.test_browser import browser as browser_fixture  # noqa: F401 - a fixture

pytestmark = [pytest.mark.realdata]


@pytest.fixture(scope="module")
def mesa_server(national_embedded) -> Iterator[tuple[LoopbackServer, dict[str, Any]]]:
    records = mesa_records(national_embedded)
    created = create_example(national_embedded, records)
    caller = {**created["miembro"], "mesa_id": created["id"]}
    me = caller["id"]
    for state, due in (("pendiente", -5), ("cumplido", 30), ("pendiente", 60)):
        body = {
            "responsable": me,
            "descripcion": f"Compromiso {state} {due}",
            "vence": date.today() + timedelta(days=due),
            "estado": state,
        }
        add(national_embedded, records, caller, "compromiso", body)
    # An initiative with both amounts and a point, a milestone and a follow-up entry: what the
    # map, the progress chart and the report show.
    initiative = {
        "nombre": "Sede vecinal de prueba",
        "tipologia": "Espacios_Públicos",
        "etapa": "financiada",
        "monto_publico_clp": 30_000_000,
        "monto_privado_clp": 10_000_000,
        "fuente_financiamiento": "FNDR",
        "lon": -71.46,
        "lat": -33.9,
    }
    add(national_embedded, records, caller, "iniciativa", initiative)
    milestone = {"fecha": date.today(), "tipo": "sesión de mesa", "titulo": "Sesión de prueba"}
    add(national_embedded, records, caller, "hito", milestone)
    add(national_embedded, records, caller, "seguimiento", {"avance": "Perfil enviado"})
    settings = Settings(database_url=None, store_dir=national_embedded.root, warm_caches=False)
    with LoopbackServer(settings) as server:
        yield server, created


def _ready(page, before: str | None) -> None:
    page.wait_for_function(
        "(before) => (document.body.dataset.mesaReady || null) !== before", arg=before
    )


def test_member_edits_the_matrix_and_reads_the_board(
    request,
    browser_fixture,  # noqa: F811 - the imported fixture
    mesa_server,
    tmp_path,
) -> None:
    server, created = mesa_server
    outside: list[str] = []
    page = offline_page(browser_fixture, outside, viewport={"width": 1300, "height": 900})
    page.goto(f"{server.url}/mesas/{created['id']}/pagina")
    assert page.get_attribute("html", "lang") == "es"
    page.fill("#mesa-token", created["token"])
    page.click("#mesa-acceso button")
    _ready(page, None)
    assert page.inner_text("#mesa-nombre").startswith("EJEMPLO")
    assert page.locator("#mesa-matriz tbody tr").count() == 4
    # Score every criterion of the first row: each edit is a PATCH with If-Match.
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {created['token']}"})
    request.addfinalizer(api.close)
    criteria = [c["id"] for c in api.get(f"/mesas/{created['id']}").json()["criterios"]]
    for value, criterion in enumerate(criteria, start=2):
        before = page.get_attribute("body", "data-mesa-ready")
        page.fill(f'#mesa-matriz tr[data-fila="1"] input[name="{criterion}"]', str(min(value, 5)))
        page.press(f'#mesa-matriz tr[data-fila="1"] input[name="{criterion}"]', "Tab")
        _ready(page, before)
    row = api.get(f"/mesas/{created['id']}/matriz/1").json()
    assert row["puntajes"] == {c: min(v, 5) for v, c in enumerate(criteria, start=2)}
    shown = page.inner_text('#mesa-matriz tr[data-fila="1"] td.prioridad')
    assert shown == row["prioridad"]["texto"] and row["prioridad"]["valor"] is not None
    # The board: overdue in red, met in green, due later with no light.
    lights = page.eval_on_selector_all(
        "#mesa-tablero .tarjeta", "cards => cards.map(c => c.className)"
    )
    assert sorted(lights) == ["tarjeta ", "tarjeta rojo", "tarjeta verde"]
    overdue = page.inner_text("#mesa-tablero .tarjeta.rojo")
    assert "Compromiso pendiente -5" in overdue and "atrasado" in overdue
    # The map: the Mesa's communes coloured by their gap tier, its initiatives on them.
    mesa = api.get(f"/mesas/{created['id']}").json()
    initiatives = api.get(f"/mesas/{created['id']}/iniciativas").json()["iniciativas"]
    placed = [i for i in initiatives if i["comuna"] or i["lon"] is not None]
    assert page.get_attribute("#mesa-mapa", "data-iniciativas") == str(len(placed))
    shapes = page.locator("#mesa-mapa path.leaflet-interactive").count()
    assert shapes == len(mesa["comunas"]) + len(placed)
    assert page.locator("#mesa-mapa-leyenda li").count() >= 1
    # Progress over time: the commitments met, as their state says, and a bar per series.
    commitments = api.get(f"/mesas/{created['id']}/compromisos").json()["compromisos"]
    met = sum(1 for c in commitments if c["estado"] == "cumplido")
    assert page.get_attribute("#mesa-avance", "data-cumplidos") == str(met)
    assert page.locator("#mesa-avance rect.seguimiento").count() >= 1
    # A colleague changes row 2 meanwhile: the page's edit is refused and named, not merged.
    tag = api.get(f"/mesas/{created['id']}/matriz/2").headers["ETag"]
    colleague = api.patch(
        f"/mesas/{created['id']}/matriz/2",
        json={"recursos": "Sede vecinal"},
        headers={"If-Match": tag},
    )
    assert colleague.status_code == 200
    page.fill(f'#mesa-matriz tr[data-fila="2"] input[name="{criteria[0]}"]', "4")
    page.press(f'#mesa-matriz tr[data-fila="2"] input[name="{criteria[0]}"]', "Tab")
    page.wait_for_selector("#mesa-estado.error")
    assert "Otra persona cambió esta fila" in page.inner_text("#mesa-estado")
    assert api.get(f"/mesas/{created['id']}/matriz/2").json()["puntajes"][criteria[0]] is None
    # The printable report opens from the page, with the token.
    with page.expect_popup() as popup:
        page.click("#mesa-reporte")
    report = popup.value
    report.wait_for_load_state()
    assert "Reporte de avance" in report.title()
    text = report.inner_text("main")
    assert "Sesión de prueba" in text  # milestones
    by_typology = report.inner_text("section:has(h2:text('Inversión')) table >> nth=0")
    assert f"Espacios Públicos\t1\t$ {format_integer(30_000_000)}" in by_typology
    both = [i for i in initiatives if None not in (i["monto_publico_clp"], i["monto_privado_clp"])]
    public = sum(i["monto_publico_clp"] for i in both)
    private = sum(i["monto_privado_clp"] for i in both)
    assert f"{format_share(private / (public + private), 1)}\naporte privado" in text
    assert f"{format_share(1.0)}\ncompromisos cumplidos a tiempo (1 de 1 cumplidos)" in text
    page.screenshot(path=str(tmp_path / "mesa.png"), full_page=True)
    # The commune's profile links the Mesa; its report link opens the report once signed in
    # (the token is already in this tab's sessionStorage).
    cut = mesa["comunas"][0]
    page.goto(f"{server.url}/comunas/{cut}")
    assert mesa["nombre"] in page.inner_text("#perfil-mesas")
    page.click("#perfil-mesas a:text('reporte de avance')")
    page.wait_for_url(lambda url: url.startswith("blob:"))
    assert "Reporte de avance" in page.title() and "Sesión de prueba" in page.inner_text("main")
    assert outside == []
