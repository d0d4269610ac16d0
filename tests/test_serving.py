"""What makes the API fast with several workers: connections without Nagle's delay, profiles
stored with the run, /gaps answers shared through the store, caches warmed at start-up."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pandas as pd
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text
from uvicorn.protocols.http.h11_impl import H11Protocol

from analysis import load_catalogue
from geo_service.app import create_app
from geo_service.cli.serve import NoDelayH11Protocol
from geo_service.services.accessibility import land_cover_path
from geo_service.services.cache import Caches
from geo_service.services.eligibility import eligibility_is_ready
from geo_service.services.profiles import (
    PROFILES_TABLE,
    scored_profiles,
    stored_profiles,
    stored_sources,
)
from geo_service.settings import Settings
from layers.stores import EmbeddedStore, PostgisStore


def _served_nodelay(protocol: type[H11Protocol]) -> int:
    """TCP_NODELAY of the server side of a keep-alive connection, with the listening socket
    bound the way ``uvicorn --workers N`` binds it (``Config.bind_socket``, proto 0)."""
    app = FastAPI()

    @app.get("/")
    def root() -> dict[str, str]:
        return {"ok": "sí"}

    config = uvicorn.Config(app, host="127.0.0.1", port=0, http=protocol, log_level="warning")
    listener = config.bind_socket()
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 20
            while True:
                try:
                    assert client.get("/").json() == {"ok": "sí"}
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            connections = list(server.server_state.connections)
            assert connections
            sockets = [c.transport.get_extra_info("socket") for c in connections]
            return min(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_worker_connections_send_at_once():
    # uvicorn's own protocol on a pre-bound socket leaves Nagle on (the 40 ms delay) ...
    assert _served_nodelay(H11Protocol) == 0
    # ... ours switches it off on every connection.
    assert _served_nodelay(NoDelayH11Protocol) == 1


@pytest.fixture(params=["postgis", "embedded"])
def answer_store(request, postgis_store, tmp_path) -> Iterator[PostgisStore | EmbeddedStore]:
    if request.param == "postgis":
        with postgis_store.engine.begin() as connection:
            connection.execute(text("TRUNCATE api_answers"))
        yield postgis_store
    else:
        yield EmbeddedStore(tmp_path / "store")


def test_shared_answers_keep_the_first_and_drop_other_states(answer_store):
    old_state, state, key = "a" * 32, "b" * 32, "c" * 64
    assert answer_store.answer(state, key) is None
    answer_store.keep_answer(old_state, key, b"old")
    assert answer_store.answer(old_state, key) == b"old"
    answer_store.keep_answer(state, "d" * 64, b"first")
    answer_store.keep_answer(state, "d" * 64, b"second")
    assert answer_store.answer(state, "d" * 64) == b"first"
    # An answer of another data state is never served and was dropped.
    assert answer_store.answer(state, key) is None
    assert answer_store.answer(old_state, key) is None


def test_embedded_answers_refuse_names_that_are_not_digests(tmp_path):
    store = EmbeddedStore(tmp_path / "store")
    with pytest.raises(ValueError, match="hex"):
        store.answer("../../etc", "c" * 64)
    with pytest.raises(ValueError, match="hex"):
        store.keep_answer("a" * 32, "../x", b"")


def test_score_records_are_the_cleaned_rows_of_the_frame():
    # records() converts column by column: the same values as cleaning every row of to_dict.
    import numpy as np

    from geo_service.services.rows import clean, records

    frame = pd.DataFrame(
        {
            "cut": ["04303", None, "13101"],
            "rank": pd.Series([1, None, 3], dtype="Int64"),
            "eligible": pd.Series([True, None, False], dtype="boolean"),
            "score": [0.5, np.nan, np.inf],
            "available": np.array([1, 2, 3], dtype=np.int32),
            "flag": [True, False, True],
            "small": np.array([1.5, np.nan, 2.0], dtype=np.float32),
            "when": pd.to_datetime(pd.Series(["2024-01-01", None, "2024-02-03"])),
            "nested": [{"x": np.float64("nan")}, [1, np.int64(2)], None],
        }
    )
    expected = clean(frame.to_dict("records"))
    assert records(frame) == expected
    assert json.dumps(records(frame)) == json.dumps(expected)  # ints stay ints, floats floats
    assert records(frame[[]]) == [{}, {}, {}]


@pytest.fixture(scope="module")
def scored_national(national_postgis):
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring

    return run_scoring(national_postgis, ScoringParameters(draws=20, seed=5))


def _url(store: PostgisStore) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def test_gaps_answer_computed_by_one_worker_is_served_by_another(national_postgis, scored_national):
    # Two apps over one database stand for two server workers (separate caches).
    weight = 1 + int(uuid.uuid4().hex[:6], 16) / 2**24  # a parameter set nobody asked before
    params = {"region": "04", "weights": f"agua:{weight:.6f},conectividad:1"}
    settings = Settings(database_url=_url(national_postgis), warm_caches=False)
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        computed = first.get("/gaps", params=params).json()
        shared = second.get("/gaps", params=params).json()
        again = second.get("/gaps", params={**params, "challenge": "agua", "limit": 5}).json()
    assert computed["cached"] is False and shared["cached"] is True
    assert shared["scores"] == computed["scores"] and shared["total"] == computed["total"] == 60
    assert again["total"] == 15 and len(again["scores"]) == 5 and again["next"]
    assert again["scores"] == [row for row in computed["scores"] if row["challenge"] == "agua"][:5]


def test_the_neighbour_graph_is_built_once_per_data_state_and_scope(
    national_postgis, scored_national, data_dir
):
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring

    settings = Settings(
        database_url=_url(national_postgis), warm_caches=False, api_key=SecretStr("clave")
    )
    app = create_app(settings)
    headers = {"X-API-Key": "clave"}
    with TestClient(app) as writer:
        caches = app.state.caches

        def run(seed: int) -> dict[str, object]:
            body = {"region": "11", "draws": 0, "seed": seed}
            response = writer.post("/runs", json=body, headers=headers)
            assert response.status_code == 201, response.text
            return dict(response.json()["run"])

        first = run(3)
        state = national_postgis.state_key()
        graph = caches.get("scope_graph", "11", state=state)
        assert graph is not None and len(graph.cuts) == 10
        second = run(4)
        assert caches.get("scope_graph", "11", state=state) is graph
        # A run stored with the cached inputs and graph is the run scored from scratch.
        for served, seed in ((first, 3), (second, 4)):
            parameters = ScoringParameters(region="11", draws=0, seed=seed)
            fresh = run_scoring(national_postgis, parameters, save=False).run
            assert (served["run_id"], served["result_sha256"]) == (
                fresh.run_id,
                fresh.result_sha256,
            )
        # A load changes the data state: the graph is built again for the new state.
        content = (data_dir / "huella_local" / "presence_2023.csv").read_bytes()
        loaded = writer.post(
            "/datasets/huella_presence",
            files={"file": ("presence_2023.csv", content, "text/csv")},
            data={"dataset": "presence_2023", "force": "true"},
            headers=headers,
        )
        assert loaded.status_code == 201, loaded.text
        new_state = national_postgis.state_key()
        assert new_state != state and not caches.holds("scope_graph", "11", state=state)
        run(3)
        rebuilt = caches.get("scope_graph", "11", state=new_state)
        assert rebuilt is not None and rebuilt is not graph and rebuilt == graph


def test_profiles_are_stored_with_the_run_and_equal_a_rebuild(national_postgis, scored_national):
    from geo_service.services.runs import stored_result

    run = scored_national.run
    stored = stored_profiles(national_postgis, run)
    assert stored is not None and len(stored) == 345
    sources = stored_sources(national_postgis, run)
    rebuilt = scored_profiles(
        stored_result(national_postgis, run), run, ["04303", "05201"], sources=sources
    )
    for cut, profile in rebuilt.items():
        assert json.loads(stored[cut]) == json.loads(json.dumps(profile))
    monte_patria = json.loads(stored["04303"])
    assert monte_patria["explanation"].startswith("Monte Patria (04303)")
    assert {row["challenge"] for row in monte_patria["scores"]} == set(run.ranked_counts)


def test_a_run_saved_before_profiles_serves_the_same_profile(national_postgis, scored_national):
    run = scored_national.run
    settings = Settings(database_url=_url(national_postgis), warm_caches=False)
    with TestClient(create_app(settings)) as client:
        from_store = client.get("/communes/4303", params={"run_id": run.run_id}).json()
    where = "WHERE run_id = :run AND name = :name"
    keys = {"run": run.run_id, "name": PROFILES_TABLE}
    with national_postgis.engine.begin() as connection:
        kept = connection.execute(
            text(f"SELECT sha256, content FROM score_run_tables {where}"), keys
        ).one()
        connection.execute(text(f"DELETE FROM score_run_tables {where}"), keys)
    try:
        assert stored_profiles(national_postgis, run) is None
        with TestClient(create_app(settings)) as client:
            built = client.get("/communes/4303", params={"run_id": run.run_id}).json()
    finally:
        # Put the table back for the other tests of the module.
        with national_postgis.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO score_run_tables (run_id, name, sha256, content) "
                    "VALUES (:run, :name, :sha256, :content)"
                ),
                {**keys, "sha256": kept.sha256, "content": kept.content},
            )
    assert built == from_store
    assert built["run"]["run_id"] == run.run_id and "Monte Patria" in built["explanation"]


def test_ready_says_warming_until_the_warm_up_ends(national_postgis, scored_national):
    # The warm-up waits for the test to let it go: /ready is 503 for as long as it waits.
    released = threading.Event()

    def held_warm_up(app: FastAPI) -> list[str]:
        # What a real warm-up fills is the first map load test's; here only the gate counts.
        released.wait()
        return ["cachés de prueba"]

    settings = Settings(database_url=_url(national_postgis))
    app = create_app(settings, warm=held_warm_up)
    with TestClient(app) as client:
        try:
            assert client.get("/health").json() == {"status": "ok"}
            warming = client.get("/ready")
            assert warming.status_code == 503 and warming.headers["Retry-After"]
            assert warming.json()["status"] == "warming"
            assert warming.json()["reason"].startswith("calentando cachés: ")
            # Requests are answered meanwhile; they compute what they need themselves.
            assert client.get("/communes/04303").json()["name"] == "Monte Patria"
        finally:
            released.set()  # the app stops only once its warm-up has returned
        assert app.state.warm_up.wait(timeout=300)
        assert client.get("/ready").json() == {"status": "ready"}
        assert app.state.warm_up.filled == ["cachés de prueba"]


def test_the_first_map_load_after_the_warm_up_is_read_from_caches(
    national_postgis, scored_national
):
    settings = Settings(database_url=_url(national_postgis), warm_eligibility=True)
    app = create_app(settings)
    with TestClient(app) as client:
        assert app.state.warm_up.wait(timeout=600)
        assert "primera carga del mapa" in app.state.warm_up.filled
        caches: Caches = app.state.caches
        state = national_postgis.state_key()
        # Other tests may have stored newer national runs: the newest one is warmed.
        run = national_postgis.newest_run()
        assert caches.holds("commune_context", "", state=state)
        assert caches.holds("analysis_inputs", "", state=state)
        assert caches.holds("run_result", run.run_id)
        assert caches.holds("run_profiles", run.run_id)
        assert client.get("/communes/04303").json()["name"] == "Monte Patria"
        composite = load_catalogue().composite_id
        # The page, its outlines, the tiers' ties and every region's medians of the newest run.
        assert caches.holds("page", ("map", run.run_id, composite, ""), state=state)
        for layer in ("outlines", "communes.geojson", "regions.geojson"):
            assert caches.holds("page", layer, state=state)
        assert caches.holds("run_ties", run.run_id)
        regions = {cut[:2] for cut in national_postgis.read("communes", columns=["cut"])["cut"]}
        for region in regions:
            assert caches.holds("page", ("medians", region), state=run.run_id)
        # The commune profile shows Zonas Rezagadas at once, not a link to compute it.
        assert eligibility_is_ready(national_postgis, caches, land_cover=land_cover_path(settings))


def test_a_new_run_is_warmed_in_the_background_while_ready(national_postgis, scored_national):
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring

    app = create_app(Settings(database_url=_url(national_postgis)))
    with TestClient(app) as client:
        warm_up = app.state.warm_up
        assert warm_up.wait(timeout=300)
        warmed = warm_up.finished
        newer = run_scoring(national_postgis, ScoringParameters(draws=20, seed=9)).run
        # The worker stays in rotation: the new run's caches fill behind it.
        assert client.get("/ready").json() == {"status": "ready"}
        assert warm_up.wait_for_warm_ups(warmed + 1, timeout=300)
        composite = load_catalogue().composite_id
        state = national_postgis.state_key()
        assert app.state.caches.holds("page", ("map", newer.run_id, composite, ""), state=state)
        assert app.state.caches.holds("run_result", newer.run_id)


def test_warm_up_skips_what_an_empty_store_cannot_fill(tmp_path):
    EmbeddedStore(tmp_path / "vacio")
    settings = Settings(database_url=None, store_dir=tmp_path / "vacio")
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/communes/04303").status_code == 404
        assert app.state.warm_up.wait(timeout=300)
        assert client.get("/ready").json() == {"status": "ready"}


def test_warm_up_skips_a_missing_store_and_the_server_still_starts(tmp_path):
    settings = Settings(database_url=None, store_dir=tmp_path / "no_existe")
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/communes/04303").status_code == 503
    assert not (tmp_path / "no_existe").exists()


def test_profile_context_counts_match_the_layers(national_postgis, scored_national):
    settings = Settings(database_url=_url(national_postgis), warm_caches=False)
    with TestClient(create_app(settings)) as client:
        profile = client.get("/communes/11101").json()
    apr = national_postgis.read("apr_systems", cuts=["11101"])
    facilities = national_postgis.read("facilities", cuts=["11101"])
    assert profile["apr"]["systems"] == len(apr) == 14
    assert profile["apr"]["beneficiaries"] == pytest.approx(float(apr["beneficiaries"].sum()))
    assert sum(profile["facilities"].values()) == len(facilities)
    projects = national_postgis.read("project_sites", cuts=["11101"])
    if projects.empty:
        # The projects layer does not cover the commune: no count (null, with why), never 0.
        assert profile["projects"]["total"] is None and profile["projects"]["reason"]
        return
    assert profile["projects"]["total"] == len(projects)
    assert profile["projects"]["investment_clp"] == pytest.approx(
        float(pd.to_numeric(projects["total_investment_clp"]).sum())
    )


def test_a_pooled_connection_the_database_dropped_is_replaced(database_url, monkeypatch):
    import layers.stores.postgis_connections

    # Every returned connection counts as idle, so the next checkout pings it.
    monkeypatch.setattr(layers.stores.postgis_connections, "PING_AFTER_IDLE_S", 0.0)
    store, admin = PostgisStore(database_url, pool_size=1), PostgisStore(database_url)
    try:
        with store.reads.connect() as connection:
            first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.reads.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        # The dead connection is found by the ping and swapped before the query sees it.
        with store.reads.connect() as connection:
            second = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
        store.ping()
    finally:
        store.close()
        admin.close()
