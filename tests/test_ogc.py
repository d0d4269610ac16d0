"""OGC API – Features on the real national data, in PostGIS and in the embedded store.

The expected answers are computed independently: from the stores' own tables with shapely, and
from the stored score run. GDAL's OAPIF driver (through pyogrio) reads the service from a
server started on loopback, exactly as QGIS would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import schemathesis
import shapely
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance

from analysis import ScoringParameters, load_catalogue
from geo_service.app import create_app
from geo_service.services.collections import collections
from geo_service.services.runs import run_scoring
from geo_service.settings import Settings

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NATIONAL = ScoringParameters(draws=0, seed=1)
REGIONAL = ScoringParameters(region="04", draws=0, seed=1)
# La Serena, Coquimbo and the Elqui valley
BBOX = (-71.4, -30.2, -70.4, -29.6)


def _settings_for(store: Any, tmp_dir) -> Settings:
    if hasattr(store, "engine"):
        url = store.engine.url.render_as_string(hide_password=False)
        return Settings(database_url=url, store_dir=tmp_dir)
    return Settings(database_url=None, store_dir=store.root)


def _score(store) -> str:
    """Store a national run and, after it, a regional run (which must not replace it)."""
    national = run_scoring(store, NATIONAL)
    run_scoring(store, REGIONAL)
    return str(national.run["run_id"])


@pytest.fixture(scope="module")
def scored_postgis(national_postgis) -> tuple[Any, str]:
    return national_postgis, _score(national_postgis)


@pytest.fixture(scope="module")
def scored_embedded(national_embedded) -> tuple[Any, str]:
    return national_embedded, _score(national_embedded)


@pytest.fixture(scope="module", params=["postgis", "embedded"])
def service(request, tmp_path_factory) -> Iterator[tuple[TestClient, Any, str]]:
    """An API client over one store, the store itself and its national run id."""
    store, run_id = request.getfixturevalue(f"scored_{request.param}")
    app = create_app(_settings_for(store, tmp_path_factory.mktemp("unused")))
    with TestClient(app) as client:
        yield client, store, run_id


def _get(client: TestClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.text
    return response


def _communes(store) -> Any:
    return store.read_table("communes", ["cut", "name", "geom"]).set_index("cut")


def test_landing_page_links_to_openapi_conformance_and_data(service):
    client, _, _ = service
    page = _get(client, "/").json()
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"].endswith("/openapi.json")
    openapi = _get(client, rels["service-desc"]).json()
    for path in (
        "/collections/{collection_id}/items",
        "/collections/{collection_id}/items/{feature_id}",
        "/tiles/{collection_id}/{z}/{x}/{y}.pbf",
        "/tiles/{collection_id}.json",
    ):
        assert path in openapi["paths"]
    items = openapi["paths"]["/collections/{collection_id}/items"]["get"]
    assert "Objetos de la colección" in items["description"]
    bbox = next(p for p in items["parameters"] if p["name"] == "bbox")
    assert "intersectan" in bbox["description"]
    conformance = _get(client, rels["conformance"]).json()["conformsTo"]
    for cls in ("core", "geojson", "oas30"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{cls}" in conformance


def test_collections_describe_every_collection_with_its_computed_extent(service):
    client, store, _ = service
    listed = _get(client, "/collections").json()["collections"]
    assert [c["id"] for c in listed] == list(collections())
    by_id = {c["id"]: c for c in listed}
    expected = _communes(store).geometry.total_bounds
    np.testing.assert_allclose(by_id["comunas"]["extent"]["spatial"]["bbox"][0], expected)
    facilities = store.read_table("facilities", ["category", "geom"])
    health = facilities[facilities["category"] == "salud"].geometry.total_bounds
    np.testing.assert_allclose(
        by_id["establecimientos_salud"]["extent"]["spatial"]["bbox"][0], health
    )
    one = _get(client, "/collections/apr").json()
    assert one["title"] == by_id["apr"]["title"]
    assert any(link["rel"] == "items" for link in one["links"])


def test_next_links_walk_every_commune_once_with_the_national_run_scores(service):
    client, store, run_id = service
    url: str | None = "/collections/comunas/items?limit=100"
    seen: list[dict] = []
    pages = 0
    while url:
        response = _get(client, url)
        assert response.headers["content-type"].startswith("application/geo+json")
        page = response.json()
        assert page["numberMatched"] == 345
        assert page["numberReturned"] == len(page["features"])
        assert page["timeStamp"].endswith("Z")
        assert page["run_id"] == run_id
        rels = {link["rel"] for link in page["links"]}
        assert ("prev" in rels) == (pages > 0)
        seen.extend(page["features"])
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
        pages += 1
    assert pages == 4
    ids = [f["id"] for f in seen]
    assert len(set(ids)) == 345 and ids == sorted(ids)
    assert set(ids) == set(_communes(store).index)
    # scores are those of the national run, not of the regional run stored after it
    _, results = store.read_score_run(run_id)
    catalogue = load_catalogue()
    for challenge in [c.id for c in catalogue.challenges] + [catalogue.composite_id]:
        expected = results[results["challenge"] == challenge].set_index("cut")
        for feature in seen:
            props = feature["properties"]
            assert props["run_id"] == run_id
            row = expected.loc[feature["id"]]
            rank, score = props[f"{challenge}_rank"], props[f"{challenge}_score"]
            assert rank == (None if pd.isna(row["rank"]) else int(row["rank"]))
            assert score == (None if pd.isna(row["score"]) else pytest.approx(row["score"]))
            assert props[f"{challenge}_tier_label"] == row["tier_label"]


def test_bbox_returns_exactly_the_intersecting_communes(service):
    client, store, _ = service
    page = _get(client, "/collections/comunas/items?limit=1000&bbox=" + ",".join(map(str, BBOX)))
    found = {f["id"] for f in page.json()["features"]}
    communes = _communes(store)
    expected = set(communes.index[shapely.intersects(communes.geometry.array, shapely.box(*BBOX))])
    assert found == expected and page.json()["numberMatched"] == len(expected)
    assert "04101" in found  # La Serena


def test_properties_are_selected_and_unknown_ones_refused(service):
    client, _, _ = service
    page = _get(client, "/collections/comunas/items?limit=3&properties=name,agua_rank").json()
    assert all(set(f["properties"]) == {"name", "agua_rank"} for f in page["features"])
    refused = _get(client, "/collections/comunas/items?properties=name,altitud", status=400)
    assert "altitud" in refused.json()["detail"]


def test_unknown_query_parameters_are_a_400_naming_them(service):
    client, _, _ = service
    # OGC API - Features Part 1, /req/core/query-param-unknown; only CRS84 is served.
    for path, name in (
        ("/collections/comunas/items?limite=5", "limite"),
        ("/collections/comunas/items?crs=http://www.opengis.net/def/crs/EPSG/0/32719", "crs"),
        ("/collections/comunas/items/04101?bbox-crs=x", "bbox-crs"),
    ):
        assert name in _get(client, path, status=400).json()["detail"]
    assert _get(client, "/collections/comunas/items?f=json&limit=1").json()["numberReturned"] == 1
    _get(client, "/collections/comunas/items?f=html", status=400)


def test_simplify_and_zoom_reduce_polygon_vertices(service):
    client, _, _ = service

    def vertices(query: str) -> int:
        page = _get(client, f"/collections/comunas/items?limit=20&{query}").json()
        return sum(
            shapely.get_num_coordinates(shapely.geometry.shape(f["geometry"]))
            for f in page["features"]
        )

    full = vertices("properties=cut")
    assert vertices("simplify=0.01") < full / 3
    assert vertices("zoom=5") < vertices("zoom=9") <= full


def test_single_feature_and_404s_that_name_what_is_missing(service):
    client, store, _ = service
    feature = _get(client, "/collections/comunas/items/04101").json()
    assert feature["type"] == "Feature" and feature["id"] == "04101"
    assert feature["properties"]["name"] == _communes(store).loc["04101", "name"]
    assert {link["rel"] for link in feature["links"]} == {"self", "collection"}
    missing = _get(client, "/collections/comunas/items/99999", status=404).json()["detail"]
    assert "99999" in missing
    assert "'nada'" in _get(client, "/collections/nada", status=404).json()["detail"]
    assert "'nada'" in _get(client, "/collections/nada/items", status=404).json()["detail"]
    assert "abc" in _get(client, "/collections/apr/items/abc", status=404).json()["detail"]


@pytest.mark.parametrize(
    "bbox", ["1,2,3", "a,b,c,d", "-70,-30,-71,-29", "-71,-29,-70,-30", "0,0,200,10"]
)
def test_a_bad_bbox_is_a_400_naming_it(service, bbox):
    client, _, _ = service
    response = _get(client, f"/collections/comunas/items?bbox={bbox}", status=400)
    assert "bbox" in response.json()["detail"]


def test_out_of_range_limit_is_refused(service):
    client, _, _ = service
    _get(client, "/collections/comunas/items?limit=0", status=422)
    _get(client, "/collections/comunas/items?limit=10001", status=422)


def test_facility_collections_keep_their_category(service):
    client, store, _ = service
    facilities = store.read_table("facilities", ["category", "source_id", "geom"])
    for collection, category in (
        ("establecimientos_salud", "salud"),
        ("establecimientos_educacionales", "educacion"),
    ):
        expected = facilities[facilities["category"] == category]
        url: str | None = f"/collections/{collection}/items?limit=10000&properties=source_id"
        features: list[dict] = []
        while url:
            page = _get(client, url).json()
            assert page["numberMatched"] == len(expected)
            features.extend(page["features"])
            url = next((ln["href"] for ln in page["links"] if ln["rel"] == "next"), None)
        assert sorted(f["properties"]["source_id"] for f in features) == sorted(
            expected["source_id"]
        )
        first = _get(client, f"/collections/{collection}/items?limit=1").json()["features"][0]
        again = _get(client, f"/collections/{collection}/items/{first['id']}").json()
        assert again["properties"] == first["properties"]


def test_projects_without_coordinates_have_null_geometry(service):
    client, store, _ = service
    projects = store.read_table("project_sites", ["project_id", "geom"])
    page = _get(client, "/collections/proyectos/items?limit=100").json()
    without = {f["id"] for f in page["features"] if f["geometry"] is None}
    assert without == set(projects.loc[projects.geometry.isna(), "project_id"])


# -- GDAL's OAPIF driver against a live server -------------------------------------------------


@pytest.fixture(scope="module")
def live_url(scored_postgis, tmp_path_factory) -> Iterator[str]:
    """The API over the national PostGIS, served by uvicorn on a free loopback port.

    The server runs in its own process: GDAL holds the GIL while it reads, so a server thread
    of the test process could never answer it.
    """
    store, _ = scored_postgis
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "GEOGAPS_DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "GEOGAPS_STORE_DIR": str(tmp_path_factory.mktemp("unused")),
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "geo_service.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{url}/conformance", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gdal_oapif_reads_every_commune_with_its_scores(live_url, scored_postgis):
    assert "OAPIF" in pyogrio.list_drivers()
    store, run_id = scored_postgis
    layers = {name for name, _ in pyogrio.list_layers(f"OAPIF:{live_url}")}
    assert layers == set(collections())
    frame = pyogrio.read_dataframe(f"OAPIF:{live_url}", layer="comunas")
    assert len(frame) == 345 and frame["cut"].is_unique
    assert set(frame["run_id"]) == {run_id}
    _, results = store.read_score_run(run_id)
    composite = results[results["challenge"] == "compuesto"].set_index("cut")["rank"]
    ranks = frame.set_index("cut")["compuesto_rank"]
    ranked = composite.dropna().index
    assert (ranks.loc[ranked].astype(int) == composite.loc[ranked].astype(int)).all()
    communes = _communes(store)
    la_serena = frame.set_index("cut").geometry.loc["04101"]
    assert la_serena.area == pytest.approx(communes.geometry.loc["04101"].area, rel=1e-3)


def test_gdal_oapif_bbox_returns_only_intersecting_communes(live_url, scored_postgis):
    store, _ = scored_postgis
    frame = pyogrio.read_dataframe(f"OAPIF:{live_url}", layer="comunas", bbox=BBOX)
    communes = _communes(store)
    expected = set(communes.index[shapely.intersects(communes.geometry.array, shapely.box(*BBOX))])
    assert set(frame["cut"]) == expected
    assert 0 < len(expected) < 345


# -- the OpenAPI of the OGC routes, property-based ---------------------------------------------

OGC_PATHS = (
    r"^/(|conformance|collections|collections/\{collection_id\}"
    r"|collections/\{collection_id\}/items|collections/\{collection_id\}/items/\{feature_id\}"
    r"|tiles/\{collection_id\}\.json|tiles/\{collection_id\}/\{z\}/\{x\}/\{y\}\.pbf)$"
)


def test_ogc_routes_never_answer_5xx_and_match_their_schema(scored_postgis, tmp_path):
    store, _ = scored_postgis
    # No warm-up, as in test_api_schema: its thread entering and leaving catch_warnings could
    # undo FastAPI's own silencing of a pydantic warning while /openapi.json is built (Python
    # 3.11's warning filters are process-wide), which failed this test once in CI.
    app = create_app(_settings_for(store, tmp_path).model_copy(update={"warm_caches": False}))
    checked = []
    with TestClient(app):  # the lifespan opens the store while the cases run
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        for result in schema.include(path_regex=OGC_PATHS, method="GET").get_all_operations():
            if isinstance(result, Err):
                raise result.err()
            operation = result.ok()

            @given(case=operation.as_strategy())
            @settings(
                max_examples=6,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def call(case):
                case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

            call()
            checked.append(operation.label)
    assert len(checked) == 8, checked
