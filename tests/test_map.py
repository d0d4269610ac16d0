"""The planners' map: fixed tier colours, offline pages, light outlines and escaped overlays."""

from __future__ import annotations

import gzip
import html
import json
import math
import re

import folium
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from analysis import ScoringParameters
from analysis.formatting import format_number, rank_of
from analysis.view import is_unstable
from geo_service.app import create_app
from geo_service.services.maps import stored_run_map
from geo_service.services.runs import run_scoring
from geo_service.settings import Settings
from maps.assets import STATIC_DIR
from maps.gaps import tier_colour
from maps.geometry import simplified_outlines
from maps.overlays import accessibility_features
from maps.page import NO_SCORE_COLOUR, TIER_COLOURS

#: Anything a page would fetch from another host: scripts, images, style sheets, CSS urls.
#: (Plain links, such as Leaflet's attribution, fetch nothing and are allowed.)
OUTSIDE = re.compile(
    r"""src\s*=\s*["']?(?:https?:)?//|<link[^>]*href\s*=\s*["']?(?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//|fetch\(\s*["'](?:https?:)?//""",
    re.IGNORECASE,
)


def _first_group(pattern: str, text: str) -> str:
    """The first group of ``pattern``'s first match in ``text`` (which must match)."""
    match = re.search(pattern, text)
    assert match is not None, pattern
    return match.group(1)


def test_each_tier_number_wears_one_colour_whatever_the_number_of_tiers():
    assert [tier_colour(t) for t in range(1, 6)] == list(TIER_COLOURS)
    # A region with three tiers: its tier 3 keeps the national tier-3 colour, not the lightest.
    assert tier_colour(3, 3) == TIER_COLOURS[2] == tier_colour(3, 5)
    assert tier_colour(None) == tier_colour(math.nan) == NO_SCORE_COLOUR


def test_vendored_leaflet_ships_with_its_licence():
    leaflet = STATIC_DIR / "vendor" / "leaflet"
    assert "BSD 2-Clause License" in (leaflet / "LICENSE").read_text("utf-8")
    assert "1.9.4" in (leaflet / "leaflet.js").read_text("utf-8")[:200]


@pytest.mark.postgis
@pytest.mark.realdata
def test_simplified_outlines_keep_shared_borders(national_postgis):
    communes = national_postgis.read_table(
        "communes", ["cut", "name", "region_code", "region_name", "geom"]
    )
    coquimbo = gpd.GeoDataFrame(communes[communes["region_code"] == "04"], geometry="geom")
    outlines = simplified_outlines(coquimbo)
    assert len(outlines) == len(coquimbo)
    before = shapely.get_num_coordinates(coquimbo.geometry.array).sum()
    after = shapely.get_num_coordinates(outlines.geometry.array).sum()
    assert after < before / 2
    # Neighbours still meet: the simplified coverage has no gaps or overlaps between them.
    merged = shapely.union_all(outlines.geometry.array)
    assert abs(merged.area - shapely.area(outlines.geometry.array).sum()) < 1e-6
    by_cut = dict(zip(outlines["cut"], outlines.geometry, strict=True))
    assert by_cut["04101"].intersection(by_cut["04102"]).length > 0  # La Serena | Coquimbo


@pytest.fixture(scope="module")
def national_run(national_postgis):
    return run_scoring(national_postgis, ScoringParameters(draws=20, seed=5))


@pytest.fixture(scope="module")
def client(national_postgis, national_run):
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url))) as test_client:
        yield test_client


@pytest.mark.postgis
@pytest.mark.realdata
def test_offline_export_embeds_leaflet_and_needs_no_other_host(national_postgis, national_run):
    folium_map = stored_run_map(national_postgis, "agua", "04", national_run.run["run_id"])
    page = folium_map.get_root().render()
    assert OUTSIDE.search(page) is None
    assert "Leaflet 1.9.4" in page and "jquery" not in page.lower()
    layers = [c for c in folium_map._children.values() if isinstance(c, folium.GeoJson)]
    features = layers[0].data["features"]
    assert len(features) == 15
    by_cut = {f["properties"]["cut"]: f["properties"] for f in features}
    assert by_cut["04305"]["name"] == "Río Hurtado"
    scored = national_run.result.scores
    agua = scored[(scored["challenge"] == "agua") & scored["cut"].str.startswith("04")]
    # A regional map follows the regional view: the region's tiers, as on /mapa.
    for cut, tier in zip(agua["cut"], agua["tier_region"], strict=True):
        assert by_cut[cut]["colour"] == tier_colour(tier)
    assert all(" de 15" in properties["lugar"] for properties in by_cut.values())


@pytest.mark.postgis
@pytest.mark.realdata
def test_old_map_address_redirects_to_mapa(client):
    response = client.get(
        "/map", params={"challenge": "agua", "region": "04"}, follow_redirects=False
    )
    assert response.status_code == 307
    assert response.headers["location"] == "/mapa?desafio=agua&region=04"


@pytest.mark.postgis
@pytest.mark.realdata
def test_mapa_page_is_spanish_and_loads_nothing_from_another_host(client):
    page = client.get("/mapa", params={"desafio": "agua"})
    assert page.status_code == 200
    text = page.text
    assert '<html lang="es">' in text and "<title>" in text
    assert OUTSIDE.search(text) is None
    assert "jquery" not in text.lower() and "bootstrap" not in text.lower()
    config = json.loads(_first_group(r'id="geogaps-config">(.*?)</script>', text))
    assert config["initial"]["challenge"] == "agua"
    assert [c["id"] for c in config["challenges"]] == [
        "agua",
        "conectividad",
        "rural_urbano",
        "compuesto",
    ]
    assert {"code": "04", "name": "Coquimbo"} in config["regions"]
    assert config["basemap"] is None
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', text):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/static/mapa/../page.py").status_code == 404


@pytest.mark.postgis
@pytest.mark.realdata
def test_outlines_are_gzipped_light_and_every_commune_is_there(client, national_postgis):
    response = client.get("/mapa/capas/comunas.geojson", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    raw = response.content  # httpx already decoded it
    assert len(gzip.compress(raw)) < 600_000
    features = json.loads(raw)["features"]
    communes = national_postgis.read_table("communes", ["cut"])
    assert sorted(f["properties"]["cut"] for f in features) == sorted(communes["cut"])
    regions = client.get("/mapa/capas/regiones.geojson").json()["features"]
    assert len(regions) == 16


@pytest.mark.postgis
@pytest.mark.realdata
def test_overlays_carry_spanish_lines_and_approximate_projects(client):
    apr = client.get("/mapa/capas/apr.geojson", params={"region": "05"}).json()["features"]
    assert apr and all(f["properties"]["lines"][0].startswith("Beneficiarios: ") for f in apr)
    projects = client.get("/mapa/capas/proyectos.geojson").json()["features"]
    approximate = [f for f in projects if f["properties"]["approximate"]]
    assert approximate
    assert all(
        "Ubicación aproximada: dibujado en la comuna" in f["properties"]["lines"]
        for f in approximate
    )
    health = client.get("/mapa/capas/salud.geojson", params={"region": "04"}).json()
    assert health["features"]
    assert client.get("/mapa/capas/desconocida.geojson").status_code == 404


@pytest.mark.postgis
@pytest.mark.realdata
def test_priority_csv_opens_in_spanish_excel_and_follows_the_view(client, national_run):
    response = client.get("/exports/prioridades.csv", params={"challenge": "agua", "region": "04"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "prioridades_agua_04.csv" in response.headers["content-disposition"]
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    lines = body.decode("utf-8-sig").splitlines()
    header = lines[0].split(";")
    assert header[:6] == ["Lugar", "Lugar nacional", "CUT", "Comuna", "Región", "Puntaje"]
    rows = [line.split(";") for line in lines[1:]]
    assert len(rows) == 15 and all(row[2].startswith("04") for row in rows)
    assert [row[0] for row in rows[:3]] == ["1", "2", "3"]  # regional ranks first
    assert all(re.fullmatch(r"\d,\d{3}", row[5]) for row in rows if row[5] != "sin dato")
    scored = national_run.result.scores
    agua = scored[(scored["challenge"] == "agua") & scored["cut"].str.startswith("04")]
    best = agua.sort_values("score", ascending=False).iloc[0]
    assert rows[0][2] == best["cut"]
    reweighted = client.get(
        "/exports/prioridades.csv",
        params={"challenge": "agua", "region": "04", "weights": "agua_fuente_precaria:3"},
    )
    assert reweighted.status_code == 200
    reweighted_cuts = [
        line.split(";")[2] for line in reweighted.content.decode("utf-8-sig").splitlines()[1:]
    ]
    assert sorted(reweighted_cuts) == sorted(row[2] for row in rows)
    assert reweighted_cuts != [row[2] for row in rows]
    bad = client.get("/exports/prioridades.csv", params={"challenge": "agua", "weights": "x:1"})
    assert bad.status_code == 422


@pytest.mark.postgis
@pytest.mark.realdata
def test_static_png_and_printable_profile(client):
    image = client.get("/exports/mapa.png", params={"challenge": "agua", "region": "04"})
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert client.get("/exports/mapa.png", params={"challenge": "salud"}).status_code == 422
    profile = client.get("/comunas/4303")
    assert profile.status_code == 200
    page = profile.text
    assert '<html lang="es">' in page and "<title>Monte Patria" in page
    assert "@page" in client.get("/static/mapa/perfil.css").text  # A4 print rules
    assert "<svg" in page and "de 345" in page and "Fuentes y años" in page
    assert OUTSIDE.search(page) is None
    medians = client.get("/mapa/medianas/04.json").json()
    assert set(medians) == {i["id"] for i in client.get("/communes/04303").json()["indicators"]}
    assert client.get("/comunas/99999").status_code == 404


@pytest.mark.postgis
@pytest.mark.realdata
def test_profile_does_not_wait_for_the_lagging_zone_emulation(national_postgis, national_run):
    # A worker that has not computed the emulation yet says where to open it (missing, with a
    # reason) instead of running national travel times inside a profile request.
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url, warm_caches=False))) as fresh:
        page = fresh.get("/comunas/04202").text
    pending = _first_group(r'id="rezago-pendiente">(.*?)</p>', page)
    assert "Sin dato todavía" in pending and 'href="/rezago/04202"' in pending
    assert 'id="rezago-estado"' not in page


@pytest.mark.postgis
@pytest.mark.realdata
def test_profile_shows_the_lagging_zone_emulation_and_the_mesa_portfolio(client):
    lagging = client.get("/rezago/04202").json()
    page = client.get("/comunas/04202").text  # Canela
    portfolio = client.get("/portafolio/04202").json()
    assert "Zonas rezagadas (emulación con datos abiertos)" in page
    assert "Cartera de la Mesa frente a sus brechas" in page
    status = _first_group(r'id="rezago-estado">([^<]*)<', page)
    assert status == html.escape(lagging["commune"]["status"])
    assert html.escape(lagging["disclaimer"]) in page
    for criterion in lagging["criteria"]:
        assert html.escape(criterion["label"]) in page
        assert format_number(criterion["threshold"], 2 if "0–1" in criterion["unit"] else 1) in page
    if lagging["territory"]:
        assert html.escape(lagging["territory"]["names"]) in page
    for challenge in portfolio["challenges"]:
        assert html.escape(challenge["challenge_label"]) in page
        # National ranks out of the communes ranked nationally, not of the region's.
        if challenge["rank"] is not None:
            assert challenge["rank"] <= challenge["ranked"]
            assert rank_of(challenge["rank"], challenge["ranked"]) in page
    for row in portfolio["investments"]:
        assert html.escape(row["typology_label"]) in page
    if portfolio["commune"]["suggestion"]:
        assert html.escape(portfolio["commune"]["suggestion"]) in page
    assert OUTSIDE.search(page) is None


@pytest.mark.postgis
@pytest.mark.realdata
def test_map_offers_the_decision_overlays(client):
    text = client.get("/mapa", params={"desafio": "agua", "region": "04"}).text
    config = json.loads(_first_group(r'id="geogaps-config">(.*?)</script>', text))
    overlays = {o["id"]: o for o in config["overlays"]}
    assert overlays["rezago"]["label"] == "Zonas rezagadas (emulación)"
    assert overlays["sitios"]["label"] == "Sitios propuestos (APS, 60 min)"
    assert config["siting_query"] == {"facility": "primary", "new": "5", "minutes": "60"}
    assert 'id="geogaps-overlay-notes"' in text
    rezago = client.get(overlays["rezago"]["url"], params={"region": "04"}).json()
    assert {row["cut"][:2] for row in rezago["communes"]} == {"04"}


def test_unstable_means_uncertain_membership_of_the_top_tier():
    assert is_unstable(1, 0.79) and not is_unstable(1, 0.8)
    assert is_unstable(3, 0.21) and not is_unstable(3, 0.2)
    assert not is_unstable(None, 0.5) and not is_unstable(2, None)


def test_accessibility_overlay_speaks_spanish_at_the_commune():
    access = pd.DataFrame(
        {
            "cut": ["04303", "04303", "99999"],
            "facility": ["primary", "hospital", "primary"],
            "rural_minutes_mean": [42.4, None, 10.0],
            "rural_share_beyond_60_minutes": [0.125, None, 0.0],
        }
    )
    collection = accessibility_features(
        access, {"04303": (-70.9, -30.7)}, {"04303": "Monte Patria"}
    )
    features = collection["features"]
    assert len(features) == 2  # the unknown commune has no place on the map
    first = features[1]["properties"]  # sorted by commune then destination: primary last
    assert first["title"] == "Accesibilidad · Monte Patria"
    assert first["lines"] == [
        "Destino: atención primaria",
        "Minutos (media rural): 42",
        "Población rural a más de 60 min: 12 %",
    ]
    assert features[0]["properties"]["lines"][1] == "Minutos (media rural): sin dato"
