"""Rules that keep wrong-but-plausible files out (issue 16): names, cut files, shrinking reloads,
fractional counts, projects located by commune. The same cases run through the real command on
both stores in tests/test_bad_inputs.py; these pin each rule on its own, without data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from domain.datasets import (
    MAX_DATASET_NAME,
    dataset_name_from_file,
    invalid_dataset_name_message,
    is_dataset_name,
)
from layers.constraints import INTEGER_COLUMNS, numeric_columns
from layers.errors import (
    InvalidDatasetNameError,
    LayerError,
    SchemaError,
    TruncatedFileError,
)
from layers.loading import LoadReport, attempt_row, load_file
from layers.loading.checks import SHRINK_TOLERANCE, refuse_shrinking
from layers.readers import projects
from layers.readers.context import ReadContext
from layers.readers.files import read_csv, read_vector
from layers.stores import EmbeddedStore
from layers.validation import SOURCE_ROW, ValidationOutcome, reject_fractional_counts

# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["apr_2024", "ssr_coyhaique_11101", "Establ_educacionales_Petorca_", "x", "a" * 63],
)
def test_slugs_are_dataset_names(name):
    assert is_dataset_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../../x",
        "a/b",
        "x'; DROP TABLE load_attempts; --",
        "a" * 5000,
        "a" * (MAX_DATASET_NAME + 1),
        "<img src=x onerror=alert(1)>",
        "apr 2024",
        "apr-2024",
        "ñandú",
        "apr\n2024",
    ],
)
def test_anything_else_is_not(name):
    assert not is_dataset_name(name)
    message = invalid_dataset_name_message(name)
    assert "no es un nombre de conjunto válido" in message
    assert "guion bajo" in message
    assert len(message) < 250  # a 5,000-character name is not echoed whole


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("Agua potable Ñuble 2024", "Agua_potable_Nuble_2024"),
        ("ssr_coyhaique_11101", "ssr_coyhaique_11101"),
        ("Red_PRE_2018_Petorca_", "Red_PRE_2018_Petorca_"),
        ("apr-2024 (copia)", "apr_2024__copia_"),
        ("..", "__"),
        ("x" * 300, "x" * MAX_DATASET_NAME),
    ],
)
def test_names_derived_from_files_are_slugs(stem, expected):
    assert dataset_name_from_file(stem) == expected
    assert is_dataset_name(dataset_name_from_file(stem))


def test_a_given_name_is_refused_not_rewritten_and_the_refusal_recorded(tmp_path):
    store = EmbeddedStore(tmp_path / "store")
    path = tmp_path / "presence.csv"
    path.write_text("cut,intervention\n11101,mesa\n", encoding="utf-8")
    with pytest.raises(InvalidDatasetNameError, match=r"'\.\./x' no es un nombre de conjunto"):
        load_file(store, "huella_presence", path, dataset="../x")
    attempts = store.load_attempts()
    refused = attempts[attempts["dataset"] == "../x"]
    assert list(refused["status"]) == ["refused"]
    assert store.provenance().empty


def test_refusals_of_impossible_names_are_not_listed_as_pending_datasets(tmp_path):
    store = EmbeddedStore(tmp_path / "store")
    store.record_attempt(attempt_row("<img onerror>", status="refused", reason="nombre"))
    store.record_attempt(attempt_row("apr_2024", status="refused", reason="vacío"))
    assert list(store.unresolved_refusals()["dataset"]) == ["apr_2024"]
    assert len(store.load_attempts()) == 2  # still recorded


# -- completeness -----------------------------------------------------------------------------


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "datos.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text",
    [
        "a,b,c\n1,2,3\n4,5,6",  # no final line end, but complete
        "a,b,c\n1,2,3\n4,5,",  # an empty last field is a field
        'a,b,c\n1,"x\ny",3\n4,5,"q\nr"',  # a quoted field over two lines, closed
        "a;b;c\n1;2;3\n4;5;6\n",
        'a,b\nTubo 2" PVC,1\nx,2\n',  # a quote inside a field is text
    ],
)
def test_complete_csvs_are_read(tmp_path, text):
    assert len(read_csv(_csv(tmp_path, text))) == 2


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a,b,c\n1,2,3\n4,5", 3),
        ("a;b;c\n1;2;3\n4;5", 3),
        ('a,b,c\n1,"x\ny",3\n"q\nr",5', 4),  # the cut record started on line 4
    ],
)
def test_a_csv_cut_mid_row_is_refused_naming_the_line(tmp_path, text, line):
    with pytest.raises(TruncatedFileError, match=rf"la última línea \({line}\) no termina"):
        read_csv(_csv(tmp_path, text))


def test_a_csv_ending_inside_quotes_is_refused_naming_the_line(tmp_path):
    with pytest.raises(TruncatedFileError, match="comillas abierto en la línea 4"):
        read_csv(_csv(tmp_path, 'a,b,c\n1,"x\ny",3\n4,"x'))


def test_a_geojson_that_stops_early_is_refused_as_cut(tmp_path):
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-72.06, -45.57 + i / 1000]},
            "properties": {"nombre": f"APR {i}"},
        }
        for i in range(20)
    ]
    text = json.dumps({"type": "FeatureCollection", "features": features}, indent=1)
    path = tmp_path / "apr.geojson"
    path.write_text(text[: int(len(text) * 0.7)], encoding="utf-8")
    with pytest.raises(TruncatedFileError, match=r"el JSON termina sin cerrarse \(línea \d+\)"):
        read_vector(path)


def _report(tmp_path: Path, loaded: int) -> LoadReport:
    report = LoadReport("apr_x", "apr", "apr_systems", "MOP", tmp_path / "apr.csv", "0" * 64)
    report.rows_read = report.rows_loaded = loaded
    return report


@pytest.mark.parametrize("loaded", [100, 95, 120])
def test_a_reload_may_lose_up_to_the_tolerance(tmp_path, loaded):
    assert SHRINK_TOLERANCE == 0.05
    refuse_shrinking(_report(tmp_path, loaded), {"rows_loaded": 100, "file_name": "a"}, False)


def test_a_reload_losing_more_is_refused_naming_rows_lost_and_the_option(tmp_path):
    report = _report(tmp_path, 94)
    previous = {"rows_loaded": 100, "file_name": "apr.csv"}
    with pytest.raises(LayerError, match=r"se perderían 6 filas, 6 %.*--allow-shrink"):
        refuse_shrinking(report, previous, False)
    refuse_shrinking(report, previous, True)


# -- integers ---------------------------------------------------------------------------------


def test_fractional_counts_are_rejected_row_by_row_with_column_and_value():
    frame = pd.DataFrame(
        {
            SOURCE_ROW: [1, 2, 3, 4, 5],
            "connections": [10.0, 3.5, np.nan, 2.0, 1e6],
            "beneficiaries": [30.0, 9.0, 12.25, 4.0, 5.0],
        }
    )
    outcome = ValidationOutcome()
    kept = reject_fractional_counts(frame, "apr_systems", outcome)
    assert list(kept[SOURCE_ROW]) == [1, 4, 5]
    assert [(r.row, r.reason) for r in outcome.rejections] == [
        (2, "connections = 3.5 no es un número entero"),
        (3, "beneficiaries = 12.25 no es un número entero"),
    ]


def test_estimates_may_be_fractional():
    frame = pd.DataFrame({SOURCE_ROW: [1], "poor_count": [1234.56], "rate": [0.18]})
    outcome = ValidationOutcome()
    assert len(reject_fractional_counts(frame, "poverty", outcome)) == 1
    assert not outcome.rejections


# -- projects without coordinates -------------------------------------------------------------


def test_a_points_csv_without_coordinate_columns_is_refused_unless_points_are_optional(tmp_path):
    path = _csv(tmp_path, "project_id,cut,name,typology\nP1,11101,Sede,Equipamiento\n")
    with pytest.raises(SchemaError, match="no tiene columnas de coordenadas"):
        read_vector(path)
    frame = read_vector(path, points_optional=True)
    assert frame.crs == "EPSG:4326"
    assert frame.geometry.isna().all()


def test_projects_without_coordinates_are_at_commune_precision_and_need_a_typology(tmp_path):
    path = _csv(
        tmp_path,
        "project_id,cut,name,typology\nP1,11101,Sede,Equipamiento\nP2,11101,Posta,\n"
        "P3,11101,Plaza,Parques\n",
    )
    outcome = ValidationOutcome()
    rows = projects.projects(read_vector(path, points_optional=True), path, ReadContext(), outcome)
    assert list(rows["project_id"]) == ["P1"]
    assert list(rows["location_precision"]) == ["commune"]
    reasons = {r.row: r.reason for r in outcome.rejections}
    assert reasons[2].startswith("falta la tipología (typology)")
    assert reasons[3].startswith("la tipología no es una de")


def test_every_integer_column_is_a_number_column_of_its_table():
    for table, columns in INTEGER_COLUMNS.items():
        assert set(columns) <= set(numeric_columns(table)), table
