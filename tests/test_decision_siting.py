"""Siting with spopt: tiny instances with a known optimum, then a real region when possible."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from analysis.decision.siting import site_facilities

#: Four villages on a line (position km = minutes at 60 km/h) and five candidate sites.
VILLAGES = pd.DataFrame(
    {"x": [0.0, 10.0, 20.0, 30.0], "population": [100.0, 80.0, 60.0, 50.0],
     "cut": ["01001", "01001", "01002", "01002"]}
)  # fmt: skip
CANDIDATES = pd.DataFrame({"candidate_id": ["c0", "c1", "c2", "c3", "c4"],
                           "x": [0.0, 5.0, 10.0, 20.0, 25.0]})  # fmt: skip


def _cost() -> np.ndarray:
    return np.abs(VILLAGES["x"].to_numpy()[:, None] - CANDIDATES["x"].to_numpy()[None, :])


def test_mclp_finds_the_known_optimal_pair() -> None:
    # Within 5 minutes: c1 reaches villages 0 and 1 (180), c4 reaches 2 and 3 (110).
    result = site_facilities(VILLAGES, CANDIDATES, _cost(), np.full(4, np.inf), 2, 5.0)
    assert set(result.sites["candidate_id"]) == {"c1", "c4"}
    assert result.summary["covered_before"] == 0.0
    assert result.summary["covered_after"] == 290.0
    assert result.sites["newly_covered"].tolist() == [180.0, 110.0]
    assert result.sites["newly_covered"].sum() == result.summary["gain"]


def test_mclp_agrees_with_enumeration_on_a_random_instance() -> None:
    rng = np.random.default_rng(11)
    demand = pd.DataFrame({"population": rng.integers(1, 100, 40).astype(float), "cut": "01001"})
    candidates = pd.DataFrame({"candidate_id": [f"s{i}" for i in range(8)]})
    cost = rng.uniform(0, 60, (40, 8))
    existing = rng.uniform(10, 90, 40)
    result = site_facilities(demand, candidates, cost, existing, 3, 30.0)
    population = demand["population"].to_numpy()
    before = existing <= 30.0
    best = max(
        population[before | (cost[:, list(trio)] <= 30.0).any(axis=1)].sum()
        for trio in itertools.combinations(range(8), 3)
    )
    assert result.summary["covered_after"] == pytest.approx(best)


def test_existing_coverage_is_credited_not_counted_again() -> None:
    # An existing facility at x = 0 already serves village 0: c1's extra value is only
    # village 1, so the best pair covers villages 1, 2 and 3 with c4 and one of c1/c2.
    existing = np.abs(VILLAGES["x"].to_numpy() - 0.0)
    result = site_facilities(VILLAGES, CANDIDATES, _cost(), existing, 2, 5.0)
    assert "c4" in set(result.sites["candidate_id"])
    assert result.summary["covered_before"] == 100.0
    assert result.summary["covered_after"] == 290.0
    assert result.sites["newly_covered"].sum() == 190.0
    communes = result.communes.set_index("cut")
    assert communes.loc["01001", "gain"] == 80.0 and communes.loc["01002", "gain"] == 110.0


def test_pmedian_minimises_weighted_travel_time() -> None:
    demand = pd.DataFrame({"population": [100.0, 100.0], "cut": "01001"})
    candidates = pd.DataFrame({"candidate_id": ["at_zero", "at_five"]})
    cost = np.array([[0.0, 5.0], [10.0, 5.0]])
    existing = np.array([10.0, 0.0])  # an existing facility sits on the second village
    result = site_facilities(demand, candidates, cost, existing, 1, 5.0, model="pmedian")
    # at_zero: 0·100 + 0·100 = 0 minutes; at_five: 5·100 + 0·100 = 500.
    assert result.sites["candidate_id"].tolist() == ["at_zero"]
    assert result.summary["mean_minutes_after"] == 0.0
    assert result.summary["mean_minutes_before"] == 5.0


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="new_sites"):
        site_facilities(VILLAGES, CANDIDATES, _cost(), np.zeros(4), 6, 5.0)
    with pytest.raises(ValueError, match="calza"):
        site_facilities(VILLAGES, CANDIDATES, _cost()[:, :3], np.zeros(4), 1, 5.0)


def test_demand_blocks_keep_the_population() -> None:
    from analysis.decision.siting import aggregate_demand

    rows, cols = np.meshgrid(np.arange(10), np.arange(10), indexing="ij")
    demand = pd.DataFrame(
        {
            "row": rows.ravel(),
            "col": cols.ravel(),
            "cut": np.where(cols.ravel() < 5, "01001", "01002"),
            "population": np.arange(100, dtype=float),
        }
    )
    blocks = aggregate_demand(demand, 30)
    assert len(blocks) <= 30
    assert blocks["population"].sum() == demand["population"].sum()
    assert set(blocks["cut"]) == {"01001", "01002"}
    # Each block stands at its most populated cell (the largest index, here).
    first = blocks.sort_values(["row", "col"]).iloc[0]
    size = int(first["block"])
    assert (first["row"], first["col"]) == (size - 1, size - 1)


# ------------------------------------------------------------------------------ real data


@pytest.fixture(scope="module")
def region_04(national_postgis, data_dir):
    from geo_service.services.siting import siting
    from layers.rasters import LAND_COVER_FILE

    return siting(national_postgis, data_dir / LAND_COVER_FILE, "primary", 3, 60.0, "04")


@pytest.mark.postgis
@pytest.mark.realdata
def test_real_siting_region_04(region_04, national_postgis) -> None:
    summary = region_04.result.summary
    sites = region_04.sites
    assert len(sites) == 3
    assert (sites["cut"].str[:2] == "04").all()
    assert set(sites["kind"]) <= {"escuela rural", "sistema APR"}
    assert sites["newly_covered"].sum() == pytest.approx(summary["gain"])
    assert summary["covered_before"] <= summary["covered_after"] <= summary["population"]
    assert summary["mean_minutes_after"] <= summary["mean_minutes_before"]
    # The rural demand is the region's rural population (the dasymetric surface keeps totals).
    population = national_postgis.read_table("population")
    rural = population[
        (population["dataset"] == "ine_proyecciones_urbana_rural_comuna")
        & (population["year"] == region_04.parameters["population_year"])
        & (population["area"] == "rural")
        & (population["cut"].str[:2] == "04")
    ]["population"].sum()
    assert summary["population"] == pytest.approx(rural, rel=0.02)
    gains = region_04.communes
    assert (gains["cut"].str[:2] == "04").all()
    assert gains["gain"].sum() == pytest.approx(summary["gain"])
    assert (sites.geometry.geom_type == "Point").all()


@pytest.mark.postgis
@pytest.mark.realdata
def test_siting_api_and_gpkg(national_postgis, data_dir, tmp_path, region_04) -> None:
    import geopandas as gpd
    from fastapi.testclient import TestClient

    from geo_service.app import create_app
    from geo_service.settings import Settings
    from layers.decision_files import write_siting

    url = national_postgis.engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, data_dir=data_dir)
    with TestClient(create_app(settings)) as client:
        params = {"region": "04", "facility": "primary", "new": 3, "minutes": 60}
        body = client.get("/siting", params=params).json()
        assert body["summary"]["gain"] == pytest.approx(region_04.result.summary["gain"])
        assert len(body["sites"]["features"]) == 3
        assert client.get("/siting", params={**params, "facility": "spa"}).status_code == 422
    out = write_siting(
        tmp_path / "sitios.gpkg",
        region_04.sites,
        region_04.communes,
        national_postgis.read_table("communes", ["cut", "geom"]),
    )
    assert len(gpd.read_file(out, layer="sitios")) == 3
    assert len(gpd.read_file(out, layer="comunas")) == len(region_04.communes)
