"""``geogaps sensitivity`` / ``geogaps audit`` and ``GET /sensitivity`` / ``GET /audit`` on the
real data in PostGIS (the national test database, read-only)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from analysis import load_catalogue
from geo_service.app import create_app
from geo_service.settings import Settings
from tests.cli_runner import run_geogaps

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def url(national_postgis) -> str:
    return national_postgis.engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def client(url):
    with TestClient(create_app(Settings(database_url=url))) as test_client:
        yield test_client


def test_sensitivity_command_prints_the_sobol_table_and_writes_the_chart(
    url: str, tmp_path: Path
) -> None:
    out = tmp_path / "sobol.csv"
    done = run_geogaps(
        "sensitivity",
        "--region",
        "04",
        "--samples",
        "32",
        "--out",
        str(out),
        env={"GEOGAPS_DATABASE_URL": url},
    )
    assert done.returncode == 0, done.stderr
    assert "Sensibilidad de los lugares — compuesto, región 04" in done.stdout
    assert "Agregación" in done.stdout and "ST" in done.stdout
    table = pd.read_csv(out)
    assert list(table.columns) == ["input", "label", "output", "S1", "S1_conf", "ST", "ST_conf"]
    challenges = load_catalogue().challenge_ids
    assert {f"peso_{c}" for c in challenges} <= set(table["input"])
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_audit_command_reports_each_challenge(url: str) -> None:
    done = run_geogaps("audit", "--region", "04", env={"GEOGAPS_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    assert "Auditoría de coherencia — región 04" in done.stdout
    for challenge in load_catalogue().challenges:
        assert challenge.label in done.stdout


def test_sensitivity_and_audit_routes(client) -> None:
    response = client.get(
        "/sensitivity", params={"region": "04", "challenge": "rural_urbano", "samples": 32}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "región 04" and body["evaluations"] == 32 * (
        len({row["input"] for row in body["indices"]}) + 2
    )
    assert {"peso_pobreza_ingresos_pct", "estimacion_pobreza_ingresos_pct"} <= {
        row["input"] for row in body["indices"]
    }
    chart = client.get("/sensitivity", params={"region": "04", "samples": 16, "format": "png"})
    assert chart.headers["content-type"] == "image/png"
    unknown = client.get("/sensitivity", params={"challenge": "vivienda"})
    assert unknown.status_code == 422 and "vivienda" in unknown.json()["detail"][0]["msg"]
    assert client.get("/sensitivity", params={"samples": 100}).status_code == 422

    audit = client.get("/audit", params={"region": "04"})
    assert audit.status_code == 200
    report = audit.json()
    assert report["scope"] == "región 04"
    assert {row["challenge"] for row in report["challenges"]} == set(load_catalogue().challenge_ids)
    # Every flag raised on Coquimbo is explained in the shipped catalogue.
    assert all(flag["documented"] for flag in report["flags"])
    paths = client.get("/openapi.json").json()["paths"]
    assert "Sobol" in paths["/sensitivity"]["get"]["summary"]
