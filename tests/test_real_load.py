"""The whole real data folder loaded into PostGIS, and every loader on its real file."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from pyproj import Geod

from layers.loading import load_directory, load_file
from layers.readers.files import sha256_of

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]


def _counts(store) -> dict[str, int]:
    return {
        "communes": store.count_rows("communes"),
        "apr_systems": store.count_rows("apr_systems"),
        "facilities": store.count_rows("facilities"),
        "huella_presence": store.count_rows("huella_presence"),
        "project_sites": store.count_rows("project_sites"),
        "population": store.count_rows("population"),
        "localities": store.count_rows("localities"),
    }


def test_national_load_gives_the_expected_counts(national_postgis, data_dir):
    deis = pyogrio.read_dataframe(
        data_dir / "services/establecimientos_salud_deis_2026.gpkg", read_geometry=False
    )
    operating = int((deis["EstadoFuncionamiento"] != "Cerrado").sum())
    facilities = national_postgis.read_table("facilities")
    assert national_postgis.count_rows("communes") == 345
    assert national_postgis.count_rows("apr_systems") == 25 + 14
    # Seven operating facilities lie far inside another commune than the one they declare.
    assert (facilities["category"] == "salud").sum() == operating - 7
    assert national_postgis.count_rows("huella_presence") == 55
    assert national_postgis.count_rows("project_sites") == 14


def test_loading_twice_changes_nothing(national_postgis, data_dir):
    before = _counts(national_postgis)
    provenance_before = national_postgis.provenance()
    again = load_directory(national_postgis, data_dir)
    assert all(report.skipped_unchanged for report in again.reports)
    assert _counts(national_postgis) == before
    pd.testing.assert_frame_equal(national_postgis.provenance(), provenance_before)


def test_forced_reload_replaces_rows_without_duplicates(postgis_store, data_dir):
    load_file(postgis_store, "territorial_codes", data_dir / "boundaries/codigos_territoriales.csv")
    load_file(postgis_store, "communes", data_dir / "boundaries/comunas_chile_345.gpkg")
    path = data_dir / "water/ssr_coyhaique_11101.geojson"
    first = load_file(postgis_store, "apr", path)
    second = load_file(postgis_store, "apr", path, force=True)
    assert not second.skipped_unchanged
    assert first.rows_loaded == second.rows_loaded == 14
    assert postgis_store.count_rows("apr_systems") == 14


def test_provenance_records_file_hash_and_counts(national_postgis, data_dir):
    provenance = national_postgis.provenance().set_index("dataset")
    row = provenance.loc["establecimientos_salud_deis_2026"]
    assert row["sha256"] == sha256_of(data_dir / "services/establecimientos_salud_deis_2026.gpkg")
    assert row["rows_read"] == 5146
    assert row["rows_read"] == row["rows_loaded"] + row["rows_rejected"]
    reasons = dict(row["report"]["rejected_by_reason"])
    assert reasons.pop("establecimiento cerrado (EstadoFuncionamiento = Cerrado)") == 5
    # Seven facilities lie 8 to 650 km inside another commune than the one they declare
    # (e.g. one declared in La Serena, 04101, sits in Antofagasta, 02101).
    assert sum(reasons.values()) == 7 == row["rows_rejected"] - 5
    assert all(reason.startswith("fuera de su comuna declarada") for reason in reasons)


def test_communes_have_accents_metric_area_and_codes(national_postgis):
    communes = national_postgis.read_table("communes").set_index("cut")
    assert communes.loc["08101", "name"] == "Concepción"
    assert communes.loc["16101", "region_name"] == "Ñuble"
    assert (communes.index.str.len() == 5).all()
    assert (communes.geometry.geom_type == "MultiPolygon").all()
    geod = Geod(ellps="GRS80")
    for cut in ("05404", "13101", "11101"):
        geodesic_km2 = abs(geod.geometry_area_perimeter(communes.loc[cut, "geom"])[0]) / 1e6
        assert communes.loc[cut, "area_km2"] == pytest.approx(geodesic_km2, rel=0.01)


def test_population_by_year_and_area(national_postgis, data_dir):
    population = national_postgis.read_table("population")
    ine = population[population["dataset"] == "ine_proyecciones_urbana_rural_comuna"]
    assert set(ine["year"]) == {2017, 2020, 2024, 2025}
    wide = ine[ine["year"] == 2024].pivot(index="cut", columns="area", values="population")
    assert (wide["urbana"] + wide["rural"] - wide["total"]).abs().max() <= 1
    source = pd.read_csv(
        data_dir / "population/ine_proyecciones_urbana_rural_comuna.csv",
        dtype={"codigo_comuna": str},
    )
    assert (
        wide.loc["04303", "rural"]
        == source.set_index("codigo_comuna").loc["04303", "pob_2024_rural"]
    )


def test_poverty_keeps_its_confidence_interval(national_postgis):
    poverty = national_postgis.read_table("poverty")
    # Multidimensional and income poverty (MDSF small-area estimates), each for every commune,
    # both stored as 0-1 rates inside their own interval.
    assert poverty.groupby("measure").size().to_dict() == {"income": 345, "multidimensional": 345}
    assert poverty["cut"].str.len().eq(5).all()
    assert (
        (poverty["ci_lower"] <= poverty["rate"]) & (poverty["rate"] <= poverty["ci_upper"])
    ).all()
    assert poverty["rate"].between(0, 1).all()


def test_finance_water_localities_settlements(national_postgis):
    finance = national_postgis.read_table("municipal_finance")
    assert set(finance["year"]) == {2022, 2023}
    assert finance["income_per_capita_clp"].notna().sum() >= 2 * 343
    water = national_postgis.read_table("water_sources").set_index("cut")
    assert len(water) == 345
    assert (water["dwellings_public_network"] <= water["dwellings_with_data"]).all()
    localities = national_postgis.read_table("localities")
    assert localities["cut"].nunique() >= 340
    settlements = national_postgis.read_table("informal_settlements")
    assert settlements["households"].sum() > 0
    assert settlements.geometry.is_valid.all()


def test_projects_keep_commune_precision_rows(national_postgis):
    projects = national_postgis.read_table("project_sites").set_index("project_id")
    assert set(projects["typology"]) <= {
        "Equipamiento",
        "Espacios_Públicos",
        "Infraestructura_Vial",
        "Servicios_Básicos",
    }
    no_point = projects[projects.geometry.isna()]
    assert len(no_point) == 10
    assert set(no_point["location_precision"]) <= {"commune", "locality"}
    assert projects.loc["SP-05", "location_precision"] == "exact"
    assert projects.loc["SP-05", "geom"].y == pytest.approx(-33.91865)


def test_apr_systems_from_two_schemas(national_postgis):
    apr = national_postgis.read_table("apr_systems")
    petorca = apr[apr["cut"] == "05404"]
    coyhaique = apr[apr["cut"] == "11101"]
    assert len(petorca) == 25 and len(coyhaique) == 14
    assert petorca["network_status"].notna().all()
    assert petorca["organisation_status"].notna().all()
    assert coyhaique["size_class"].isin(["MENOR", "MEDIANO"]).all()
    assert (coyhaique["beneficiaries"] > 0).all()


def test_raw_apr_layer_loads_as_25_systems_with_23_duplicates(postgis_store, data_dir):
    load_file(postgis_store, "territorial_codes", data_dir / "boundaries/codigos_territoriales.csv")
    load_file(postgis_store, "communes", data_dir / "boundaries/comunas_chile_345.gpkg")
    report = load_file(
        postgis_store, "apr", data_dir / "water/apr_petorca_05404_raw_with_duplicates.geojson"
    )
    assert report.rows_read == 48
    assert report.rows_loaded == 25
    assert report.outcome.duplicates_removed == 23
    stored = postgis_store.provenance().set_index("dataset")
    assert stored.loc["apr_petorca_05404_raw_with_duplicates", "report"]["duplicates_removed"] == 23
    # the raw layer has no CUT column: the commune name gives it
    assert set(postgis_store.read_table("apr_systems")["cut"]) == {"05404"}


def test_every_geometry_has_a_spatial_index(national_postgis):
    from sqlalchemy import text

    with national_postgis.connection() as connection:
        rows = connection.execute(
            text(
                "SELECT f_table_name FROM geometry_columns gc WHERE NOT EXISTS ("
                " SELECT 1 FROM pg_indexes i WHERE i.tablename = gc.f_table_name"
                " AND i.indexdef ILIKE '%gist%' || gc.f_geometry_column || '%')"
            )
        ).all()
        geometry_tables = connection.execute(
            text("SELECT count(*) FROM geometry_columns")
        ).scalar_one()
    assert geometry_tables >= 8
    # Prepared tile geometries are found by primary key, never by place (migration 0011).
    assert [row[0] for row in rows] == ["tile_geometries"]


def test_petorca_layers_are_assigned_to_communes(national_postgis):
    roads = national_postgis.read_table("road_segments")
    assert len(roads) == 975
    assert (roads["cut"] == "05404").mean() > 0.5
    villages = national_postgis.read_table("villages")
    assert isinstance(villages, gpd.GeoDataFrame) and len(villages) == 32


def test_localities_keep_every_inhabitant(national_postgis, data_dir):
    source = pd.read_csv(data_dir / "territory/localidades_censo2017.csv")
    localities = national_postgis.read_table("localities")
    assert len(localities) == len(source)
    assert localities["inhabitants"].sum() == pytest.approx(source["habitantes"].sum())


def test_boundaries_reload_when_their_names_source_appears(postgis_store, data_dir):
    from layers.loading import names_with_accents

    path = data_dir / "boundaries/comunas_chile_345.gpkg"
    plain = load_file(postgis_store, "communes", path)
    assert plain.names_from is None
    assert postgis_store.read_table("communes").set_index("cut").loc["08101", "name"] == (
        "Concepcion"
    )
    accented = load_file(postgis_store, "communes", path, context=names_with_accents(data_dir))
    assert not accented.skipped_unchanged  # same file, new names source: not "unchanged"
    assert postgis_store.read_table("communes").set_index("cut").loc["08101", "name"] == (
        "Concepción"
    )
    again = load_file(postgis_store, "communes", path, context=names_with_accents(data_dir))
    assert again.skipped_unchanged


def test_every_commune_is_found_by_its_name_with_or_without_accents(national_postgis):
    from domain.text import fold
    from layers.loading.checks import unique_names

    names = unique_names(national_postgis)
    # The code list writes "Vicuña", the boundaries "Vicuna": one commune, found by both (the
    # two spellings once cancelled each other out as "ambiguous", losing 76 communes).
    assert names[fold("Vicuña")] == names[fold("Vicuna")] == "04106"
    assert names[fold("Copiapó")] == "03101"
    # Every commune with an outline (the code list also has Antártica, 12202, without one).
    assert set(national_postgis.read_table("communes")["cut"]) <= set(names.values())
