"""The bad-input corpus (tests/bad_inputs/) through the real ``geogaps`` command, on both stores.

Every case runs as a user would run it, in a subprocess, against a store that already holds the
official codes, the commune boundaries and one APR dataset. Each case asserts the exit code, the
Spanish message, that nothing already loaded changed (row counts and sha256), and what the load
attempts recorded. The cases of one store run concurrently (the store serialises the writers),
which also exercises the writer lock. ``python -m tests.test_bad_inputs`` is not needed: the
figures (cases tried / handled cleanly per store) are printed by the test session summary.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

import pandas as pd
import pytest

from geo_service.services.inputs import INPUT_TABLES, read_analysis_inputs
from layers.constraints import FACT_SCOPES
from layers.loading import attempt_row, load_file
from layers.readers import KINDS
from layers.stores import EmbeddedStore, PostgisStore, Store
from tests.cli_runner import run_geogaps
from tests.conftest import _database_name, _drop_database, _fresh_database

pytestmark = [pytest.mark.postgis, pytest.mark.realdata]

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
BASE = {
    "codigos_territoriales": ("territorial_codes", "boundaries/codigos_territoriales.csv"),
    "comunas_chile_345": ("communes", "boundaries/comunas_chile_345.gpkg"),
    "ssr_coyhaique_11101": ("apr", "water/ssr_coyhaique_11101.geojson"),
    "pobreza_multidimensional_comunal_2022": (
        "poverty",
        "social/pobreza_multidimensional_comunal_2022.csv",
    ),
}
#: Base datasets the commune-checked cases need before anything else.
REFERENCE = ("codigos_territoriales", "comunas_chile_345")
OFFICIAL_POVERTY = "pobreza_multidimensional_comunal_2022"


@dataclass(frozen=True)
class Case:
    """One bad (or awkward) input and what geogaps must do with it."""

    name: str
    file: str
    kind: str
    exit_code: int
    message: str
    args: tuple[str, ...] = ()
    dataset: str | None = None  # default: case_<name>, a dataset of its own
    pass_dataset: bool = True  # False: no --dataset, the name comes from the file (``dataset``)

    @property
    def dataset_name(self) -> str:
        return self.dataset or f"case_{self.name}"


CASES = (
    Case("empty_csv", "empty.csv", "huella_presence", 1, "está vacío"),
    Case("blank_csv", "blank_lines.csv", "huella_presence", 1, "está vacío"),
    Case(
        "header_only_replaces_loaded",
        "header_only/ssr_coyhaique_11101.csv",
        "apr",
        1,
        "con 0 filas en lugar de 14",
        dataset="ssr_coyhaique_11101",
    ),
    Case("truncated_geojson", "truncated.geojson", "apr", 1, "el archivo está cortado: el JSON"),
    Case(
        "csv_cut_mid_row_replaces_loaded",
        "cut/ssr_coyhaique_11101.csv",
        "apr",
        1,
        "la última línea (13) no termina en salto de línea y tiene 4 de los 6 campos",
        dataset="ssr_coyhaique_11101",
    ),
    Case(
        "csv_unclosed_quote",
        "unclosed_quote.csv",
        "apr",
        1,
        "termina dentro de un campo entre comillas abierto en la línea 5",
    ),
    Case(
        "reload_loses_two_of_fourteen",
        "shrunk/ssr_coyhaique_11101.csv",
        "apr",
        1,
        "se perderían 2 filas, 14 % de las cargadas",
        dataset="ssr_coyhaique_11101",
    ),
    Case(
        "fractional_connections",
        "fractional_connections.csv",
        "apr",
        0,
        "connections = 3.5 no es un número entero",
    ),
    Case(
        "fractional_inhabitants",
        "fractional_inhabitants.csv",
        "localities",
        0,
        "inhabitants = 12.5 no es un número entero",
    ),
    Case(
        "projects_without_coordinates",
        "projects_without_coordinates.csv",
        "projects",
        0,
        "falta la tipología (typology)",
    ),
    Case(
        "dataset_name_path",
        "latin1.csv",
        "huella_presence",
        1,
        "'../../x' no es un nombre de conjunto válido",
        dataset="../../x",
    ),
    Case(
        "dataset_name_sql",
        "latin1.csv",
        "huella_presence",
        1,
        "no es un nombre de conjunto válido",
        dataset="x'; DROP TABLE load_attempts; --",
    ),
    Case(
        "dataset_name_5000_characters",
        "latin1.csv",
        "huella_presence",
        1,
        "no es un nombre de conjunto válido (5000 caracteres)",
        dataset="a" * 5000,
    ),
    Case(
        "dataset_name_markup",
        "latin1.csv",
        "huella_presence",
        1,
        "no es un nombre de conjunto válido",
        dataset="<img src=x onerror=alert(1)>",
    ),
    Case(
        "dataset_name_from_file_name",
        "Agua potable Ñuble 2024.csv",
        "huella_presence",
        0,
        "Agua_potable_Nuble_2024 → huella_presence",
        dataset="Agua_potable_Nuble_2024",
        pass_dataset=False,
    ),
    Case("latin1_csv", "latin1.csv", "huella_presence", 0, "cargadas 1"),
    Case("utf16_csv", "utf16.csv", "huella_presence", 0, "cargadas 1"),
    Case("binary_csv", "binary.csv", "huella_presence", 1, "no es un archivo de texto"),
    Case("utm_without_crs", "utm_without_crs.geojson", "apr", 1, "--crs EPSG:32719"),
    Case(
        "utm_with_crs_option",
        "utm_without_crs.geojson",
        "apr",
        0,
        "reproyectado de EPSG:32719",
        args=("--crs", "EPSG:32719"),
    ),
    Case("utm_declared", "utm_declared.geojson", "apr", 0, "cargadas 1"),
    Case("points_as_communes", "points_as_communes.geojson", "communes", 1, "tiene puntos"),
    Case(
        "polygons_as_facilities",
        "polygons_as_facilities.geojson",
        "facilities",
        1,
        "tiene polígonos",
    ),
    Case("ragged_csv", "ragged.csv", "huella_presence", 1, "la línea 3 tiene 4 campos"),
    Case("huge_number", "huge_number.geojson", "apr", 0, "connections fuera del rango"),
    Case("negative_count", "negative_count.geojson", "apr", 0, "beneficiaries fuera del rango"),
    Case("infinite_coordinate", "infinite_coordinate.csv", "apr", 0, "coordenada infinita"),
    Case("infinite_only", "infinite_only.csv", "apr", 1, "no hay ninguna fila"),
    Case("nan_count", "nan_count.csv", "apr", 0, "cargadas 1"),
    Case(
        "exact_duplicates",
        "exact_duplicates.csv",
        "huella_presence",
        0,
        "duplicados exactos eliminados: 1",
    ),
    Case(
        "duplicate_keys",
        "duplicate_keys.csv",
        "poverty",
        1,
        "1 valor de la clave (cut) se repite con datos distintos: 11101 en línea 2, línea 3",
    ),
    Case(
        "water_key_twice_in_one_file",
        "source/agua_iquique_dos_veces.csv",
        "water_sources",
        1,
        "1 valor de la clave (cut) se repite con datos distintos: 01101 en línea 2, línea 3",
    ),
    Case(
        "poverty_correction_beside_official",
        "source/pobreza_correccion_alto_hospicio_2022.csv",
        "poverty",
        1,
        "1 comuna de este archivo ya tiene datos de poverty (measure, year iguales) del "
        f"conjunto activo '{OFFICIAL_POVERTY}': 01107 Alto Hospicio",
    ),
    Case(
        "apr_second_layer_beside_official",
        "source/apr_coyhaique_segunda_fuente.geojson",
        "apr",
        1,
        "1 comuna de este archivo ya tiene datos de apr_systems del conjunto activo "
        "'ssr_coyhaique_11101': 11101 Coihaique",
    ),
    Case(
        "replaces_unknown_dataset",
        "source/pobreza_correccion_alto_hospicio_2022.csv",
        "poverty",
        1,
        "--replaces pobreza_2021: no hay ningún conjunto activo con ese nombre",
        args=("--replaces", "pobreza_2021"),
    ),
    Case(
        "replaces_dataset_of_another_table",
        "source/pobreza_correccion_alto_hospicio_2022.csv",
        "poverty",
        1,
        "--replaces ssr_coyhaique_11101: ese conjunto es de la tabla apr_systems",
        args=("--replaces", "ssr_coyhaique_11101"),
    ),
    Case(
        "replaces_itself",
        "source/pobreza_correccion_alto_hospicio_2022.csv",
        "poverty",
        1,
        f"--replaces {OFFICIAL_POVERTY}: un conjunto no se reemplaza a sí mismo",
        args=("--replaces", OFFICIAL_POVERTY),
        dataset=OFFICIAL_POVERTY,
    ),
    Case("shapefile_without_sidecars", "lonely_shp/apr.shp", "apr", 1, "faltan apr.shx y apr.dbf"),
    Case("shapefile_without_prj", "no_prj_shp/apr.shp", "apr", 1, "no declara su sistema"),
    Case(
        "shapefile_without_prj_with_crs",
        "no_prj_shp/apr.shp",
        "apr",
        0,
        "cargadas 1",
        args=("--crs", "EPSG:4326"),
    ),
    Case("multilayer_gpkg", "multilayer.gpkg", "apr", 1, "elija una con --layer"),
    Case("cut_gpkg", "cut.gpkg", "apr", 1, "no se puede leer como archivo vectorial"),
    Case(
        "multilayer_gpkg_with_layer",
        "multilayer.gpkg",
        "apr",
        0,
        "cargadas 1",
        args=("--layer", "copia"),
    ),
    Case(
        "self_intersecting_polygon",
        "self_intersecting.geojson",
        "informal_settlements",
        0,
        "geometrías inválidas reparadas: 1",
    ),
    Case(
        "invalid_crs",
        "utm_without_crs.geojson",
        "apr",
        1,
        "no es un sistema de referencia",
        args=("--crs", "EPSG:99999"),
    ),
    Case(
        "unknown_cut",
        "unknown_cut.csv",
        "huella_presence",
        0,
        "código comunal (CUT) desconocido: 99999",
    ),
    Case("only_unknown_cuts", "only_unknown_cuts.csv", "huella_presence", 1, "no hay ninguna fila"),
    Case("wrong_kind_columns", "wrong_columns.csv", "poverty", 1, "faltan las columnas"),
    Case("unsupported_type", "spreadsheet.xlsx", "apr", 1, "no se puede cargar"),
    Case("outside_chile", "madrid.geojson", "apr", 1, "fuera de Chile"),
    Case("partly_outside_chile", "partly_outside.geojson", "apr", 0, "coordenadas fuera de Chile"),
    Case("pascua_and_juan_fernandez", "islands.geojson", "apr", 0, "cargadas 2"),
    Case("csv_without_coordinates", "no_coordinates.csv", "apr", 1, "no tiene columnas de coord"),
    Case(
        "communes_twice_under_two_names",
        "duplicate_communes.geojson",
        "communes",
        1,
        "ya tiene el conjunto 'comunas_chile_345'",
    ),
    Case(
        "poverty_one_rate_as_percentage",
        "units/pobreza_un_porcentaje_2022.csv",
        "poverty",
        1,
        "mezcla proporciones (entre 0 y 1) y porcentajes (mayores que 1): de 1029 valores "
        "distintos de cero, 1 pasan de 1 y 1028 no (línea 2, comuna 1101: pobreza_p = 18,27)",
    ),
    Case(
        "poverty_as_percentages",
        "units/pobreza_porcentajes_2022.csv",
        "poverty",
        0,
        "cargadas 345",
    ),
    Case(
        "poverty_one_interval_swapped",
        "units/pobreza_intervalo_invertido_2022.csv",
        "poverty",
        0,
        "no se cumple ci_lower ≤ rate ≤ ci_upper (0.3573 ≤ 0.326 ≤ 0.2948)",
    ),
    Case(
        "poverty_interval_headers_swapped",
        "units/pobreza_limites_intercambiados_2022.csv",
        "poverty",
        1,
        "no cumplen ci_lower ≤ rate ≤ ci_upper",
    ),
    Case(
        "income_poverty_percent_header_with_shares",
        "units/pobreza_ingresos_proporciones_2022.csv",
        "income_poverty",
        1,
        "debería estar en porcentaje pero todos sus valores están entre 0 y 1",
    ),
    Case(
        "swapped_lat_lon_punta_arenas",
        "swapped_punta_arenas.csv",
        "apr",
        0,
        "latitud y longitud invertidas",
    ),
    Case("swapped_lat_lon_file", "swapped_file.csv", "apr", 1, "2 de 2 geometrías tienen latitud"),
    Case(
        "mendoza_declared_santiago",
        "mendoza_declared_santiago.geojson",
        "apr",
        0,
        "fuera de toda comuna: a ",
    ),
    Case(
        "at_sea_off_valparaiso",
        "at_sea_off_valparaiso.geojson",
        "apr",
        0,
        "fuera de toda comuna: a ",
    ),
    Case(
        "far_from_declared_commune",
        "coyhaique_declared_santiago.geojson",
        "apr",
        0,
        "fuera de su comuna declarada 13101: a ",
    ),
    Case(
        "antarctic_point_of_another_commune",
        "antarctic_declared_coyhaique.geojson",
        "apr",
        0,
        "solo la comuna Antártica (12202)",
    ),
    Case(
        "crs_absurd_towgs84",
        "utm_without_crs.geojson",
        "apr",
        1,
        "coordenadas infinitas o no numéricas",
        args=("--crs", "+proj=utm +zone=19 +south +ellps=intl +towgs84=1e308,0,0,0,0,0,0"),
    ),
    Case(
        "crs_wrong_zone",
        "utm_without_crs.geojson",
        "apr",
        1,
        "el centro de los datos queda en",
        args=("--crs", "EPSG:32612"),
    ),
    Case("unknown_kind", "latin1.csv", "rivers", 1, "el tipo 'rivers' no existe"),
    Case("missing_file", "does_not_exist.geojson", "apr", 1, "no se encontró el archivo"),
)


def _one_source_table(case: Case) -> bool:
    """Whether an accepted case fills a table where one source per fact applies.

    Those cases would be second sources of one another (most put an APR in Coyhaique): each
    runs alone before the base datasets of that table are loaded, and is removed after.
    """
    return case.exit_code == 0 and KINDS[case.kind].table in FACT_SCOPES


def _scores_inputs(store: Store) -> dict[str, str]:
    """sha256 of each table the score reads where one source per fact applies.

    The accepted cases of the other tables (Huella Local lists) add rows on purpose; these
    tables must stay exactly as the official files left them.
    """
    inputs = read_analysis_inputs(store)
    digests = {}
    for name in INPUT_TABLES:
        frame = pd.DataFrame(getattr(inputs, name))
        if name in FACT_SCOPES:
            text = frame.drop(columns=["geom"], errors="ignore").to_csv(index=False)
            digests[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return digests


def _snapshot(store: Store) -> dict[str, tuple[int, str]]:
    """Rows and sha256 of every base dataset."""
    provenance = store.provenance().set_index("dataset")
    snapshot = {}
    for dataset in BASE:
        table = str(provenance["table_name"][dataset])
        rows = store.read_table(table, ["dataset"])
        snapshot[dataset] = (
            int((rows["dataset"] == dataset).sum()),
            str(provenance.loc[dataset, "sha256"]),
        )
    return snapshot


def _run_case(case: Case, env: dict[str, str]) -> CompletedProcess[str]:
    args = ["load-file", str(CORPUS / case.file), "--kind", case.kind, *case.args]
    if case.pass_dataset:
        args += ["--dataset", case.dataset_name]
    return run_geogaps(*args, env=env)


def _run_alone(
    cases: list[Case], env: dict[str, str], open_store: Callable[[], Store]
) -> dict[Case, CompletedProcess[str]]:
    """Run accepted cases of one table one after the other, removing each after its run."""
    results = {}
    store = open_store()  # a store object of this thread's own
    try:
        for case in cases:
            results[case] = _run_case(case, env)
            if case.dataset_name in set(store.provenance()["dataset"]):
                store.remove_dataset(
                    case.dataset_name, attempt_row(case.dataset_name, status="removed")
                )
    finally:
        store.close()
    return results


def _run_corpus(
    store: Store, env: dict[str, str], data_dir: Path, open_store: Callable[[], Store]
) -> dict:
    for dataset in REFERENCE:
        kind, relative = BASE[dataset]
        load_file(store, kind, data_dir / relative, dataset=dataset)
    alone = [c for c in CASES if _one_source_table(c)]
    lanes: dict[str, list[Case]] = {}
    for case in alone:
        lanes.setdefault(KINDS[case.kind].table, []).append(case)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = {}
        for lane in pool.map(lambda c: _run_alone(c, env, open_store), lanes.values()):
            results.update(lane)
    for dataset, (kind, relative) in BASE.items():
        if dataset not in REFERENCE:
            load_file(store, kind, data_dir / relative, dataset=dataset)
    before, inputs_before = _snapshot(store), _scores_inputs(store)
    together = [c for c in CASES if c not in results]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results.update(zip(together, pool.map(lambda c: _run_case(c, env), together), strict=True))
    return {
        "before": before,
        "after": _snapshot(store),
        "inputs_before": inputs_before,
        "inputs_after": _scores_inputs(store),
        "results": results,
        "store": store,
    }


@pytest.fixture(scope="module")
def corpus_runs(database_url, data_dir, tmp_path_factory) -> Iterator[dict[str, dict]]:
    name = _database_name(database_url) + "_badinputs"
    url = _fresh_database(database_url, name)
    postgis = PostgisStore(url)
    postgis.migrate()
    folder = tmp_path_factory.mktemp("bad_inputs_store")
    embedded = EmbeddedStore(folder)
    runs = {
        "postgis": _run_corpus(
            postgis, {"GEOGAPS_DATABASE_URL": url}, data_dir, lambda: PostgisStore(url)
        ),
        "embedded": _run_corpus(
            embedded,
            {"GEOGAPS_DATABASE_URL": "", "GEOGAPS_STORE_DIR": str(folder)},
            data_dir,
            lambda: EmbeddedStore(folder),
        ),
    }
    yield runs
    postgis.close()
    _drop_database(database_url, name)


@pytest.mark.parametrize("store_name", ["postgis", "embedded"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(corpus_runs, store_name, case):
    run = corpus_runs[store_name]
    result = run["results"][case]
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    # Parser internals (GDAL's SQL, pandas' tokenizer) are never echoed to people.
    assert not re.search(r"sqlite3_|SELECT |C error|Error tokenizing", output), output
    assert result.returncode == case.exit_code, output
    assert case.message in " ".join(output.split()), output
    # nothing already loaded changed (a refused reload of a base dataset included), and what
    # the score reads is what the official files say
    assert run["after"] == run["before"]
    if case.exit_code != 0 or _one_source_table(case):
        assert run["inputs_after"] == run["inputs_before"]
    store = run["store"]
    attempts = store.load_attempts()
    mine = attempts[attempts["dataset"] == case.dataset_name]
    if case.kind == "rivers":
        assert mine.empty  # not a kind: refused before any dataset is involved
        return
    statuses = set(mine["status"])
    if _one_source_table(case):
        assert {"loaded", "removed"} <= statuses, mine
    elif case.exit_code == 0:
        assert "loaded" in statuses
        provenance = store.provenance().set_index("dataset")
        assert case.dataset_name in provenance.index
    else:
        refused = mine[mine["status"] == "refused"]
        assert not refused.empty, mine
        reasons = " ".join(" ".join(refused["reason"].astype(str)).split())
        assert case.message.split("'")[0][:20] in reasons


def test_status_lists_refused_files(corpus_runs):
    env = {
        "GEOGAPS_DATABASE_URL": "",
        "GEOGAPS_STORE_DIR": str(corpus_runs["embedded"]["store"].root),
    }
    result = run_geogaps("status", env=env)
    assert result.returncode == 0, result.stderr
    assert "Archivos rechazados" in result.stdout
    assert "case_utm_without_crs" in result.stdout


def test_remove_deletes_rows_and_provenance_on_both_stores(corpus_runs):
    for run in corpus_runs.values():
        store = run["store"]
        # A dataset of its own: the corpus' datasets stay for the other tests, whatever the order.
        load_file(store, "huella_presence", CORPUS / "latin1.csv", dataset="case_to_remove")
        assert "case_to_remove" in set(store.read_table("huella_presence")["dataset"])
        removed = store.remove_dataset(
            "case_to_remove", attempt_row("case_to_remove", status="removed")
        )
        assert removed == 1
        assert "case_to_remove" not in set(store.provenance()["dataset"])
        assert "case_to_remove" not in set(store.read_table("huella_presence")["dataset"])
