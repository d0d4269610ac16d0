"""Missing is never zero: the API, the profile and the map's layers say "sin dato" and why.

The APR layer of the real data covers Petorca and Coyhaique only, and the projects file is a
sample: a commune they do not cover (Canela, 04202) has no APR counts and no project count —
null with the reason — while a covered one keeps its numbers.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from analysis import ScoringParameters
from geo_service.app import create_app
from geo_service.services.runs import run_scoring
from geo_service.settings import Settings

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

CANELA = "04202"
PETORCA = "05404"


@pytest.fixture(scope="module")
def client(national_postgis):
    run_scoring(national_postgis, ScoringParameters(draws=10, seed=3))
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url))) as test_client:
        yield test_client


def test_a_layer_that_does_not_cover_a_commune_gives_null_with_a_reason(client):
    canela = client.get(f"/communes/{CANELA}").json()
    apr = canela["apr"]
    assert apr["covered"] is False
    assert apr["systems"] is None and apr["beneficiaries"] is None
    assert apr["connections"] is None
    assert "no cubre esta comuna" in apr["reason"] and "(cubre 2 de 345 comunas)" in apr["reason"]
    projects = canela["projects"]
    if projects["covered"] is False:
        assert projects["total"] is None and projects["investment_clp"] is None
        assert projects["items"] == [] and "no cubre esta comuna" in projects["reason"]
    petorca = client.get(f"/communes/{PETORCA}").json()["apr"]
    assert petorca["covered"] is True and petorca["reason"] is None
    assert petorca["systems"] > 0 and petorca["beneficiaries"] > 0


def test_missing_indicator_values_are_null_with_a_reason(client):
    items = client.get(f"/communes/{CANELA}").json()["indicators"]
    assert items
    for item in items:
        if item["value"] is None:
            assert item["missing_reason"], item["id"]
        else:
            assert item["missing_reason"] is None
    by_id = {item["id"]: item for item in items}
    for indicator in ("apr_beneficiarios_por_hab_rural", "apr_minutos"):
        assert by_id[indicator]["value"] is None
        assert "la capa APR no cubre esta comuna" in by_id[indicator]["missing_reason"]


def test_unscored_rows_are_null_never_zero(client):
    rows = client.get("/scores", params={"challenge": "agua", "limit": 1000}).json()["scores"]
    for row in rows:
        if row["score"] is None:
            assert row["rank"] is None and row["tier"] is None
            assert row["view"]["place"] is None and row["view"]["tier"] is None
            assert "Sin puntaje por falta de datos" in row["explanation"]
        else:
            assert row["view"]["place"] >= 1


def test_the_printable_profile_says_sin_dato_not_zero(client):
    page = client.get(f"/comunas/{CANELA}").text
    assert "0 sistemas" not in page and "Sin dato: la capa APR no cubre esta comuna" in page
    assert "Proyectos (0)" not in page
    # The APR section and each APR indicator say why their value is missing.
    assert page.count("la capa APR no cubre esta comuna") >= 3


def test_map_layers_say_what_they_cover_and_drop_artefact_travel_times(client):
    apr = client.get("/mapa/capas/apr.geojson", params={"region": "04"}).json()
    assert apr["features"] == []
    assert apr["coverage"] == {
        "communes_covered": 0,
        "communes_total": 15,
        "note": "La capa APR cubre 0 de 15 comunas de la región",
    }
    national = client.get("/mapa/capas/apr.geojson").json()["coverage"]
    assert national["note"] == "La capa APR cubre 2 de 345 comunas"
    access = client.get("/mapa/capas/accesibilidad.geojson", params={"region": "04"}).json()
    # Minutes to the nearest APR exist only where the APR layer covers the commune.
    assert not any(
        "Destino: sistema APR" in line
        for feature in access["features"]
        for line in feature["properties"]["lines"]
    )
    assert access["coverage"]["apr"]["communes_covered"] == 0


def test_scores_say_which_indicators_are_left_out_of_the_scope(client):
    stored = client.get("/scores", params={"challenge": "agua", "limit": 5}).json()["notes"]
    assert "quedan fuera del puntaje, en el ámbito en que se calculó" in stored["agua"]
    assert "2 de 345 comunas" in stored["agua"]
    live = client.get("/gaps", params={"challenge": "agua", "region": "04"}).json()["notes"]
    assert "0 de 15 comunas" in live["agua"] or "ninguna comuna de ese ámbito" in live["agua"]


def test_a_regional_run_answers_in_its_region_without_a_national_place(client, national_postgis):
    # Not a missing value but its cousin: a place that does not exist is not invented either.
    regional = run_scoring(national_postgis, ScoringParameters(region="04", draws=10, seed=3))
    rows = client.get(
        "/scores", params={"challenge": "agua", "run_id": regional.run["run_id"], "limit": 100}
    ).json()["scores"]
    assert len(rows) == 15
    for row in rows:
        view = row["view"]
        assert view["scope"] == "regional" and view["rescaled"]
        assert view["place_label"].endswith(" de 15") or view["place"] is None
        assert view["national_place_label"].startswith("sin lugar nacional")
