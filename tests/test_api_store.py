"""Filtered reads and stored runs behave the same on PostGIS and the embedded store; runs are
read through indexes whatever their number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from layers.loading.checks import assign_cut_by_location, communes_for_checks
from layers.queries import read_request
from layers.readers import kind_named
from layers.runs import RunConflictError, RunRecord
from layers.stores.base import conform
from layers.stores.postgis_queries import plain_select, select_query
from layers.tables import stored_columns
from layers.validation import ValidationOutcome

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

BOX = (-71.6, -32.6, -70.5, -32.0)


@pytest.mark.parametrize(
    "arguments",
    [
        {"table": "communes", "region": "04", "columns": ["cut", "name"]},
        {"table": "facilities", "cuts": ["04303", "05401"], "order": ["cut", "name"]},
        {"table": "apr_systems", "bbox": BOX, "columns": ["name", "cut", "geom"]},
        {"table": "localities", "limit": 50, "offset": 1000},
        {"table": "huella_presence", "region": "05", "order": ["-cut", "intervention"]},
    ],
)
def test_filtered_reads_match_between_stores(national_postgis, national_embedded, arguments):
    table = arguments.pop("table")
    from_postgis = national_postgis.read(table, **arguments)
    from_embedded = national_embedded.read(table, **arguments)
    assert len(from_postgis) > 0
    assert national_postgis.count(table, **_filters(arguments)) == national_embedded.count(
        table, **_filters(arguments)
    )
    left = pd.DataFrame(from_postgis).drop(columns=["geom"], errors="ignore")
    right = pd.DataFrame(from_embedded).drop(columns=["geom"], errors="ignore")
    pd.testing.assert_frame_equal(left, right)


def _filters(arguments: dict) -> dict:
    return {k: v for k, v in arguments.items() if k in ("region", "cuts", "bbox")}


def test_bad_filters_are_refused(national_postgis):
    with pytest.raises(ValueError, match="la región debe ser un código"):
        national_postgis.read("communes", region="4")
    with pytest.raises(ValueError, match="columnas desconocidas"):
        national_postgis.read("communes", columns=["cut; drop table communes"])
    with pytest.raises(ValueError, match="bbox"):
        national_postgis.read("huella_presence", bbox=(0, 0, 1, 1))


@pytest.mark.parametrize(
    "arguments",
    [
        {"table": "communes", "region": "04", "columns": ["cut", "name", "geom"]},
        {"table": "facilities", "cuts": ["04303", "05401"], "order": ["-cut", "name"]},
        {"table": "localities", "limit": 50, "offset": 1000},
        {"table": "population", "equals": {"year": 2024, "area": "urbana"}, "cuts": []},
        {"table": "dataset_provenance", "equals": {"dataset": "sinim_2022_comunas"}},
        {"table": "territorial_codes", "columns": ["cut"]},
    ],
)
def test_written_out_reads_match_the_sqlalchemy_query(national_postgis, arguments):
    """The reads a load makes skip SQLAlchemy's compiler; they return what its query returns."""
    request = read_request(arguments.pop("table"), **arguments)
    assert plain_select(request) is not None
    with national_postgis.connection() as connection:
        if "geom" in request.columns:
            expected = gpd.read_postgis(select_query(request), connection, crs="EPSG:4326")
        else:
            expected = pd.read_sql(select_query(request), connection)
    expected = conform(expected, request.table, columns=request.columns)
    pd.testing.assert_frame_equal(national_postgis._read(request), expected)


@pytest.mark.parametrize("store_name", ["national_postgis", "national_embedded"])
def test_rows_without_cut_are_placed_among_the_communes_near_them(store_name, request):
    """Reading only the outlines around the rows to place places them as all 345 would."""
    store = request.getfixturevalue(store_name)
    communes = store.read_reference("communes", ["cut", "geom"])
    sample = communes[communes["cut"].isin(["05404", "05405"])]
    inside = list(sample.geometry.representative_point())
    points = gpd.GeoDataFrame(
        {"cut": [None] * (len(inside) + 1), "geom": [*inside, Point(-72.5, -32.2)]},
        geometry="geom",
        crs="EPSG:4326",
    )
    nearby = communes_for_checks(store, kind_named("apr"), points)
    assert nearby is not None and 2 <= len(nearby) < len(communes)
    everywhere, near = ValidationOutcome(), ValidationOutcome()
    expected = assign_cut_by_location(points, communes, everywhere)
    pd.testing.assert_frame_equal(assign_cut_by_location(points, nearby, near), expected)
    assert near.notes == everywhere.notes
    assert list(expected["cut"].iloc[:2]) == list(sample["cut"])
    assert pd.isna(expected["cut"].iloc[2])


def test_bbox_and_region_plans_use_indexes(national_postgis):
    with national_postgis.connection() as connection:
        connection.exec_driver_sql("ANALYZE apr_systems")
        connection.exec_driver_sql("ANALYZE localities")
        connection.commit()
    spatial = national_postgis.explain(select_query(read_request("apr_systems", bbox=BOX)))
    assert "idx_apr_systems_geom" in spatial
    regional = national_postgis.explain(select_query(read_request("localities", region="04")))
    assert "ix_localities_cut" in regional
    for request in (
        read_request("localities", region="04"),
        read_request("localities", cuts=["04303", "05401"]),
    ):
        query, parameters = plain_select(request) or ("", {})
        with national_postgis.connection() as connection:
            plan = connection.exec_driver_sql(f"EXPLAIN {query}", parameters).all()
        assert "ix_localities_cut" in "\n".join(str(row[0]) for row in plan)


def _record(
    run_id: str, created: datetime, scope: str = "nacional", digest: str = "a"
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        scope=scope,
        created_at=created,
        software_version="test",
        seed=1,
        parameters={"region": None if scope == "nacional" else scope},
        inputs={"comunas": "0" * 64},
        result_sha256=digest * 64,
        ranked_counts={"agua": 2},
    )


def _results(run_id: str, cuts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": run_id,
            "cut": cuts,
            "challenge": "agua",
            "name": [f"Comuna {c}" for c in cuts],
            "region_code": [c[:2] for c in cuts],
            "score": 0.5,
            "rank": range(1, len(cuts) + 1),
            "coverage": 1.0,
            "indicators_available": 3,
            "indicators_total": 3,
        }
    ).reindex(columns=stored_columns("score_results"))


@pytest.mark.parametrize("store_name", ["postgis_store", "embedded_store"])
def test_a_stored_run_is_never_overwritten(store_name, request):
    store = request.getfixturevalue(store_name)
    run_id = "f" * 64
    now = datetime.now(UTC)
    tables = {"scores": _results(run_id, ["04303", "04101"])}
    assert store.save_run(_record(run_id, now), _results(run_id, ["04303", "04101"]), tables)
    assert not store.save_run(_record(run_id, now), _results(run_id, ["04303", "04101"]), tables)
    with pytest.raises(RunConflictError, match="nunca se sobrescribe"):
        store.save_run(_record(run_id, now, digest="b"), _results(run_id, ["04303"]))
    assert len(store.run_results(run_id)) == 2
    assert store.run(run_id).result_sha256 == "a" * 64
    pd.testing.assert_frame_equal(store.run_tables(run_id)["scores"], tables["scores"])


@pytest.mark.parametrize("store_name", ["postgis_store", "embedded_store"])
def test_newest_run_is_per_scope(store_name, request):
    store = request.getfixturevalue(store_name)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    store.save_run(_record("1" * 64, start), _results("1" * 64, ["04303"]))
    store.save_run(
        _record("2" * 64, start + timedelta(hours=1), "04"), _results("2" * 64, ["04303"])
    )
    assert store.newest_run().run_id == "1" * 64
    assert store.newest_run("04").run_id == "2" * 64
    assert [r.run_id for r in store.runs()] == ["2" * 64, "1" * 64]
    assert store.count_runs("04") == 1
    with pytest.raises(LookupError):
        store.newest_run("05")


def test_two_hundred_runs_are_read_through_the_indexes(postgis_store):
    cuts = [f"{region:02d}{n:03d}" for region in range(1, 17) for n in range(101, 121)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for number in range(200):
        run_id = f"{number:064x}"
        scope = "nacional" if number % 2 == 0 else "04"
        postgis_store.save_run(
            _record(run_id, start + timedelta(minutes=number), scope), _results(run_id, cuts)
        )
    with postgis_store.connection() as connection:
        connection.exec_driver_sql("ANALYZE score_runs")
        connection.exec_driver_sql("ANALYZE score_results")
        connection.commit()
    newest = postgis_store.newest_run()
    assert newest.run_id == f"{198:064x}"
    from sqlalchemy import select

    from layers.tables import table_named

    runs = table_named("score_runs")
    newest_query = (
        select(runs).where(runs.c.scope == "nacional").order_by(runs.c.created_at.desc()).limit(1)
    )
    assert "ix_score_runs_scope_created" in postgis_store.explain(newest_query)
    page = read_request(
        "score_results",
        region="04",
        order=["challenge", "rank", "cut"],
        equals={"run_id": newest.run_id, "challenge": "agua"},
        limit=10,
    )
    plan = postgis_store.explain(select_query(page))
    assert "Index" in plan and "Seq Scan" not in plan
    assert len(postgis_store.run_results(newest.run_id, region="04")) == 20
    by_id = postgis_store.explain(select(runs).where(runs.c.run_id == newest.run_id))
    assert "score_runs_pkey" in by_id
