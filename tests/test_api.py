"""The HTTP API against the national PostGIS store, built with explicit settings."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from geo_service.app import create_app
from geo_service.settings import Settings

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]


@pytest.fixture(scope="module")
def client(national_postgis):
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url))) as test_client:
        yield test_client


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_datasets_list_provenance(client, national_postgis):
    body = client.get("/datasets").json()
    assert len(body) == len(national_postgis.provenance())
    assert all(len(row["sha256"]) == 64 for row in body)


def test_layer_as_geojson_filtered_by_region(client):
    response = client.get("/layers/apr_systems", params={"region": "11"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    features = response.json()["features"]
    assert len(features) == 14
    assert {f["properties"]["cut"] for f in features} == {"11101"}


def test_tabular_layer_as_records(client):
    rows = client.get("/layers/huella_presence").json()
    assert len(rows) == 55


def test_unknown_layer_and_bad_region(client):
    assert client.get("/layers/rivers").status_code == 404
    assert client.get("/layers/communes", params={"region": "99"}).status_code == 422


def test_scores_of_the_newest_run(client, national_postgis):
    from analysis import ScoringParameters
    from geo_service.scoring import run_scoring

    record = run_scoring(national_postgis, ScoringParameters(region="04", draws=50, seed=3))
    body = client.get("/scores", params={"challenge": "agua", "run_id": record.run.run_id})
    assert body.status_code == 200
    payload = body.json()
    assert payload["run"]["result_sha256"] == record.run.result_sha256
    ranks = [row["rank"] for row in payload["scores"]]
    assert len(ranks) == 15 and ranks[0] == 1
    assert ranks == sorted(ranks)
    assert client.get("/scores", params={"challenge": "salud"}).status_code == 404
    assert client.get("/scores", params={"run_id": "nope"}).status_code == 404


def test_scores_from_the_embedded_store_have_json_types(national_embedded):
    from analysis import ScoringParameters
    from geo_service.scoring import run_scoring

    record = run_scoring(national_embedded, ScoringParameters(region="11", draws=20, seed=4))
    settings = Settings(database_url=None, store_dir=national_embedded.root)
    with TestClient(create_app(settings)) as embedded_client:
        payload = embedded_client.get("/scores", params={"run_id": record.run.run_id}).json()
    assert payload["run"]["seed"] == 4
    assert payload["run"]["created_at"].startswith(str(record.run.created_at.year))
    assert {row["cut"][:2] for row in payload["scores"]} == {"11"}
