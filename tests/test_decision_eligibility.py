"""Zonas Rezagadas emulation: hand-made rates and intervals with known outcomes, then real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from analysis.decision.eligibility import (
    NEAR_MISS,
    NO_DATA,
    NOT_SUSCEPTIBLE,
    SUSCEPTIBLE,
    IsolationComponent,
    assess_eligibility,
    isolation_measure,
    probability_above,
)

#: One isolation component whose percentile ranks are 0.2, 0.4, ... over five communes.
GIVEN = (IsolationComponent("aislamiento_dado", "aislamiento dado", True, 1.0),)


def _table(income: list[float], income_high: list[float]) -> pd.DataFrame:
    """Five communes, equal populations: region 01 = c1..c3, region 02 = c4, c5."""
    return pd.DataFrame(
        {
            "cut": ["01001", "01002", "01003", "02001", "02002"],
            "name": ["c1", "c2", "c3", "c4", "c5"],
            "region_code": ["01", "01", "01", "02", "02"],
            "population_total": 100.0,
            "pobreza_ingresos_pct": income,
            "pobreza_ingresos_ic_inferior_pct": [v - 3.0 for v in income],
            "pobreza_ingresos_ic_superior_pct": income_high,
            "pobreza_multidimensional_pct": [30.0, 25.0, 5.0, 26.0, 14.0],
            "pobreza_ic_inferior_pct": [27.0, 22.0, 3.0, 23.0, 11.0],
            "pobreza_ic_superior_pct": [33.0, 28.0, 7.0, 29.0, 17.0],
            # ranks: c1 1.0, c2 0.8, c3 0.2, c4 0.6, c5 0.4
            "aislamiento_dado": [5.0, 4.0, 1.0, 3.0, 2.0],
        }
    )


def test_averages_margins_and_classes() -> None:
    income = [20.0, 11.0, 6.0, 12.0, 2.0]
    table = _table(income, [v + 3.0 for v in income])
    result = assess_eligibility(table, components=GIVEN)
    rows = result.communes.set_index("cut")
    # Regional 01: (20 + 11 + 6) / 3; national: 51 / 5 (equal populations).
    assert rows.loc["01002", "ingresos_regional_promedio_pct"] == pytest.approx(37 / 3)
    assert rows.loc["01002", "ingresos_nacional_promedio_pct"] == pytest.approx(10.2)
    assert rows.loc["01002", "ingresos_regional_margen_pp"] == pytest.approx(11 - 37 / 3)
    assert rows.loc["01001", "status"] == SUSCEPTIBLE
    # c2 misses only the regional income average, and its upper bound (14) is above it.
    assert rows.loc["01002", "status"] == NEAR_MISS
    assert rows.loc["01002", "failed_criteria"] == "pobreza por ingresos sobre el promedio regional"
    # c4 meets every poverty criterion; isolation 0.6 is within 0.05 of the 0.65 threshold.
    assert rows.loc["02001", "status"] == NEAR_MISS
    assert rows.loc["02001", "aislamiento_margen"] == pytest.approx(0.6 - 0.65)
    assert rows.loc["01003", "status"] == NOT_SUSCEPTIBLE
    assert rows.loc["02002", "status"] == NOT_SUSCEPTIBLE
    assert result.isolation_inputs == ("aislamiento dado",)
    criteria = result.criteria[result.criteria["cut"] == "01001"]
    assert len(criteria) == 5 and criteria["met"].all()


def test_near_miss_needs_the_interval_to_reach_the_average() -> None:
    income = [20.0, 11.0, 6.0, 12.0, 2.0]
    highs = [v + 3.0 for v in income]
    highs[1] = 12.0  # below the regional average 12.33: the failure is outside the interval
    rows = assess_eligibility(_table(income, highs), components=GIVEN).communes.set_index("cut")
    assert rows.loc["01002", "status"] == NOT_SUSCEPTIBLE


def test_probability_from_the_interval() -> None:
    income = [20.0, 11.0, 6.0, 12.0, 2.0]
    rows = assess_eligibility(
        _table(income, [v + 3.0 for v in income]), components=GIVEN
    ).communes.set_index("cut")
    se = 6.0 / (2 * norm.ppf(0.975))
    expected = norm.cdf((11.0 - 37 / 3) / se)
    assert rows.loc["01002", "ingresos_regional_probabilidad"] == pytest.approx(expected)
    assert probability_above(10.0, 8.0, 12.0, 10.0) == pytest.approx(0.5)
    assert probability_above(10.0, 10.0, 10.0, 9.0) == 1.0
    assert np.isnan(probability_above(10.0, np.nan, np.nan, 9.0))


def test_territories_are_contiguous_and_within_one_region() -> None:
    income = [20.0, 13.0, 3.0, 12.0, 2.0]
    table = _table(income, [v + 3.0 for v in income])
    # c1–c2 touch (same region); c1–c4 touch across the regional border.
    neighbours = {0: [1, 3], 1: [0], 2: [], 3: [0], 4: []}
    result = assess_eligibility(table, neighbours, components=GIVEN, isolation_threshold=0.5)
    rows = result.communes.set_index("cut")
    assert rows.loc[["01001", "01002", "02001"], "status"].eq(SUSCEPTIBLE).all()
    assert rows["territory"]["01001"] == rows["territory"]["01002"] == "01-T01"
    assert pd.isna(rows["territory"]["02001"])
    assert result.territories["cuts"].tolist() == ["01001, 01002"]


def test_missing_poverty_is_not_a_class() -> None:
    income = [20.0, np.nan, 6.0, 12.0, 2.0]
    rows = assess_eligibility(
        _table(income, [v + 3.0 for v in income]), components=GIVEN
    ).communes.set_index("cut")
    assert rows.loc["01002", "status"] == NO_DATA
    assert rows.loc["01001", "status"] == SUSCEPTIBLE


def test_isolation_measure_orients_and_reports_inputs() -> None:
    table = pd.DataFrame(
        {
            "densidad_hab_km2": [1.0, 10.0, 100.0, np.nan],
            "poblacion_rural_pct": [90.0, 50.0, 10.0, 40.0],
            "minutos_centro": np.nan,  # accessibility not computed: skipped
        }
    )
    measure, used = isolation_measure(table)
    assert "tiempo de viaje al centro regional" not in used
    assert set(used) == {"densidad de población", "ruralidad"}
    assert measure.iloc[0] > measure.iloc[1] > measure.iloc[2]
    # The fourth commune rests on rurality alone (rank 2 of 4 → 0.5).
    assert measure.iloc[3] == pytest.approx(0.5)


# ------------------------------------------------------------------------------ real data


@pytest.fixture(scope="module")
def national(national_postgis, data_dir):
    """The national emulation, once per module (the isolation index runs the national travel
    times at 1 km: about 35 s on 2 shared cores, 15 s on an idle machine)."""
    from geo_service.services.eligibility import eligibility
    from layers.rasters import LAND_COVER_FILE

    return eligibility(national_postgis, None, land_cover=data_dir / LAND_COVER_FILE)


@pytest.mark.postgis
@pytest.mark.realdata
def test_real_national_counts_are_sane(national, national_postgis) -> None:
    result, sources = national
    communes = result.communes
    assert len(communes) == len(national_postgis.read_table("communes", ["cut"]))
    counts = communes["status"].value_counts()
    assert counts.get(NO_DATA, 0) < 10
    # Population-weighted national averages sit inside the range of communal rates.
    national_income = communes["ingresos_nacional_promedio_pct"].iloc[0]
    assert communes["ingresos_pct"].min() < national_income < communes["ingresos_pct"].max()
    susceptible = communes[communes["status"] == SUSCEPTIBLE]
    assert (susceptible["ingresos_pct"] > susceptible["ingresos_nacional_promedio_pct"]).all()
    assert (susceptible["aislamiento"] >= susceptible["aislamiento_umbral"]).all()
    assert (susceptible["aislamiento_poblacion_aislada"] > 0).all()
    assert {"Pobreza por ingresos", "Pobreza multidimensional"} <= set(sources["dato"])
    grouped = communes[communes["territory"].notna()]
    assert (grouped["status"] == SUSCEPTIBLE).all()
    pairs = zip(grouped["territory"], grouped["region_code"], strict=True)
    assert all(territory.startswith(region) for territory, region in pairs)
    probability = communes["probabilidad_susceptible"]
    assert probability.between(0.0, 1.0).all()
    near = communes[communes["status"] == NEAR_MISS]
    assert (near["probabilidad_susceptible"] >= 0.1).all()


@pytest.mark.postgis
@pytest.mark.realdata
def test_real_calibrated_count_lies_within_the_published_range(national) -> None:
    result, _ = national
    calibration = result.calibration
    assert calibration is not None and calibration["calibrado"] is True
    low, high = calibration["rango_publicado"]
    assert (low, high) == (120, 135)  # SUBDERE 2022: 120; 2021: 135
    count = int((result.communes["status"] == SUSCEPTIBLE).sum())
    assert low <= count <= high
    assert count == calibration["susceptibles"]
    assert calibration["dentro_del_rango"] is True
    curve = result.curve
    assert curve is not None
    at_threshold = curve.loc[curve["umbral"] == calibration["umbral"], "susceptibles"]
    assert at_threshold.tolist() == [count]
    # The count never rises with a stricter threshold.
    assert (curve["susceptibles"].diff().dropna() <= 0).all()
    assert calibration["cobertura_del_suelo"] == "MODIS MCD12C1 2019"


@pytest.mark.postgis
@pytest.mark.realdata
def test_real_region_04_via_api(national_postgis, national) -> None:
    from fastapi.testclient import TestClient

    from geo_service.app import create_app
    from geo_service.settings import Settings

    url = national_postgis.engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(Settings(database_url=url))) as client:
        body = client.get("/rezago", params={"region": "04"}).json()
        assert body["emulation"] is True and "no la lista oficial" in body["disclaimer"]
        assert {row["region_code"] for row in body["communes"]} == {"04"}
        expected = national[0].communes
        expected = expected[expected["region_code"] == "04"]
        assert body["counts"][SUSCEPTIBLE] == int((expected["status"] == SUSCEPTIBLE).sum())
        assert body["calibration"]["umbral"] == national[0].calibration["umbral"]
        one = client.get("/rezago/04202").json()
        assert len(one["criteria"]) == 5
        assert {c["criterion"] for c in one["criteria"]} >= {"aislamiento", "ingresos_regional"}
        csv = client.get("/rezago.csv", params={"region": "04"})
        assert csv.content.startswith("\ufeffCUT;Comuna;".encode())
        assert "Probabilidad de ser susceptible" in csv.content.decode("utf-8")
        assert client.get("/rezago/99999").status_code == 404
        # The threshold curve, reproducible from the API: the same as the service's.
        curve = client.get("/rezago/curva").json()
        assert curve["curve"] == national[0].curve.to_dict("records")
        assert "no la lista oficial" in curve["note"]
        fixed = client.get("/rezago/curva", params={"umbral": 0.5}).json()
        assert fixed["calibration"]["umbral"] == 0.5 and fixed["curve"] == curve["curve"]
        png = client.get("/rezago/curva.png")
        assert png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG")
        assert client.get("/rezago/curva", params={"umbral": 2}).status_code == 422


def _accessibility_rows(cuts: list[str], facility: str, minutes: list[float]) -> pd.DataFrame:
    from layers.tables import stored_columns

    rows = pd.DataFrame({c: [np.nan] * len(cuts) for c in stored_columns("accessibility")})
    return rows.drop(columns="dataset").assign(
        cut=cuts,
        facility=facility,
        resolution_m=1000,
        grid="continental",
        method="land_cover",
        destinations=1,
        population_year=2024,
        minutes_mean=minutes,
        rural_minutes_mean=minutes,
    )


@pytest.mark.postgis
def test_isolation_reads_stored_travel_times_national_first(postgis_store) -> None:
    from geo_service.services.eligibility import accessibility_columns
    from layers.accessibility import save_accessibility

    national = _accessibility_rows(["01001", "01002"], "centre", [30.0, 90.0])
    save_accessibility(postgis_store, national, {"region": None})
    regional = _accessibility_rows(["01002", "01003"], "centre", [999.0, 45.0])
    save_accessibility(postgis_store, regional, {"region": "01"})
    columns = accessibility_columns(postgis_store, pd.Series(["01001", "01002", "01003", "01004"]))
    assert columns["minutos_centro"].iloc[:3].tolist() == [30.0, 90.0, 45.0]
    assert np.isnan(columns["minutos_centro"].iloc[3])
    assert columns["minutos_rural_hospital"].isna().all()  # hospital times not computed


@pytest.mark.postgis
@pytest.mark.realdata
def test_real_curve_from_the_cli(national_postgis, national, data_dir, tmp_path) -> None:
    """``geogaps rezago --curva`` prints and plots the same curve as the service (one more
    national run in a child process: about 35 s)."""
    from analysis.formatting import format_integer, format_number
    from tests.cli_runner import run_geogaps

    url = national_postgis.engine.url.render_as_string(hide_password=False)
    chart = tmp_path / "curva.png"
    done = run_geogaps(
        "rezago",
        "--region",
        "04",
        "--curva",
        str(chart),
        env={"GEOGAPS_DATABASE_URL": url, "GEOGAPS_DATA_DIR": str(data_dir)},
    )
    assert done.returncode == 0, done.stderr
    result = national[0]
    printed = " ".join(done.stdout.split())  # rich wraps long lines
    assert "no la lista oficial de SUBDERE" in printed
    for row in result.curve.to_dict("records"):
        pair = f"{format_number(row['umbral'], 2)} → {format_integer(row['susceptibles'])}"
        assert pair in printed
    assert chart.read_bytes().startswith(b"\x89PNG")
