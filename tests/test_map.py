"""The planners' map: colours by tier, Spanish tooltips, point layers, served by the API."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from analysis import ScoringParameters
from geo_service.app import create_app
from geo_service.mapping import stored_run_map
from geo_service.scoring import run_scoring
from geo_service.settings import Settings
from maps.gaps import NO_SCORE_COLOUR, TIER_COLOURS, tier_colour


def test_tier_colours_run_from_darkest_to_lightest_and_grey_for_no_score():
    assert [tier_colour(t, 5) for t in range(1, 6)] == list(TIER_COLOURS)
    assert tier_colour(1, 3) == TIER_COLOURS[0] and tier_colour(3, 3) == TIER_COLOURS[-1]
    assert tier_colour(None, 5) == tier_colour(math.nan, 5) == NO_SCORE_COLOUR


@pytest.fixture(scope="module")
def coquimbo_run(national_postgis):
    return run_scoring(national_postgis, ScoringParameters(region="04", draws=50, seed=5))


@pytest.mark.postgis
@pytest.mark.realdata
def test_regional_map_has_every_commune_with_spanish_tooltips(national_postgis, coquimbo_run):
    folium_map = stored_run_map(national_postgis, "agua", "04", coquimbo_run.run["run_id"])
    html = folium_map.get_root().render()
    assert "Prioridad muy alta" in html
    assert "Cobertura de indicadores" in html
    layers = [c for c in folium_map._children.values() if type(c).__name__ == "GeoJson"]
    features = layers[0].data["features"]
    assert len(features) == 15
    scored = coquimbo_run.result.scores
    first = scored[(scored["challenge"] == "agua") & (scored["rank"] == 1)].iloc[0]
    by_cut = {f["properties"]["cut"]: f["properties"] for f in features}
    assert by_cut[first["cut"]]["colour"] == TIER_COLOURS[0]
    assert by_cut[first["cut"]]["tramo"] == "Prioridad muy alta"
    assert by_cut["04305"]["name"] == "Río Hurtado"  # accents reach the page (JSON-escaped)
    assert "R\\u00edo Hurtado" in html


@pytest.mark.postgis
@pytest.mark.realdata
def test_apr_systems_are_an_overlay_where_they_exist(national_postgis):
    national = run_scoring(national_postgis, ScoringParameters(draws=10, seed=5))
    folium_map = stored_run_map(national_postgis, "agua", "05", national.run["run_id"])
    overlays = [c for c in folium_map._children.values() if type(c).__name__ == "FeatureGroup"]
    names = [o.layer_name for o in overlays]
    assert names == ["Sistemas APR / SSR", "Establecimientos de salud (DEIS)"]
    assert [o.show for o in overlays] == [True, False]  # facilities start hidden
    markers = [m for m in overlays[0]._children.values() if type(m).__name__ == "CircleMarker"]
    assert len(markers) == 25  # Petorca's systems, the only ones in region 05


@pytest.mark.postgis
@pytest.mark.realdata
def test_map_is_served_as_html(national_postgis, coquimbo_run):
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url))) as client:
        page = client.get(
            "/map",
            params={
                "challenge": "conectividad",
                "region": "04",
                "run_id": coquimbo_run.run["run_id"],
            },
        )
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "leaflet" in page.text.lower() and "Monte Patria" in page.text
        missing = client.get(
            "/map", params={"challenge": "salud", "run_id": coquimbo_run.run["run_id"]}
        )
        assert missing.status_code == 404
