"""Every validation rule, each with a bad input, loaded into a real PostGIS."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon

from layers.errors import (
    DependencyError,
    LayerError,
    MissingCRSError,
    SchemaError,
    StoreWriteError,
)
from layers.loading import load_file

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]


@pytest.fixture
def store(postgis_store, data_dir):
    """PostGIS with the official codes and the commune boundaries loaded."""
    load_file(postgis_store, "territorial_codes", data_dir / "boundaries/codigos_territoriales.csv")
    load_file(postgis_store, "communes", data_dir / "boundaries/comunas_chile_345.gpkg")
    return postgis_store


@pytest.fixture
def inside(store) -> dict[str, Point]:
    communes = store.read_table("communes").set_index("cut")
    return {cut: communes.loc[cut, "geom"].representative_point() for cut in ("05404", "04303")}


def _geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    document: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _point_feature(point: Point, **properties) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
        "properties": properties,
    }


def test_file_without_crs_is_refused_unless_one_is_given(store, inside, tmp_path):
    utm = gpd.GeoSeries([inside["05404"]], crs=4326).to_crs(32719).iloc[0]
    frame = gpd.GeoDataFrame({"nombre": ["APR X"], "cut": ["05404"]}, geometry=[utm], crs=None)
    path = tmp_path / "apr_no_crs.shp"
    with pytest.warns(UserWarning, match="crs"):
        frame.to_file(path)
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(MissingCRSError, match="--crs"):
        load_file(store, "apr", path)
    assert store.count_rows("apr_systems") == 0
    report = load_file(store, "apr", path, crs="EPSG:32719")
    assert report.outcome.reprojected_from == "EPSG:32719"
    loaded = store.read_table("apr_systems").iloc[0]
    assert loaded["geom"].distance(inside["05404"]) < 1e-6
    assert not loaded["outside_declared_commune"]


@pytest.mark.parametrize("epsg", [4674, 32719, 4326])
def test_reprojects_from_the_declared_crs(store, inside, tmp_path, epsg):
    declared = gpd.GeoSeries([inside["04303"]], crs=4326).to_crs(epsg).iloc[0]
    path = tmp_path / f"ssr_{epsg}.gpkg"
    gpd.GeoDataFrame(
        {"NOMBRE_SSR": ["SSR Monte Patria"], "CUT": [4303]}, geometry=[declared], crs=epsg
    ).to_file(path)
    load_file(store, "apr", path)
    stored = store.read_table("apr_systems").iloc[0]
    assert stored["cut"] == "04303"
    assert stored["geom"].distance(inside["04303"]) < 1e-6


def test_invalid_geometries_are_repaired_and_counted(store, inside, tmp_path):
    x, y = inside["05404"].x, inside["05404"].y
    bowtie = Polygon([(x, y), (x + 0.01, y + 0.01), (x + 0.01, y), (x, y + 0.01), (x, y)])
    assert not bowtie.is_valid
    square = Polygon([(x, y), (x + 0.01, y), (x + 0.01, y + 0.01), (x, y + 0.01)])
    path = tmp_path / "campamentos.gpkg"
    gpd.GeoDataFrame(
        {"CUT": [5404, 5404], "NOMBRE": ["a", "b"], "N_HOG": [3, 4]},
        geometry=[bowtie, MultiPolygon([square])],
        crs=4326,
    ).to_file(path)
    report = load_file(store, "informal_settlements", path)
    assert report.outcome.repaired_geometries == 1
    stored = store.read_table("informal_settlements")
    assert stored.geometry.is_valid.all()
    assert (stored.geometry.geom_type == "MultiPolygon").all()
    assert stored.to_crs(32719).geometry.area.min() > 0


def test_integer_codes_are_padded_and_unknown_codes_rejected_with_reason(store, tmp_path):
    path = tmp_path / "presence.csv"
    path.write_text(
        "cut,intervention\n4303,mesa_convergencia\n99999,mesa_convergencia\n"
        "abc,other\n5404,other\n",
        encoding="utf-8",
    )
    report = load_file(store, "huella_presence", path)
    assert report.rows_read == 4
    assert report.rows_loaded == 2
    assert report.rejection_reasons() == {
        "falta el código comunal (CUT) o está mal escrito": 1,
        "código comunal (CUT) desconocido: 99999": 1,
    }
    assert sorted(store.read_table("huella_presence")["cut"]) == ["04303", "05404"]
    stored = store.provenance().set_index("dataset").loc["presence", "report"]
    assert {"row": 2, "reason": "código comunal (CUT) desconocido: 99999"} in stored["rejections"]


def test_exact_duplicates_are_dropped_and_counted(store, inside, tmp_path):
    feature = _point_feature(inside["05404"], Sistema_AP="APR Uno", cut="05404", Poblacion=35)
    other = _point_feature(inside["05404"], Sistema_AP="APR Dos", cut="05404", Poblacion=35)
    path = _geojson(tmp_path / "apr.geojson", [feature, feature, other, feature])
    report = load_file(store, "apr", path)
    assert (report.rows_read, report.rows_loaded, report.outcome.duplicates_removed) == (4, 2, 2)


def test_points_just_outside_their_declared_commune_are_flagged_far_ones_rejected(
    store, inside, tmp_path
):
    petorca = store.read_table("communes").set_index("cut").loc["05404", "geom"]
    # ~500 m outside Petorca's outline: within the 2 km tolerance, kept and flagged.
    largest = max(getattr(petorca, "geoms", [petorca]), key=lambda part: part.area)
    x, y = largest.buffer(0.005).exterior.coords[0]
    path = _geojson(
        tmp_path / "apr.geojson",
        [
            _point_feature(inside["05404"], nombre="bien ubicado", cut="05404"),
            _point_feature(Point(x, y), nombre="en el borde", cut="05404"),
            _point_feature(inside["04303"], nombre="mal declarado", cut="05404"),
        ],
    )
    report = load_file(store, "apr", path)
    assert report.outcome.outside_declared_commune == 1
    stored = store.read_table("apr_systems").set_index("name")
    assert bool(stored.loc["en el borde", "outside_declared_commune"])
    assert not bool(stored.loc["bien ubicado", "outside_declared_commune"])
    assert "mal declarado" not in stored.index
    (reason,) = [r.reason for r in report.outcome.rejections]
    assert reason.startswith("fuera de su comuna declarada 05404: a ")
    assert "dentro de la comuna 04303" in reason


def test_chilean_number_formats_in_a_csv(store, tmp_path):
    path = tmp_path / "sinim_2021.csv"
    path.write_text(
        "cut_comuna;municipio;ingresos_municipales_percapita_clp;inversion_municipal_mclp\n"
        '4303;MONTE PATRIA;"1.234.567,5";"12,25"\n',
        encoding="utf-8",
    )
    load_file(store, "finance", path)
    row = store.read_table("municipal_finance").iloc[0]
    assert row["year"] == 2021
    assert row["income_per_capita_clp"] == pytest.approx(1234567.5)
    assert row["investment_mclp"] == pytest.approx(12.25)


def test_projects_without_coordinates_are_kept_with_commune_precision(store, inside, tmp_path):
    point = inside["05404"]
    path = tmp_path / "projects.csv"
    path.write_text(
        "project_id,cut,name,typology,stage,total_investment_mclp,latitude,longitude\n"
        'P1,5404,Sede,Equipamiento,diseño,"1.500",,\n'
        f"P2,5404,Posta,Servicios Básicos,diseño,,{point.y},{point.x}\n"
        "P3,5404,Plaza,Parques,diseño,,,\n",
        encoding="utf-8",
    )
    report = load_file(store, "projects", path)
    assert report.rejection_reasons() == {
        "la tipología no es una de Equipamiento, Espacios_Públicos, Infraestructura_Vial, "
        "Servicios_Básicos": 1
    }
    stored = store.read_table("project_sites").set_index("project_id")
    assert stored.loc["P1", "location_precision"] == "commune"
    assert stored.loc["P1", "geom"] is None
    assert stored.loc["P1", "total_investment_clp"] == 1_500_000
    assert stored.loc["P2", "location_precision"] == "exact"
    assert stored.loc["P2", "typology"] == "Servicios_Básicos"


def test_generic_csv_with_utm_coordinates_and_mop_doh_schema(store, inside, tmp_path):
    utm = gpd.GeoSeries([inside["04303"]], crs=4326).to_crs(32719).iloc[0]
    path = tmp_path / "ssr_utm.csv"
    path.write_text(
        "NOMBRE_SSR,COD_COMUNA,BENEF_EST,CANT_ARR,CLAS_OP,URBAN_RURA,UTM_ESTE,UTM_NORTE\n"
        f'SSR Chañaral Alto,4303,"1.250",357,SEMI CONCENTRADO,RURAL,{utm.x},{utm.y}\n',
        encoding="utf-8",
    )
    load_file(store, "apr", path)
    row = store.read_table("apr_systems").iloc[0]
    assert (row["name"], row["cut"], row["beneficiaries"], row["connections"]) == (
        "SSR Chañaral Alto",
        "04303",
        1250.0,
        357.0,
    )
    assert row["geom"].distance(inside["04303"]) < 1e-6


def test_mop_doh_latitude_longitude_columns(store, inside, tmp_path):
    point = inside["05404"]
    path = tmp_path / "ssr_latlon.csv"
    path.write_text(
        "NOMBRE_SSR,CUT,BENEF_EST,LATITUD,LONGITUD\n"
        f'SSR A,05404,100,"{str(point.y).replace(".", ",")}",'
        f'"{str(point.x).replace(".", ",")}"\n',
        encoding="utf-8",
    )
    load_file(store, "apr", path)
    assert store.read_table("apr_systems").iloc[0]["geom"].distance(point) < 1e-6


def test_missing_columns_are_named(store, tmp_path):
    path = tmp_path / "pobreza.csv"
    path.write_text("codigo;otra\n4303;1\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="rate"):
        load_file(store, "poverty", path)


def test_dependent_dataset_needs_the_commune_list(postgis_store, data_dir):
    with pytest.raises(DependencyError, match="cargue primero las comunas"):
        load_file(postgis_store, "huella_presence", data_dir / "huella_local/presence_2023.csv")
    assert postgis_store.provenance().empty


def test_unreadable_and_missing_files_are_user_errors(store, tmp_path):
    with pytest.raises(LayerError, match="no se encontró"):
        load_file(store, "apr", tmp_path / "nope.geojson")
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(LayerError, match="no se puede leer"):
        load_file(store, "apr", broken)


def test_counts_beyond_the_integer_range_are_rejected_not_wrapped(store, data_dir, tmp_path):
    lines = (
        (data_dir / "water/censo2017_origen_agua_viviendas_comuna.csv")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    header, rows = lines[0], lines[1:]
    columns = header.split(",")
    broken = rows[200].split(",")
    broken[columns.index("viv_agua_red_publica")] = "99999999999"
    bad = tmp_path / "censo2017_origen_agua_viviendas_comuna.csv"
    bad.write_text(
        "\n".join([header, *rows[:200], ",".join(broken), *rows[201:]]), encoding="utf-8"
    )
    report = load_file(store, "water_sources", bad)
    assert report.rejection_reasons() == {
        "dwellings_public_network = 99.999.999.999 excede el rango de los enteros": 1
    }
    stored = store.read_table("water_sources")
    assert len(stored) == 344
    assert stored["dwellings_public_network"].max() < 2**31


def test_a_load_that_fails_half_way_leaves_the_database_as_it_was(store, data_dir):
    load_file(store, "population", data_dir / "population/censo2024_poblacion_comuna.csv")
    before = store.read_table("population")
    provenance_before = store.provenance()
    # The same dataset again, its last row breaking the table's CHECK constraint on `area`:
    # PostGIS refuses it after the DELETE and most of the COPY have run.
    frame = before.drop(columns=["dataset"]).copy()
    frame["population"] = frame["population"] + 1
    frame.loc[frame.index[-1], "area"] = "mixta"
    provenance = {**provenance_before.iloc[0].to_dict(), "rows_loaded": len(frame)}
    with pytest.raises(StoreWriteError, match=r"no se cambió nada.*ck_area"):
        store.replace_dataset("population", "censo2024_poblacion_comuna", frame, provenance)
    after = store.read_table("population")
    assert len(after) == len(before) == 346
    assert after.equals(before)
    assert store.provenance().equals(provenance_before)


def test_copy_refuses_to_wrap_integers(store):
    rows = pd.DataFrame(
        {
            "cut": ["04303"],
            "year": [2017],
            "dwellings_public_network": [2**40],
            "dwellings_well": [0],
            "dwellings_water_truck": [0],
            "dwellings_river_spring": [0],
            "dwellings_with_data": [1],
            "pct_without_public_network": [0.0],
        }
    )
    with pytest.raises(StoreWriteError, match="out of range"):
        store.replace_dataset(
            "water_sources",
            "x",
            rows,
            {
                "dataset": "x",
                "kind": "water_sources",
                "table_name": "water_sources",
                "source": "test",
                "file_name": "x.csv",
                "sha256": "0" * 64,
                "loaded_at": pd.Timestamp.now(tz="UTC"),
                "rows_read": 1,
                "rows_loaded": 1,
                "rows_rejected": 0,
                "report": {},
            },
        )
    assert store.count_rows("water_sources") == 0
