"""The HTTP API against the national PostGIS store, built with explicit settings."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import SecretStr

from geo_service.app import create_app
from geo_service.settings import Settings
from layers.stores import EmbeddedStore

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]


@pytest.fixture(scope="module")
def client(national_postgis):
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url))) as test_client:
        yield test_client


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_datasets_list_provenance(client, national_postgis):
    body = client.get("/datasets", params={"limit": 5}).json()
    assert body["total"] == len(national_postgis.provenance())
    assert len(body["datasets"]) == 5 and body["next"] is not None
    assert all(len(row["sha256"]) == 64 for row in body["datasets"])


def test_layer_as_geojson_filtered_by_region(client):
    response = client.get("/layers/apr_systems", params={"region": "11"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    features = response.json()["features"]
    assert len(features) == 14
    assert {f["properties"]["cut"] for f in features} == {"11101"}


def test_tabular_layer_as_records(client):
    body = client.get("/layers/huella_presence").json()
    assert body["total"] == len(body["rows"]) == 55
    assert body["next"] is None


def test_unknown_layer_and_bad_region(client):
    assert client.get("/layers/rivers").status_code == 404
    assert client.get("/layers/communes", params={"region": "99"}).status_code == 422


def test_scores_of_the_newest_run(client, national_postgis):
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring

    record = run_scoring(national_postgis, ScoringParameters(region="04", draws=50, seed=3))
    body = client.get("/scores", params={"challenge": "agua", "run_id": record.run.run_id})
    assert body.status_code == 200
    payload = body.json()
    assert payload["run"]["result_sha256"] == record.run.result_sha256
    ranks = [row["rank"] for row in payload["scores"]]
    assert len(ranks) == 15 and ranks[0] == 1
    assert ranks == sorted(ranks)
    assert client.get("/scores", params={"challenge": "salud"}).status_code == 422
    assert client.get("/scores", params={"run_id": "nope"}).status_code == 422
    assert client.get("/scores", params={"run_id": "0" * 64}).status_code == 404


def test_scores_from_the_embedded_store_have_json_types(national_embedded):
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring

    record = run_scoring(national_embedded, ScoringParameters(region="11", draws=20, seed=4))
    settings = Settings(database_url=None, store_dir=national_embedded.root)
    with TestClient(create_app(settings)) as embedded_client:
        payload = embedded_client.get("/scores", params={"run_id": record.run.run_id}).json()
    assert payload["run"]["seed"] == 4
    assert payload["run"]["created_at"].startswith(str(record.run.created_at.year))
    assert {row["cut"][:2] for row in payload["scores"]} == {"11"}


# -- the serving API on the national PostGIS store -------------------------------------------


@pytest.fixture(scope="module")
def national_run(national_postgis):
    """A national run (few draws) stored, then a regional run stored after it."""
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring

    national = run_scoring(national_postgis, ScoringParameters(draws=20, seed=5))
    run_scoring(national_postgis, ScoringParameters(region="04", draws=20, seed=6))
    return national.run


def test_ready_answers_when_the_database_is_up(client):
    assert client.app.state.warm_up.wait(timeout=300)
    assert client.get("/ready").json() == {"status": "ready"}


def test_layers_are_paginated_with_total_and_next(client):
    first = client.get("/layers/localities", params={"limit": 1000}).json()
    assert first["total"] > 1000 and len(first["rows"]) == 1000
    following = client.get(first["next"].replace("http://testserver", "")).json()
    assert following["offset"] == 1000
    assert following["rows"][0] != first["rows"][0]


def test_layer_bbox_returns_only_intersecting_features(client):
    box = (-71.6, -32.6, -70.5, -32.0)
    body = client.get(
        "/layers/apr_systems", params={"bbox": ",".join(map(str, box)), "limit": 10_000}
    ).json()
    assert body["numberMatched"] == len(body["features"]) > 0
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert box[0] <= lon <= box[2] and box[1] <= lat <= box[3]
    assert client.get("/layers/apr_systems", params={"bbox": "1,2,3"}).status_code == 422
    assert client.get("/layers/huella_presence", params={"bbox": "0,0,1,1"}).status_code == 422


def test_regional_run_never_replaces_the_national_run(client, national_run):
    body = client.get("/scores", params={"challenge": "agua"}).json()
    assert body["run"]["run_id"] == national_run.run_id
    assert body["run"]["scope"] == "nacional"
    assert body["total"] == national_run.ranked_counts["agua"] or body["total"] == 345
    runs = client.get("/runs").json()
    assert {"nacional", "04"} <= {run["scope"] for run in runs["runs"]}
    assert client.get(f"/runs/{national_run.run_id}").json()["scope"] == "nacional"
    regional = client.get("/runs", params={"scope": "04"}).json()
    assert all(run["scope"] == "04" for run in regional["runs"])


def test_scores_rows_carry_name_and_both_ranks(client, national_run):
    body = client.get("/scores", params={"challenge": "agua", "region": "04", "limit": 5}).json()
    assert body["total"] == 15 and len(body["scores"]) == 5
    assert body["next"] is not None
    for row in body["scores"]:
        assert row["name"] and row["cut"].startswith("04")
        assert row["national_total"] == national_run.ranked_counts["agua"]
        assert row["rank_label"] == f"{row['rank']} de {row['national_total']}"
        assert row["region_total"] == 15
        assert row["rank_region_label"] == f"{row['rank_region']} de 15"
    national_ranks = [row["rank"] for row in body["scores"]]
    assert national_ranks == sorted(national_ranks)


def test_communes_list_and_profile(client, national_run):
    listing = client.get("/communes", params={"region": "04", "limit": 10}).json()
    assert listing["total"] == 15 and len(listing["communes"]) == 10
    profile = client.get("/communes/4303").json()
    assert profile["name"] == "Monte Patria" and profile["cut"] == "04303"
    assert profile["run"]["run_id"] == national_run.run_id
    assert profile["data_changed"] is None
    units = {indicator["id"]: indicator["unit"] for indicator in profile["indicators"]}
    assert units and all(units.values())
    assert all(indicator["source"] and "year" in indicator for indicator in profile["indicators"])
    challenges = {row["challenge"] for row in profile["scores"]}
    assert challenges == set(national_run.ranked_counts)
    ranked = [row for row in profile["scores"] if row["rank"] is not None]
    assert ranked
    for row in ranked:
        assert row["region_total"] == 15 and row["label"]
        assert row["rank_label"] == f"{row['rank']} de {row['national_total']}"
        assert "rank_p05" in row and "top_tier_share" in row
    assert "Monte Patria" in profile["explanation"]
    # The APR layer does not cover Monte Patria: no count (null, with the reason), never 0.
    assert profile["apr"]["systems"] is None and "no cubre esta comuna" in profile["apr"]["reason"]
    assert isinstance(profile["facilities"], dict)
    assert isinstance(profile["huella_local"]["present"], bool)
    missing = client.get("/communes/99999")
    assert missing.status_code == 404 and "99999" in missing.json()["detail"]


def test_priorities_are_ranked_within_the_region(client, national_run):
    body = client.get("/priorities", params={"region": "04", "challenge": "agua", "top": 5}).json()
    rows = body["priorities"]
    assert len(rows) == 5
    assert [row["rank_region"] for row in rows] == sorted(row["rank_region"] for row in rows)
    assert all(row["explanation"] and row["interval_label"] for row in rows)
    assert client.get("/priorities", params={"challenge": "salud"}).status_code == 422


def test_gaps_computed_on_request_and_cached(client, national_run):
    # Uncached at first whatever the order: the module's database and app are its own, and no
    # other test of the module asks for these weights.
    params = {
        "region": "04",
        "challenge": "agua",
        "weights": "agua:2,conectividad:1,agua_sin_red_publica:0.5",
    }
    first = client.get("/gaps", params=params).json()
    again = client.get("/gaps", params=params).json()
    assert first["cached"] is False and again["cached"] is True
    assert first["scores"] == again["scores"]
    assert first["total"] == 15
    row = first["scores"][0]
    assert row["rank"] == 1 and row["rank_label"] == "1 de 15" and row["name"]
    assert "rank_p05" not in row
    bad = client.get("/gaps", params={"weights": "agua:2,lluvia:1"})
    assert bad.status_code == 422 and "lluvia" in bad.json()["detail"][0]["msg"]
    assert client.get("/gaps", params={"normalization": "fancy"}).status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"challenge": "compuesto", "weights": "agua:2,conectividad:0.5", "normalization": "zscore"},
        {"region": "04", "weights": "agua_sin_red_publica:3", "aggregation": "geometric"},
    ],
)
def test_gaps_rows_are_the_rows_of_a_full_scoring(client, national_postgis, params):
    # /gaps computes only the scores (no clusters, groups...): its rows, explanations included,
    # are those of a full scoring with the same parameters.
    from analysis import ScoringParameters, score_communes
    from geo_service.api.gaps import LIVE_MORAN_PERMUTATIONS, parse_weights
    from geo_service.services.serving import analysis_inputs

    body = client.get("/gaps", params=params).json()
    caches = client.app.state.caches
    inputs, raw = analysis_inputs(national_postgis, caches, caches.data_state(national_postgis))
    challenge_weights, indicator_weights = parse_weights(params["weights"])
    region = params.get("region")
    full = score_communes(
        inputs,
        ScoringParameters(
            region=region,
            normalization=params.get("normalization", "minmax"),
            aggregation=params.get("aggregation", "arithmetic"),
            draws=0,
            seed=Settings().random_seed,
            challenge_weights=challenge_weights,
            indicator_weights=indicator_weights,
            moran_permutations=LIVE_MORAN_PERMUTATIONS,
        ),
        raw_indicators=raw,
    )
    expected = full.scores.set_index(["cut", "challenge"])
    if "challenge" in params:
        expected = expected[expected.index.get_level_values("challenge") == params["challenge"]]
    assert body["total"] == len(body["scores"]) == len(expected)
    for row in body["scores"]:
        want = expected.loc[(row["cut"], row["challenge"])]
        assert row["explanation"] == want["explanation"]
        assert row["tier_label"] == want["tier_label"] and row["coverage"] == want["coverage"]
        for column in ("score", "rank", "tier", "tier_region"):
            assert row[column] == (None if pd.isna(want[column]) else want[column]), column
        if region is not None:
            assert row["rank_region"] == row["rank"]


def test_gaps_pages_are_slices_of_the_whole_answer(client, national_run):
    # Each page writes its rows' view alone; places shared (ties) are counted over every row.
    params = {"challenge": "agua", "weights": "agua:1.5,agua_fuente_precaria:2"}
    whole = client.get("/gaps", params={**params, "limit": 1000}).json()
    pages = [
        client.get("/gaps", params={**params, "limit": 100, "offset": offset}).json()
        for offset in range(0, whole["total"], 100)
    ]
    assert [row for page in pages for row in page["scores"]] == whole["scores"]
    assert all(page["notes"] == whole["notes"] for page in pages)
    assert whole["total"] == 345 and any(row["view"]["tie"] for row in whole["scores"])


def test_clusters_and_groups_come_from_the_stored_run(client, national_run):
    clusters = client.get("/clusters", params={"challenge": "agua", "limit": 50}).json()
    assert clusters["run"]["run_id"] == national_run.run_id
    assert clusters["total"] == 345 and len(clusters["clusters"]) == 50
    assert {"cut", "moran_i", "p_value", "quadrant"} <= set(clusters["clusters"][0])
    groups = client.get("/groups", params={"challenge": "agua"}).json()
    assert groups["run"]["run_id"] == national_run.run_id
    assert groups["total"] == len(groups["groups"])


def test_exports_in_three_formats(client, national_run, tmp_path):
    import geopandas as gpd

    csv = client.get("/exports/scores.csv", params={"region": "04", "challenge": "agua"})
    assert csv.status_code == 200 and national_run.run_id[:12] in csv.headers["content-disposition"]
    assert len(csv.text.strip().splitlines()) == 16
    geojson = client.get("/exports/scores.geojson", params={"region": "04"}).json()
    assert len(geojson["features"]) == 4 * 15
    gpkg = client.get("/exports/scores.gpkg", params={"region": "04", "challenge": "agua"})
    path = tmp_path / "puntajes.gpkg"
    path.write_bytes(gpkg.content)
    frame = gpd.read_file(path)
    assert len(frame) == 15 and frame.geometry.notna().all()
    assert client.get("/exports/scores.xls").status_code == 422


def test_writes_need_a_configured_key(client, national_postgis, national_run):
    # national_run: the newest national run that GET /scores answers with below.
    assert client.post("/runs", json={"region": "04", "draws": 0}).status_code == 403
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, api_key=SecretStr("secreta"), max_upload_mb=1)
    with TestClient(create_app(settings)) as writer:
        assert writer.post("/runs", json={"region": "04"}).status_code == 401
        headers = {"X-API-Key": "secreta"}
        started = writer.post(
            "/runs", json={"region": "11", "draws": 0, "seed": 9}, headers=headers
        )
        assert started.status_code == 201, started.text
        assert started.json()["run"]["scope"] == "11"
        assert writer.get("/scores").json()["run"]["scope"] == "nacional"
        big = writer.post(
            "/datasets/huella_presence",
            files={"file": ("grande.csv", b"x" * (2 * 1024 * 1024), "text/csv")},
            headers=headers,
        )
        assert big.status_code == 413
        unknown = writer.post(
            "/datasets/rivers", files={"file": ("a.csv", b"a", "text/csv")}, headers=headers
        )
        assert unknown.status_code == 404


def test_json_never_holds_nan(client, national_run):
    text = client.get("/scores", params={"limit": 2000}).text
    assert "NaN" not in text and "Infinity" not in text


def test_responses_are_gzipped(client):
    response = client.get("/layers/localities", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"


def test_the_same_api_on_the_embedded_store(national_embedded):
    from analysis import ScoringParameters
    from geo_service.services.runs import run_scoring

    national = run_scoring(national_embedded, ScoringParameters(draws=10, seed=7)).run
    run_scoring(national_embedded, ScoringParameters(region="05", draws=10, seed=8))
    settings = Settings(database_url=None, store_dir=national_embedded.root)
    app = create_app(settings)
    with TestClient(app) as embedded:
        assert app.state.warm_up.wait(timeout=300)
        assert embedded.get("/ready").json() == {"status": "ready"}
        scores = embedded.get("/scores", params={"challenge": "agua", "region": "04"}).json()
        assert scores["run"]["run_id"] == national.run_id and scores["total"] == 15
        assert scores["scores"][0]["rank_region_label"].endswith("de 15")
        profile = embedded.get("/communes/04303").json()
        assert profile["name"] == "Monte Patria" and profile["scores"]
        gaps = embedded.get("/gaps", params={"region": "04", "challenge": "agua"}).json()
        assert gaps["total"] == 15
        box = "-71.6,-32.6,-70.5,-32.0"
        layer = embedded.get("/layers/apr_systems", params={"bbox": box}).json()
        assert layer["numberMatched"] == len(layer["features"]) > 0
        assert embedded.get("/communes", params={"region": "04"}).json()["total"] == 15
        assert embedded.get("/runs").json()["total"] >= 2


def test_upload_reports_like_load_file(national_embedded, data_dir):
    settings = Settings(
        database_url=None, store_dir=national_embedded.root, api_key=SecretStr("clave")
    )
    content = (data_dir / "huella_local" / "presence_2023.csv").read_bytes()
    with TestClient(create_app(settings)) as writer:
        response = writer.post(
            "/datasets/huella_presence",
            files={"file": ("presence_2023.csv", content, "text/csv")},
            data={"dataset": "presence_2023"},
            headers={"X-API-Key": "clave"},
        )
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["dataset"] == "presence_2023" and report["table_name"] == "huella_presence"
    assert report["rows_loaded"] == 55 and len(report["sha256"]) == 64


def test_profile_says_when_the_data_changed_since_the_run(national_postgis, national_run):
    from geo_service.services.runs import data_changes

    assert data_changes(national_postgis, national_run) is None
    changed = dict(national_run.inputs)
    dataset = sorted(changed)[0]
    changed[dataset] = "0" * 64
    message = data_changes(national_postgis, national_run.model_copy(update={"inputs": changed}))
    assert message is not None and dataset in message and "cambiaron" in message


def _writer(store: EmbeddedStore) -> TestClient:
    """A client of the app over ``store`` that may write (API key ``clave``)."""
    settings = Settings(database_url=None, store_dir=store.root, api_key=SecretStr("clave"))
    return TestClient(create_app(settings))


def _upload_header_only(writer: TestClient, file_name: str, dataset: str | None) -> Response:
    """Upload a presence CSV with no rows as ``file_name`` (under ``dataset`` if given)."""
    return writer.post(
        "/datasets/huella_presence",
        files={"file": (file_name, b"cut,intervention\n", "text/csv")},
        data={"dataset": dataset} if dataset is not None else {},
        headers={"X-API-Key": "clave"},
    )


def test_a_refused_upload_is_listed_with_its_reason(embedded_store):
    with _writer(embedded_store) as writer:
        response = _upload_header_only(writer, "presencia.csv", "presencia")
        assert 400 <= response.status_code < 500, response.text
        listing = writer.get("/datasets").json()
    assert listing["total"] == 0 and listing["datasets"] == []
    [refused] = listing["refused"]
    assert refused["dataset"] == "presencia" and refused["status"] == "refused"
    assert refused["reason"]


def test_an_upload_under_a_name_that_is_not_a_slug_is_refused_and_not_listed(embedded_store):
    with _writer(embedded_store) as writer:
        refused = _upload_header_only(writer, "presencia.csv", "<img src=x onerror=alert(1)>")
        derived = _upload_header_only(writer, "Presencia Ñuble 2024.csv", None)
        listing = writer.get("/datasets").json()
    assert refused.status_code == 422, refused.text
    assert "no es un nombre de conjunto válido" in refused.text
    assert derived.status_code == 409, derived.text  # no communes loaded yet; its name is fine
    # The refusal of the name is recorded, but the name is not shown to every reader.
    assert [r["dataset"] for r in listing["refused"]] == ["Presencia_Nuble_2024"]
    attempts = embedded_store.load_attempts()
    assert "<img src=x onerror=alert(1)>" in set(attempts["dataset"])
