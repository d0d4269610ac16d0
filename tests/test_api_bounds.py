"""The API's bounds: unknown parameters, weights, upload names, documented statuses.

Each answer a client can get is a Spanish sentence with a 4xx that names what is wrong, never a
500 and never a silent default (a misspelt ``regoin=04`` answering for the whole country).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from geo_service.app import create_app
from geo_service.settings import Settings
from layers.stores import EmbeddedStore


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The API over an empty embedded store, writes enabled with key ``clave``."""
    EmbeddedStore(tmp_path / "almacen")  # made by `geogaps load`; serving never makes one
    settings = Settings(
        database_url=None,
        store_dir=tmp_path / "almacen",
        api_key=SecretStr("clave"),
        warm_caches=False,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "path", ["/health", "/communes", "/scores", "/gaps", "/datasets", "/runs", "/priorities"]
)
def test_unknown_query_parameters_are_refused_naming_them(client: TestClient, path: str) -> None:
    response = client.get(path, params={"regoin": "04"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "regoin" in detail and "parámetro desconocido" in detail


def test_declared_parameters_still_pass(client: TestClient) -> None:
    response = client.get("/communes", params={"region": "04", "limit": 5, "offset": 0})
    assert response.status_code == 200 and response.json()["total"] == 0


def test_pages_keep_their_own_parameters(client: TestClient) -> None:
    # The map reads `pesos` from its own URL; pages are not part of the API contract.
    response = client.get("/mapa", params={"desafio": "agua", "pesos": "agua:2"})
    assert response.status_code == 404  # no stored run yet: the page says what to do
    assert "geogaps score" in response.json()["detail"]


@pytest.mark.parametrize(
    "weights", ["agua:1e308", "agua:1001", "agua:-1", "agua:nan", "agua:inf", "agua:uno"]
)
def test_weights_are_finite_and_bounded(client: TestClient, weights: str) -> None:
    response = client.get("/gaps", params={"weights": weights})
    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    assert "agua" in message and "errors.pydantic.dev" not in message


def test_run_weights_are_bounded(client: TestClient) -> None:
    response = client.post(
        "/runs",
        headers={"X-API-Key": "clave"},
        json={"challenge_weights": {"agua": 1e308}, "draws": 0},
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "name", ["..", ".", "x" * 300 + ".csv", "../../fuera.csv", "a/b.csv", ".oculto.csv", "sin"]
)
def test_upload_names_never_reach_the_filesystem(
    client: TestClient, tmp_path: Path, name: str
) -> None:
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    response = client.post(
        "/datasets/apr",
        headers={"X-API-Key": "clave"},
        files={"file": (name, b"nombre,latitud,longitud\nA,-33.0,-71.0\n", "text/csv")},
    )
    assert response.status_code == 422
    assert "nombre de archivo no válido" in response.json()["detail"][0]["msg"]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_every_route_documents_the_common_statuses(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    common = {"400", "404", "500", "503"}
    missing = {
        f"{method.upper()} {path}": sorted(common - set(operation["responses"]))
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert not {label: codes for label, codes in missing.items() if codes}


@pytest.mark.postgis
@pytest.mark.realdata
def test_weights_that_leave_no_score_are_refused(national_postgis) -> None:
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, warm_caches=False)
    with TestClient(create_app(settings)) as national:
        response = national.get(
            "/gaps",
            params={"region": "04", "weights": "agua:0,conectividad:0,rural_urbano:0"},
        )
    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    assert "peso" in message and "errors.pydantic.dev" not in message


def _serving(store_dir: Path) -> TestClient:
    settings = Settings(
        database_url=None, store_dir=store_dir, api_key=SecretStr("clave"), warm_caches=False
    )
    return TestClient(create_app(settings))


def _upload(client: TestClient) -> int:
    response = client.post(
        "/datasets/apr",
        headers={"X-API-Key": "clave"},
        files={"file": ("apr.csv", b"nombre,latitud,longitud\nA,-33.0,-71.0\n", "text/csv")},
    )
    return response.status_code


def test_a_missing_embedded_store_is_unavailable_and_never_created(tmp_path: Path) -> None:
    missing = tmp_path / "no_existe"
    with _serving(missing) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503 and "GEOGAPS_STORE_DIR" in ready.json()["reason"]
        assert str(tmp_path) not in ready.text  # what is unavailable, not where
        communes = client.get("/communes")
        assert communes.status_code == 503 and "geogaps load" in communes.json()["detail"]
        assert client.get("/collections/comunas/items").status_code == 503
        assert _upload(client) == 503
    assert not missing.exists()


def test_a_store_moved_away_while_serving_answers_503(tmp_path: Path) -> None:
    folder = tmp_path / "almacen"
    EmbeddedStore(folder)  # what `geogaps load` makes
    with _serving(folder) as client:
        assert client.get("/ready").status_code == 200
        assert client.get("/communes").json()["total"] == 0
        folder.rename(tmp_path / "movido")
        assert client.get("/ready").status_code == 503
        assert client.get("/communes").status_code == 503
        assert client.get("/communes/04303").status_code == 503  # not "comuna desconocida"
        assert _upload(client) == 503
    assert not folder.exists()


@pytest.mark.parametrize(
    "path",
    ["/collections/comunas/items", "/collections/apr/items", "/communes", "/datasets", "/runs"],
)
def test_offsets_are_bounded_before_any_database(client: TestClient, path: str) -> None:
    response = client.get(path, params={"offset": "9223372036854775808"})
    assert response.status_code == 422


def test_an_empty_ogc_page_is_an_empty_collection(client: TestClient) -> None:
    for query in ({"offset": 9_000_000}, {"bbox": "10,10,11,11"}):
        page = client.get("/collections/comunas/items", params=query)
        assert page.status_code == 200, page.text
        assert page.json()["features"] == [] and page.json()["numberReturned"] == 0
