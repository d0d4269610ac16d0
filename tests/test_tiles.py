"""Vector tiles and TileJSON from PostGIS (ST_AsMVT) and the embedded store (mapbox-vector-tile).

What a tile should hold is computed independently: the store's boundaries projected to Web
Mercator with pyproj and intersected with the tile's bounds from morecantile.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile  # type: ignore[import-untyped]
import morecantile
import numpy as np
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text

from analysis import ScoringParameters
from geo_service.app import create_app
from geo_service.services.runs import run_scoring
from geo_service.settings import Settings
from layers.features import TILE_BUFFER, TILE_EXTENT
from layers.features.prepared import SIMPLIFY_UNITS, prepare_tile_geometries
from layers.features.tiles import FULL_BAND, band_grid

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

TMS = morecantile.tms.get("WebMercatorQuad")
TO_MERCATOR = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
MVT = "application/vnd.mapbox-vector-tile"


@pytest.fixture(scope="module", params=["postgis", "embedded"])
def service(
    request, national_postgis, national_embedded, tmp_path_factory
) -> Iterator[tuple[TestClient, Any, str]]:
    """An API client over one national store with a national run, the store and the run id."""
    store = national_postgis if request.param == "postgis" else national_embedded
    run_id = run_scoring(store, ScoringParameters(draws=0, seed=1)).run["run_id"]
    if request.param == "postgis":
        url = store.engine.url.render_as_string(hide_password=False)
        settings = Settings(database_url=url, store_dir=tmp_path_factory.mktemp("unused"))
    else:
        settings = Settings(database_url=None, store_dir=store.root)
    with TestClient(create_app(settings)) as client:
        yield client, store, run_id


def _mercator(geometries: Any) -> Any:
    return shapely.transform(
        np.asarray(geometries),
        lambda xy: np.column_stack(TO_MERCATOR.transform(xy[:, 0], xy[:, 1])),
    )


def _boxes(tile: morecantile.Tile) -> tuple[Any, Any, float]:
    """The tile's Web Mercator box, the box with the tile buffer, and one tile unit in metres."""
    left, bottom, right, top = TMS.xy_bounds(tile)
    unit = (right - left) / TILE_EXTENT
    pad = unit * TILE_BUFFER
    return (
        shapely.box(left, bottom, right, top),
        shapely.box(left - pad, bottom - pad, right + pad, top + pad),
        unit,
    )


def _decode(client: TestClient, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT
    return mapbox_vector_tile.decode(response.content)


def test_a_coquimbo_tile_holds_the_communes_it_covers(service):
    client, store, run_id = service
    communes = store.read_table("communes", ["cut", "geom"]).set_index("cut")
    centre = communes.geometry.loc["04101"].representative_point()  # La Serena
    tile = TMS.tile(centre.x, centre.y, 7)
    layers = _decode(client, f"/tiles/comunas/{tile.z}/{tile.x}/{tile.y}.pbf")
    assert set(layers) == {"comunas"}
    layer = layers["comunas"]
    assert layer["extent"] == TILE_EXTENT
    found = {f["properties"]["cut"] for f in layer["features"]}

    inner, buffered, unit = _boxes(tile)
    projected = _mercator(communes.geometry.array)
    covered = shapely.area(shapely.intersection(projected, inner)) / unit**2
    # more than a 4 x 4 block of tile units inside the tile: it must be drawn
    must = set(communes.index[covered > 16])
    may = set(communes.index[shapely.intersects(projected, buffered)])
    assert "04101" in must and len(must) >= 10
    assert must <= found <= may
    for feature in layer["features"]:
        coordinates = shapely.get_coordinates(shapely.geometry.shape(feature["geometry"]))
        assert coordinates.min() >= -TILE_BUFFER and coordinates.max() <= TILE_EXTENT + TILE_BUFFER

    la_serena = next(f for f in layer["features"] if f["properties"]["cut"] == "04101")
    _, results = store.read_score_run(run_id)
    agua = results[(results["challenge"] == "agua") & (results["cut"] == "04101")].iloc[0]
    assert la_serena["properties"]["run_id"] == run_id
    assert la_serena["properties"]["agua_rank"] == int(agua["rank"])
    assert la_serena["properties"]["agua_tier_label"] == agua["tier_label"]


def test_a_point_tile_holds_the_health_facilities_inside_it(service):
    client, store, _ = service
    facilities = store.read_table("facilities", ["category", "source_id", "geom"])
    health = facilities[facilities["category"] == "salud"]
    communes = store.read_table("communes", ["cut", "geom"]).set_index("cut")
    centre = communes.geometry.loc["04101"].representative_point()
    tile = TMS.tile(centre.x, centre.y, 10)
    layer = _decode(client, f"/tiles/establecimientos_salud/{tile.z}/{tile.x}/{tile.y}.pbf")
    found = sorted(
        f["properties"]["source_id"] for f in layer["establecimientos_salud"]["features"]
    )

    inner, buffered, _ = _boxes(tile)
    projected = _mercator(health.geometry.array)
    inside = set(health["source_id"][shapely.intersects(projected, inner)])
    near = set(health["source_id"][shapely.intersects(projected, buffered)])
    assert inside and inside <= set(found) <= near
    assert len(found) == len(set(found))  # each facility once


def test_empty_tiles_are_204_and_tiles_outside_the_matrix_404(service):
    client, _, _ = service
    pacific = TMS.tile(-130.0, -40.0, 6)
    response = client.get(f"/tiles/comunas/{pacific.z}/{pacific.x}/{pacific.y}.pbf")
    assert response.status_code == 204 and response.content == b""
    outside = client.get("/tiles/comunas/3/8/0.pbf")
    assert outside.status_code == 404 and "3/8/0" in outside.json()["detail"]
    unknown = client.get("/tiles/calles/3/2/4.pbf")
    assert unknown.status_code == 404 and "calles" in unknown.json()["detail"]


def test_tilejson_points_at_the_tiles_with_the_data_bounds(service):
    client, store, _ = service
    response = client.get("/tiles/comunas.json")
    assert response.status_code == 200, response.text
    tilejson = response.json()
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["tiles"][0].endswith("/tiles/comunas/{z}/{x}/{y}.pbf")
    bounds = store.read_table("communes", ["geom"]).geometry.total_bounds
    np.testing.assert_allclose(tilejson["bounds"], bounds)
    west, south, east, north = TMS.bbox
    assert west <= tilejson["bounds"][0] and tilejson["bounds"][2] <= east
    assert south <= tilejson["bounds"][1] and tilejson["bounds"][3] <= north
    layer = tilejson["vector_layers"][0]
    assert layer["id"] == "comunas"
    assert layer["fields"]["agua_score"] == "Number"
    assert layer["fields"]["name"] == "String"
    z, x, y = tilejson["center"][2], tilejson["center"][0], tilejson["center"][1]
    tile = TMS.tile(x, y, int(z))
    assert client.get(tilejson["tiles"][0].format(z=tile.z, x=tile.x, y=tile.y)).status_code in (
        200,
        204,
    )


def _tipg_rows(store: Any, tile: morecantile.Tile) -> set[str]:
    """The communes tipg 1.6.1 puts in ``tile``, by its own rule, computed in PostGIS.

    tipg keeps the rows whose geometry intersects the tile's bounds without buffer, taken to
    the column's SRID with pyproj's ``transform_bounds``, and ``ST_AsMVT`` drops the rows whose
    ``ST_AsMVTGeom`` (buffer 64, clipped) is NULL.
    """
    left, bottom, right, top = TMS.xy_bounds(tile)
    to_lonlat = pyproj.Transformer.from_crs(3857, 4326, always_xy=True)
    west, south, east, north = to_lonlat.transform_bounds(left, bottom, right, top)
    query = text(
        "SELECT cut FROM communes WHERE ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, "
        "4326)) AND ST_AsMVTGeom(ST_Transform(geom, 3857), ST_MakeEnvelope(:l, :b, :r, :t, "
        f"3857), {TILE_EXTENT}, {TILE_BUFFER}, true) IS NOT NULL"
    )
    bounds = {"w": west, "s": south, "e": east, "n": north}
    bounds |= {"l": left, "b": bottom, "r": right, "t": top}
    with store.connection() as connection:
        return {str(cut) for cut in connection.execute(query, bounds).scalars()}


@pytest.mark.parametrize("zoom", [6, 10])
def test_a_tile_holds_the_communes_tipg_would_put_in_it(service, national_postgis, zoom):
    client, store, _ = service
    communes = store.read_table("communes", ["cut", "geom"]).set_index("cut")
    centre = communes.geometry.loc["04101"].representative_point()  # La Serena, Coquimbo
    tile = TMS.tile(centre.x, centre.y, zoom)
    layer = _decode(client, f"/tiles/comunas/{tile.z}/{tile.x}/{tile.y}.pbf")["comunas"]
    found = [f["properties"]["cut"] for f in layer["features"]]
    expected = _tipg_rows(national_postgis, tile)
    assert "04101" in expected
    assert len(found) == len(expected) and set(found) == expected


def test_a_tile_has_an_etag_and_is_304_while_it_holds(service):
    client, _, _ = service
    url = "/tiles/comunas/6/19/37.pbf"
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert "must-revalidate" in first.headers["cache-control"]
    unchanged = client.get(url, headers={"If-None-Match": f'"otra", W/{etag}'})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    again = client.get(url, headers={"If-None-Match": '"otra"'})
    assert again.status_code == 200 and again.content == first.content
    neighbour = client.get("/tiles/comunas/6/19/38.pbf")
    assert neighbour.headers["etag"] != etag
    empty = client.get("/tiles/comunas/6/10/40.pbf")  # the Pacific
    assert empty.status_code == 204 and "etag" in empty.headers


def test_the_communes_are_prepared_for_every_zoom_band(national_postgis):
    query = text(
        "SELECT p.band, count(*) AS communes, sum(ST_NPoints(p.geom)) AS vertices, "
        "bool_and(ST_IsValid(p.geom)) AS valid, min(ST_SRID(p.geom)) AS srid, "
        "bool_and(p.dataset = c.dataset) AS same_dataset "
        "FROM tile_geometries p JOIN communes c ON c.cut = p.feature_key "
        "WHERE p.table_name = 'communes' GROUP BY p.band ORDER BY p.band"
    )
    with national_postgis.connection() as connection:
        bands = connection.execute(query).mappings().all()
    communes = national_postgis.count_rows("communes")
    assert [row["band"] for row in bands] == list(range(FULL_BAND + 1))
    assert all(row["communes"] == communes for row in bands)
    assert all(row["valid"] and row["srid"] == 3857 and row["same_dataset"] for row in bands)
    # the zoom 6 band keeps far fewer vertices than the full geometries it comes from
    assert bands[6]["vertices"] < bands[FULL_BAND]["vertices"] / 2


def test_the_prepared_geometries_follow_the_plain_recipe(national_postgis):
    """Each band, recomputed the plain way, one geometry at a time: the same bytes stored."""
    recipe = text(
        "WITH band AS (SELECT c.cut::text AS feature_key, ST_Transform(c.geom, 3857) AS projected, "
        "ST_RemoveRepeatedPoints(ST_SnapToGrid(ST_Simplify(ST_Transform(c.geom, 3857), "
        ":tolerance, false), :grid)) AS snapped FROM communes c), "
        "repaired AS (SELECT feature_key, projected, CASE WHEN ST_IsValid(snapped) THEN snapped "
        "ELSE ST_Buffer(snapped, 0) END AS geom FROM band) "
        "SELECT count(*) FILTER (WHERE ST_AsEWKB(p.geom) = ST_AsEWKB(CASE WHEN r.geom IS NULL "
        "OR ST_IsEmpty(r.geom) THEN r.projected ELSE r.geom END)) AS same, count(*) AS rows "
        "FROM repaired r JOIN tile_geometries p ON p.table_name = 'communes' "
        "AND p.band = :band AND p.feature_key = r.feature_key"
    )
    communes = national_postgis.count_rows("communes")
    with national_postgis.connection() as connection:
        connection.execute(text("SET LOCAL client_min_messages = warning"))  # ST_IsValid's
        for band in range(FULL_BAND):
            grid = band_grid(band)
            params = {"band": band, "grid": grid, "tolerance": grid * SIMPLIFY_UNITS}
            counts = connection.execute(recipe, params).one()
            assert counts.same == counts.rows == communes, band
        full = connection.execute(
            text(
                "SELECT count(*) FROM communes c JOIN tile_geometries p ON p.table_name = "
                "'communes' AND p.band = :band AND p.feature_key = c.cut::text "
                "WHERE ST_AsEWKB(p.geom) = ST_AsEWKB(ST_Transform(c.geom, 3857))"
            ),
            {"band": FULL_BAND},
        ).scalar_one()
    assert full == communes


def test_preparing_leaves_the_transaction_settings_as_they_were(national_postgis):
    settings = text("SELECT current_setting('jit'), current_setting('client_min_messages')")
    with national_postgis.engine.connect() as connection:
        connection.execute(text("SET LOCAL client_min_messages = log"))
        before = connection.execute(settings).one()
        dataset = connection.execute(text("SELECT min(dataset) FROM communes")).scalar_one()
        prepare_tile_geometries(connection, [dataset])
        assert connection.execute(settings).one() == before
        prepared = connection.execute(text("SELECT count(*) FROM tile_geometries")).scalar_one()
        assert prepared == national_postgis.count_rows("communes") * (FULL_BAND + 1)
        connection.rollback()


def test_the_prepared_geometries_are_stored_uncompressed(national_postgis):
    # they barely compress, and trying costs every load (migration 0010)
    storage = text(
        "SELECT attstorage FROM pg_attribute "
        "WHERE attrelid = 'tile_geometries'::regclass AND attname = 'geom'"
    )
    with national_postgis.connection() as connection:
        assert connection.execute(storage).scalar_one() == "e"
