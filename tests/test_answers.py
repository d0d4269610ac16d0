"""Answers rendered once: /scores, /priorities and profiles as bytes kept by the worker, with
their ETag (304 on If-None-Match) and their gzip bytes compressed once; the hidden floor route.

Each test reads the newest run and the data state as they are when it runs: two tests store a
newer run or replace a dataset, and the order of the tests is random.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from pydantic import SecretStr

from geo_service.api.responses import (
    GZIP_MINIMUM_SIZE,
    MAX_KEPT_BYTES,
    answer_response,
    rendered_bytes,
)
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.stores import PostgisStore

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

SCORES = "/scores?challenge=agua&region=04"
PRIORITIES = "/priorities?region=04"
PROFILE = "/communes/04303"
ROUTES = (SCORES, PRIORITIES, PROFILE)
PLAIN = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture(scope="module")
def served(national_postgis: PostgisStore) -> Iterator[tuple[FastAPI, TestClient]]:
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring

    run_scoring(national_postgis, ScoringParameters(draws=10, seed=31))
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, warm_caches=False, api_key=SecretStr("clave"))
    app = create_app(settings)
    with TestClient(app) as client:
        yield app, client


@pytest.fixture
def client(served: tuple[FastAPI, TestClient]) -> TestClient:
    return served[1]


def _etag(client: TestClient, path: str) -> str:
    response = client.get(path, headers=GZIP)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


@pytest.mark.parametrize("path", ROUTES)
def test_an_answer_the_client_holds_is_not_sent_again(client, path):
    for headers in (GZIP, PLAIN):
        first = client.get(path, headers=headers)
        tag = first.headers["etag"]
        assert first.status_code == 200 and tag.startswith('"') and tag.endswith('"')
        again = client.get(path, headers={**headers, "If-None-Match": tag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == tag and again.headers["vary"] == "Accept-Encoding"
        other = client.get(path, headers={**headers, "If-None-Match": '"otra", W/"mas"'})
        assert other.status_code == 200 and other.content == first.content


@pytest.mark.parametrize("path", ROUTES)
def test_the_gzip_answer_is_the_plain_answer_compressed(client, path):
    plain = client.get(path, headers=PLAIN)
    with client.stream("GET", path, headers=GZIP) as streamed:
        compressed = b"".join(streamed.iter_raw())
        headers = streamed.headers
    assert "content-encoding" not in plain.headers
    assert headers["content-encoding"] == "gzip" and int(headers["content-length"]) == len(
        compressed
    )
    # One Vary each: GZipMiddleware neither compressed the gzip bytes again nor added its own.
    assert headers.get_list("vary") == plain.headers.get_list("vary") == ["Accept-Encoding"]
    assert gzip.decompress(compressed) == plain.content
    assert headers["etag"] != plain.headers["etag"]  # one strong ETag per encoding
    assert plain.json()["run"]["run_id"]


def test_a_kept_answer_is_sent_without_reading_the_store_again(served):
    app, client = served
    caches = app.state.caches
    first = client.get(SCORES, headers=PLAIN).json()
    run_id = first["run"]["run_id"]
    key = ("agua", "04", 500, 0)  # a last page: no `next`, nothing of the host in its bytes
    assert caches.get("scores_answer", key, state=run_id).body == client.get(SCORES).content
    # Whatever the worker keeps under the key is what it sends: nothing is read nor rendered.
    caches.put("scores_answer", key, rendered_bytes(b'{"guardada":true}'), state=run_id)
    assert client.get(SCORES).json() == {"guardada": True}
    caches.forget("scores_answer")
    assert client.get(SCORES, headers=PLAIN).json() == first

    profile = client.get(PROFILE).json()
    state = caches.data_state(app.state.store)
    profile_key = (profile["run"]["run_id"], "04303")
    assert (
        caches.get("profile_answer", profile_key, state=state).body == client.get(PROFILE).content
    )


def test_a_last_page_is_kept_for_every_host_and_a_page_with_next_under_its_url(served):
    app, client = served
    caches = app.state.caches
    last = client.get(SCORES, headers=PLAIN)
    run_id = last.json()["run"]["run_id"]
    assert last.json()["next"] is None
    # The warm-up asks in-process (another host): a browser must get the entry it filled.
    elsewhere = client.get(f"http://mapa.example{SCORES}", headers=PLAIN)
    assert elsewhere.content == last.content
    assert caches.holds("scores_answer", ("agua", "04", 500, 0), state=run_id)

    paged = client.get(SCORES.replace("region=04", "limit=5"), headers=PLAIN)
    assert paged.json()["next"].startswith("http://testserver/")
    assert caches.holds("scores_answer", (*("agua", None, 5, 0), str(paged.url)), state=run_id)
    assert not caches.holds("scores_answer", ("agua", None, 5, 0), state=run_id)
    other = client.get(f"http://mapa.example{SCORES.replace('region=04', 'limit=5')}").json()
    assert other["next"].startswith("http://mapa.example/")


def test_an_answer_too_large_to_keep_is_rendered_for_each_request(served):
    app, client = served
    page = client.get("/scores", params={"limit": 2000}, headers=PLAIN)
    assert len(page.content) > MAX_KEPT_BYTES and page.json()["total"] == len(page.json()["scores"])
    run_id = page.json()["run"]["run_id"]
    for key in ((None, None, 2000, 0), (None, None, 2000, 0, str(page.url))):
        assert not app.state.caches.holds("scores_answer", key, state=run_id)
    again = client.get(page.url, headers={**PLAIN, "If-None-Match": page.headers["etag"]})
    assert again.status_code == 304


def test_a_newer_run_changes_every_run_answer(national_postgis, served):
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring

    app, client = served
    before = {path: _etag(client, path) for path in ROUTES}
    old_run = client.get(SCORES).json()["run"]["run_id"]
    newer = run_scoring(national_postgis, ScoringParameters(draws=10, seed=32)).run
    app.state.caches.forget_recent()  # what POST /runs does after storing a run
    for path in ROUTES:
        response = client.get(path, headers={**GZIP, "If-None-Match": before[path]})
        assert response.status_code == 200 and response.headers["etag"] != before[path]
        assert response.json()["run"]["run_id"] == newer.run_id
    # The older run, asked for by id, still has its own answer.
    asked = f"{SCORES}&run_id={old_run}"
    assert _etag(client, asked) == before[SCORES]
    assert client.get(asked, headers={**GZIP, "If-None-Match": before[SCORES]}).status_code == 304


def test_a_profile_follows_the_data_state(national_postgis, served, data_dir: Path):
    app, client = served
    before = client.get("/communes/02202")
    assert before.json()["huella_local"]["present"] is True
    # Ollagüe leaves Huella Local: the presence table is replaced by one without it.
    source = (data_dir / "huella_local" / "presence_2023.csv").read_text(encoding="utf-8")
    lines = [line for line in source.splitlines() if not line.startswith("02202,")]
    assert len(lines) == len(source.splitlines()) - 1
    state = app.state.caches.data_state(national_postgis)
    uploaded = client.post(
        "/datasets/huella_presence",
        files={"file": ("presence_2023_b.csv", "\n".join(lines).encode(), "text/csv")},
        data={"dataset": "presence_2023_b", "replaces": "presence_2023"},
        headers={"X-API-Key": "clave"},
    )
    assert uploaded.status_code == 201, uploaded.text
    after = client.get("/communes/02202", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert after.json()["huella_local"]["present"] is False
    assert "presence_2023" in after.json()["data_changed"]
    assert app.state.caches.data_state(national_postgis) != state


def test_rendered_routes_keep_their_documentation(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/scores", "/priorities", "/communes/{cut}"):
        responses = paths[path]["get"]["responses"]
        assert responses["200"]["content"]["application/json"]["schema"]["type"] == "object"
        assert "304" in responses and "ETag" in paths[path]["get"]["description"]
    example = paths["/scores"]["get"]["responses"]["200"]["content"]["application/json"]
    assert example["example"]["scores"][0]["rank_region_label"] == "2 de 15"


def _answering(content: bytes) -> TestClient:
    """A bare app whose one route answers ``content`` as a rendered answer (as /scores does)."""
    app = FastAPI()
    answer = rendered_bytes(content)

    @app.get("/respuesta")
    async def respond(request: Request) -> Response:
        return answer_response(request, answer)

    return TestClient(app)


def test_a_rendered_answer_is_gzipped_once_and_held_with_304():
    large = b'{"filas":[' + b",".join(b'{"n":%d}' % n for n in range(400)) + b"]}"
    assert len(large) >= GZIP_MINIMUM_SIZE
    with _answering(large) as client:
        with client.stream("GET", "/respuesta", headers=GZIP) as streamed:
            assert gzip.decompress(b"".join(streamed.iter_raw())) == large
            tag = streamed.headers["etag"]
        held = client.get("/respuesta", headers={**GZIP, "If-None-Match": tag})
        assert held.status_code == 304 and held.content == b""
        plain = client.get("/respuesta", headers=PLAIN)
        # Its own ETag: a cache must not answer one encoding with the other's bytes.
        assert plain.content == large and plain.headers["etag"] != tag


def test_a_small_rendered_answer_stays_plain():
    with _answering(b'{"piso":1}') as client:
        response = client.get("/respuesta", headers=GZIP)
    assert response.content == b'{"piso":1}' and "content-encoding" not in response.headers
    assert "vary" not in response.headers and response.headers["etag"]


def test_an_answer_asked_by_many_at_once_is_rendered_once():
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from geo_service.api.responses import kept_answer
    from geo_service.services.cache import Caches

    caches = Caches()
    renders: list[int] = []
    clients = 8
    together = Barrier(clients)

    def content() -> dict[str, int]:
        renders.append(1)
        return {"filas": 15}

    def ask(_: int) -> bytes:
        together.wait()  # every client asks while the answer is missing
        return kept_answer(caches, "scores_answer", ("agua", "04"), "corrida-2", content).body

    with ThreadPoolExecutor(clients) as pool:
        bodies = set(pool.map(ask, range(clients)))
    assert bodies == {b'{"filas":15}'} and len(renders) == 1
    assert not caches._making  # nothing left behind once every client has its answer


def test_scores_read_the_run_notes_alone_and_show_the_stored_notes(served):
    from geo_service.services.runs import stored_result

    app, client = served
    caches = app.state.caches
    caches.forget("scores_answer", "run_result", "run_notes")
    body = client.get("/scores", params={"challenge": "agua", "limit": 5}, headers=PLAIN).json()
    run = app.state.store.run(body["run"]["run_id"])
    # The page was written without reading the run's other stored tables.
    assert caches.holds("run_notes", run.run_id) and not caches.holds("run_result", run.run_id)
    notes = stored_result(app.state.store, run).notes
    expected = dict(zip(notes["challenge"], notes["note"], strict=True))
    assert body["notes"] == {k: v for k, v in expected.items() if k == "agua"}
