"""The ETag of a vector tile follows the data state and the newest national run.

A module of its own: it reloads the communes and adds a run, which the other tile tests' store
must not see.
"""

from __future__ import annotations

from collections.abc import Iterator

import mapbox_vector_tile  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from analysis import ScoringParameters
from geo_service.app import create_app
from geo_service.services.runs import run_scoring
from geo_service.settings import Settings
from layers.features.tiles import FULL_BAND
from layers.loading import load_file, names_with_accents

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]


@pytest.fixture(scope="module")
def client(national_postgis, tmp_path_factory) -> Iterator[TestClient]:
    """An API client over this module's national PostGIS store, with a national run."""
    run_scoring(national_postgis, ScoringParameters(draws=0, seed=1))
    url = national_postgis.engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, store_dir=tmp_path_factory.mktemp("unused"))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_the_etags_change_when_the_communes_are_reloaded_or_a_run_is_added(
    client, national_postgis, data_dir
):
    store = national_postgis
    url = "/tiles/comunas/6/19/37.pbf"
    before = client.get(url)
    facilities_before = client.get("/tiles/establecimientos_salud/6/19/37.pbf").headers["etag"]
    load_file(
        store,
        "communes",
        data_dir / "boundaries/comunas_chile_345.gpkg",
        force=True,
        context=names_with_accents(data_dir),
    )
    client.app.state.caches.forget_recent()  # what the API's own writes do
    reloaded = client.get(url, headers={"If-None-Match": before.headers["etag"]})
    assert reloaded.status_code == 200, "the old ETag must not hold after a reload"
    assert reloaded.headers["etag"] != before.headers["etag"]
    assert len(mapbox_vector_tile.decode(reloaded.content)["comunas"]["features"]) == len(
        mapbox_vector_tile.decode(before.content)["comunas"]["features"]
    )
    facilities = client.get("/tiles/establecimientos_salud/6/19/37.pbf").headers["etag"]
    assert facilities != facilities_before
    # the reload prepared the communes' tile geometries again, one per zoom band
    with store.connection() as connection:
        prepared = connection.execute(text("SELECT count(*) FROM tile_geometries")).scalar_one()
    assert prepared == store.count_rows("communes") * (FULL_BAND + 1)

    run_scoring(store, ScoringParameters(draws=0, seed=2))
    client.app.state.caches.forget_recent()
    rescored = client.get(url, headers={"If-None-Match": reloaded.headers["etag"]})
    assert rescored.status_code == 200 and rescored.headers["etag"] != reloaded.headers["etag"]
    # the facilities carry no scores: a run leaves their tiles (and ETags) as they were
    assert client.get("/tiles/establecimientos_salud/6/19/37.pbf").headers["etag"] == facilities
