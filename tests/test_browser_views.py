"""One view, one answer: every surface shows the same tier, place, interval and certainty.

One walk in a real browser (Debian's Chromium, internet blocked) through the national and the
Coquimbo views of water, with the default weights and with custom ones. For each view the map's
table, its commune panel and legend, the priority CSV, the PNG (through the title and the
legend data it carries in its text chunks), the API and the commune profile are compared
commune by commune.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngImageFile

from analysis import load_catalogue
from tests.test_browser import (  # noqa: F401 - fixtures
    browser,
    national_server,
    offline_page,
)

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

WEIGHTS = "agua_fuente_precaria:3"
#: (region, weights) of the four views walked.
VIEWS = ((None, None), ("04", None), (None, WEIGHTS), ("04", WEIGHTS))
PANEL_COMMUNES = 3


def _query(region: str | None, weights: str | None) -> dict[str, str]:
    query = {"challenge": "agua"}
    if region:
        query["region"] = region
    if weights:
        query["weights"] = weights
    return query


def _api_rows(base: str, region: str | None, weights: str | None) -> dict[str, dict[str, Any]]:
    query = _query(region, weights)
    if weights:
        body = httpx.get(f"{base}/gaps", params=query, timeout=60).json()
    else:
        body = httpx.get(f"{base}/scores", params={**query, "limit": 1000}, timeout=60).json()
    return {row["cut"]: row for row in body["scores"]}


def _csv_rows(base: str, region: str | None, weights: str | None) -> dict[str, dict[str, str]]:
    response = httpx.get(f"{base}/exports/prioridades.csv", params=_query(region, weights))
    assert response.status_code == 200
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";")
    return {row["CUT"]: row for row in reader}


def _png(base: str, region: str | None, weights: str | None) -> tuple[str, dict[str, Any]]:
    response = httpx.get(f"{base}/exports/mapa.png", params=_query(region, weights), timeout=60)
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(response.content))
    assert isinstance(image, PngImageFile)
    return image.text["Title"], json.loads(image.text["Description"])


def _table(page) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "#geogaps-table-body tr",
        """rows => rows.map(r => { const c = r.querySelectorAll('td');
           return {cut: r.dataset.cut, place: c[0].textContent, tier: c[3].textContent,
                   certainty: c[4].textContent, national: c[5].textContent}; })""",
    )


def _panel_facts(page, cut: str) -> dict[str, str]:
    page.click(f'#geogaps-table-body tr[data-cut="{cut}"]')
    page.wait_for_function(
        "(cut) => { const chosen ="
        " document.querySelector('#geogaps-table-body tr.geogaps-selected');"
        " return document.querySelector('#geogaps-panel .geogaps-facts') &&"
        " chosen && chosen.dataset.cut === cut; }",
        arg=cut,
    )
    return page.eval_on_selector(
        "#geogaps-panel .geogaps-facts",
        """dl => { const out = {}; const terms = dl.querySelectorAll('dt');
           terms.forEach(t => { out[t.textContent] = t.nextElementSibling.textContent; });
           return out; }""",
    )


def _compare_view(page, base: str, region: str | None, weights: str | None) -> None:
    where = f"vista {region or 'nacional'}{' con pesos' if weights else ''}"
    api = _api_rows(base, region, weights)
    views = {cut: row["view"] for cut, row in api.items()}
    if region:
        assert set(views) == {cut for cut in views if cut.startswith(region)}, where
    # The table (all rows) against the API, commune by commune.
    page.select_option("#geogaps-top", "1000")
    table = _table(page)
    assert {row["cut"] for row in table} == set(views), where
    for row in table:
        view = views[row["cut"]]
        place = str(view["place"]) if view["place"] is not None else "sin dato"
        assert row["place"] == place + (" (empate)" if view["tie"] else ""), (where, row)
        assert row["tier"] == view["tier_label"], (where, row)
        certainty = (
            f"{view['interval_label']} · {view['certainty_label']}"
            if view["certainty"]
            else view["certainty_label"]
        )
        assert row["certainty"] == certainty, (where, row)
        shown_national = region is not None and weights is None
        assert row["national"] == (view["national_place_label"] if shown_national else "")
    # Regional views are regional on every field; re-scaled views say so.
    assert all(v["scope"] == ("regional" if region else "nacional") for v in views.values())
    rescaled = bool(region and weights)
    assert all(v["rescaled"] == rescaled for v in views.values()), where
    note = page.text_content("#geogaps-table-note") or ""
    assert ("re-escalados" in note) == rescaled, (where, note)
    if any(v["tie"] for v in views.values()):
        assert "empate" in note
    # The legend lists exactly the view's tiers.
    legend = page.text_content("#geogaps-legend") or ""
    for label in {v["tier_label"] for v in views.values() if v["tier"] is not None}:
        assert label in legend, (where, label)
    assert ("dentro de la región" in legend) == bool(region)
    assert ("re-escalados" in legend) == rescaled
    # The APR layer covers 2 of 345 communes: its indicators are out of every scope, and said.
    assert "quedan fuera del puntaje, en el ámbito en que se calculó" in legend, legend
    # The CSV: same rows, same place, tier, interval, share and certainty.
    rows = _csv_rows(base, region, weights)
    assert set(rows) == set(views), where
    for cut, line in rows.items():
        view = views[cut]
        assert line["Tramo"] == view["tier_label"], (where, cut)
        assert line["Intervalo del lugar (5–95 %)"] == view["interval_label"], (where, cut)
        assert line["Simulaciones en el tramo 1"] == view["top_tier_label"], (where, cut)
        assert line["Certeza"] == view["certainty_label"], (where, cut)
        assert line["Lugar nacional"] == view["national_place_label"], (where, cut)
        assert line["Lugar"].split(" ")[0] == (
            str(view["place"]) if view["place"] is not None else "sin"
        )
        assert ("re-escalados" in line["Nota"]) == rescaled
        assert "quedan fuera del puntaje, en el ámbito en que se calculó" in line["Nota"]
    if rescaled:
        assert all(
            line["Lugar nacional"].startswith("sin lugar nacional") for line in rows.values()
        )
    # The PNG: title names the view's tiers; its tiers are the view's, commune by commune.
    title, legend_data = _png(base, region, weights)
    assert ("Tramos regionales" in title) == bool(region), title
    assert ("re-escalado" in title) == rescaled
    for cut, view in views.items():
        assert legend_data["tiers"][cut] == view["tier"], (where, cut)
    assert set(legend_data["labels"].values()) == {
        v["tier_label"] for v in views.values() if v["tier"] is not None
    }
    # The panel of the first communes.
    for line in table[:PANEL_COMMUNES]:
        view = views[line["cut"]]
        facts = _panel_facts(page, line["cut"])
        assert facts["Tramo"] == view["tier_label"], (where, facts)
        assert facts["Lugar en la región" if region else "Lugar nacional"] == view["place_label"]
        if region:
            assert facts["Lugar nacional"] == view["national_place_label"]
        if view["top_tier_share"] is not None:
            assert facts["En el tramo 1" + (" de la región" if region else "")].startswith(
                view["top_tier_label"]
            )
            assert facts["Certeza"] == view["certainty_label"]
        else:
            assert "Certeza" not in facts
        assert ("Nota" in facts) == rescaled
        assert facts["Cobertura"].startswith(view["coverage_label"])


def _compare_profiles(base: str, cuts: list[str]) -> None:
    national = _api_rows(base, None, None)
    regional = _api_rows(base, "04", None)
    for cut in cuts:
        profile = httpx.get(f"{base}/communes/{cut}").json()
        row = next(r for r in profile["scores"] if r["challenge"] == "agua")
        assert row["view"] == national[cut]["view"], cut
        if cut in regional:
            assert row["view_region"] == regional[cut]["view"], cut
        page = httpx.get(f"{base}/comunas/{cut}").text
        assert national[cut]["view"]["place_label"] in page
        assert national[cut]["view"]["certainty_label"] in page


def test_every_surface_gives_one_answer_per_view(browser, national_server):  # noqa: F811
    outside: list[str] = []
    page = offline_page(browser, outside, viewport={"width": 1366, "height": 900})
    for region, weights in VIEWS:
        address = f"{national_server.url}/mapa?desafio=agua"
        if region:
            address += f"&region={region}"
        if weights:
            address += f"&pesos={weights}"
        page.goto(address)
        page.wait_for_selector("body[data-map-ready]")
        _compare_view(page, national_server.url, region, weights)
    # Weights that leave nothing to score: the page says what to do, in one Spanish sentence.
    water = [indicator.id for indicator in load_catalogue().indicators_of("agua")]
    for zeroed in (water[:2], water):
        page.goto(
            f"{national_server.url}/mapa?desafio=agua&pesos=" + ",".join(f"{i}:0" for i in zeroed)
        )
        page.wait_for_selector("body[data-scores-error]", state="attached")
        status = page.text_content("#geogaps-status") or ""
        assert "Asigne peso a al menos un indicador" in status, status
        assert "pydantic" not in status and "[{" not in status and "Value error" not in status
    page.close()
    coquimbo = sorted(_api_rows(national_server.url, "04", None))[:4]
    _compare_profiles(national_server.url, [*coquimbo, "05404"])
    assert outside == []
