"""A Mesa's matrix and follow-up as an Excel workbook, and an edited workbook read back.

Mesas work in Excel. The workbook has the sheets ``Matriz`` (one row per need/problem: its
scores per criterion, with a 1–5 drop-down list, and its resources; the data-driven gap and the
combined priority are shown for reading), ``Compromisos`` (state with a drop-down list, due
date, description), ``Seguimiento`` (for reading) and ``Léame``. Each editable row carries its
``id`` and the ``version`` it was exported at, so an import names every row someone changed
since, instead of overwriting it. Reading refuses what is not a plain edit: another file type,
a missing sheet or column, a formula, a value of the wrong kind; the messages name the cell.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from domain.errors import InvalidInputError
from domain.labels import MISSING
from domain.mesas import COMMITMENT_STATES, SCORE_MAX, SCORE_MIN

MATRIX_SHEET = "Matriz"
COMMITMENTS_SHEET = "Compromisos"
FOLLOW_UP_SHEET = "Seguimiento"
README_SHEET = "Léame"
#: Editable text columns of the matrix (the criteria's columns follow them).
MATRIX_TEXT = ("necesidad", "desafio", "indicador", "comuna", "recursos")
#: Columns of the matrix shown for reading only (ignored on import).
MATRIX_READ_ONLY = ("brecha_puntaje", "brecha_nivel", "brecha_lugar", "prioridad")
COMMITMENT_COLUMNS = ("responsable", "descripcion", "vence", "estado", "iniciativa_id")
COMMITMENT_READ_ONLY = ("responsable_nombre", "atrasado")
FOLLOW_UP_COLUMNS = (
    "fecha",
    "autor",
    "avance",
    "nudos_criticos",
    "soluciones",
    "proximo_paso",
    "compromiso_id",
)
#: Most data rows a sheet may have (a Mesa's matrix is tens of rows).
MAX_ROWS = 2000
_READ_ONLY_FILL = PatternFill("solid", start_color="EEEEEE")
_BOLD = Font(bold=True)


@dataclass(frozen=True)
class EditedRow:
    """One row of an edited sheet: where it is, which stored row and version, what it says."""

    sheet: str
    line: int
    row_id: int | None
    version: int | None
    values: dict[str, Any]

    @property
    def place(self) -> str:
        """Where the row is, in words (``hoja Matriz, fila 4``)."""
        return f"hoja {self.sheet}, fila {self.line}"


@dataclass
class EditedWorkbook:
    """What an edited workbook says, sheet by sheet."""

    matrix: list[EditedRow] = field(default_factory=list)
    commitments: list[EditedRow] = field(default_factory=list)


# -- writing --------------------------------------------------------------------------------


def _header(sheet: Worksheet, names: Sequence[str], read_only: Sequence[str]) -> None:
    sheet.append(list(names))
    for index, name in enumerate(names, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = _BOLD
        if name in read_only or name in ("id", "version"):
            cell.fill = _READ_ONLY_FILL
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(name) + 4))
    sheet.freeze_panes = "A2"


def _drop_down(sheet: Worksheet, column: int, values: Sequence[str], rows: int) -> None:
    """A drop-down list on a column's data cells (and some empty rows below, for new rows)."""
    listed = ",".join(values)
    validation = DataValidation(type="list", formula1=f'"{listed}"', allow_blank=True)
    validation.error = f"Elija uno de: {listed}"
    validation.errorTitle = "Valor no válido"
    letter = get_column_letter(column)
    validation.add(f"{letter}2:{letter}{rows + 200}")
    sheet.add_data_validation(validation)


def _cell(value: Any) -> Any:
    """A value a worksheet accepts (control characters, refused by Excel, are dropped)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _append(sheet: Worksheet, values: Sequence[Any]) -> None:
    sheet.append([_cell(v) for v in values])


def _shown(value: Any) -> Any:
    """A value for a read-only cell: missing is "sin dato", never an empty or zero cell."""
    return MISSING if value is None else value


def matrix_workbook(
    mesa: Mapping[str, Any],
    matrix: Sequence[Mapping[str, Any]],
    commitments: Sequence[Mapping[str, Any]],
    follow_up: Sequence[Mapping[str, Any]],
    member_names: Mapping[int, str],
) -> bytes:
    """The Mesa's workbook (see the module docstring), as ``.xlsx`` bytes."""
    book = Workbook()
    readme = book.active
    assert readme is not None
    readme.title = README_SHEET
    criteria = [str(c["id"]) for c in mesa["criterios"]]
    for line in (
        [f"Mesa: {mesa['nombre']}"],
        [f"Exportado: {datetime.now().astimezone().isoformat(timespec='minutes')}"],
        ["Edite las hojas Matriz y Compromisos y vuelva a subir el archivo."],
        ["No cambie las columnas id ni version: dicen qué registro y qué versión editó."],
        [f"Puntajes de criterios: enteros de {SCORE_MIN} a {SCORE_MAX} (lista desplegable)."],
        ["Filas nuevas de la matriz: deje id y version vacíos."],
        ["Columnas grises: solo lectura (se ignoran al importar). Escriba valores, no fórmulas."],
        ["Si otra persona cambió un registro después de exportar, la importación lo nombra y no "],
        ["aplica nada: exporte de nuevo y repita su cambio."],
    ):
        _append(readme, line)

    sheet = book.create_sheet(MATRIX_SHEET)
    names = ["id", "version", *MATRIX_TEXT, *criteria, *MATRIX_READ_ONLY]
    _header(sheet, names, MATRIX_READ_ONLY)
    for row in matrix:
        gap = row.get("brecha") or {}
        scores = row.get("puntajes") or {}
        _append(
            sheet,
            [
                row["id"],
                row["version"],
                *(row.get(name) for name in MATRIX_TEXT),
                *(scores.get(c) for c in criteria),
                _shown(gap.get("puntaje")),
                _shown(gap.get("nivel_etiqueta")),
                _shown(gap.get("lugar")),
                _shown(row["prioridad"]["valor"]),
            ],
        )
    score_values = [str(v) for v in range(SCORE_MIN, SCORE_MAX + 1)]
    for offset in range(len(criteria)):
        _drop_down(sheet, 2 + len(MATRIX_TEXT) + offset + 1, score_values, len(matrix))

    sheet = book.create_sheet(COMMITMENTS_SHEET)
    names = ["id", "version", *COMMITMENT_COLUMNS, *COMMITMENT_READ_ONLY]
    _header(sheet, names, COMMITMENT_READ_ONLY)
    for row in commitments:
        _append(
            sheet,
            [
                row["id"],
                row["version"],
                row["responsable"],
                row["descripcion"],
                date.fromisoformat(str(row["vence"])),
                row["estado"],
                row.get("iniciativa_id"),
                member_names.get(int(row["responsable"]), MISSING),
                "sí" if row["atrasado"] else "no",
            ],
        )
    _drop_down(sheet, names.index("estado") + 1, COMMITMENT_STATES, len(commitments))

    sheet = book.create_sheet(FOLLOW_UP_SHEET)
    _header(sheet, FOLLOW_UP_COLUMNS, FOLLOW_UP_COLUMNS)
    for row in follow_up:
        values = [row.get(name) for name in FOLLOW_UP_COLUMNS]
        values[1] = member_names.get(int(row["autor"]), MISSING)
        _append(sheet, values)
    output = BytesIO()
    book.save(output)
    return output.getvalue()


# -- reading --------------------------------------------------------------------------------


def _cells(sheet: Any) -> Iterator[tuple[int, list[Any]]]:
    for line, cells in enumerate(sheet.iter_rows(), start=1):
        yield line, list(cells)


def _plain_value(cell: Any, where: str, problems: list[str]) -> Any:
    """A cell's value; a formula is a problem (its result is not in the file to be trusted)."""
    value = cell.value
    if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value[:1] == "="):
        problems.append(f"{where}: tiene una fórmula; escriba el valor")
        return None
    if isinstance(value, str):
        value = value.strip() or None
    return value


def _integer(value: Any, where: str, problems: list[str]) -> int | None:
    """A whole number from a cell (``3``, ``3.0`` or ``"3"``); anything else is a problem."""
    if value is None:
        return None
    if isinstance(value, bool):
        problems.append(f"{where}: se esperaba un número entero, no {value!r}")
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    problems.append(f"{where}: se esperaba un número entero, no {value!r}")
    return None


def _date(value: Any, where: str, problems: list[str]) -> date | None:
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: se esperaba una fecha (AAAA-MM-DD), no {value!r}")
        return None


def _sheet_rows(
    book: Any,
    name: str,
    required: Sequence[str],
    read_only: Sequence[str],
    problems: list[str],
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each data row of a sheet as ``{column: cell}``, its columns checked against ``required``."""
    if name not in book.sheetnames:
        raise InvalidInputError(
            f"falta la hoja {name!r} en el libro; las hojas son {', '.join(book.sheetnames)}: "
            "suba el libro que exportó la mesa"
        )
    rows = _cells(book[name])
    header_line = next(rows, None)
    header = [] if header_line is None else [str(c.value or "").strip() for c in header_line[1]]
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInputError(f"a la hoja {name!r} le falta la columna {', '.join(missing)}")
    known = set(required) | set(read_only)
    unknown = [c for c in header if c and c not in known]
    if unknown:
        raise InvalidInputError(
            f"la hoja {name!r} tiene columnas desconocidas: {', '.join(unknown)}"
        )
    for line, cells in rows:
        if line - 1 > MAX_ROWS:
            raise InvalidInputError(f"la hoja {name!r} tiene más de {MAX_ROWS} filas")
        by_name = {header[i]: cell for i, cell in enumerate(cells) if i < len(header) and header[i]}
        if all(cell.value in (None, "") for cell in by_name.values()):
            continue
        yield line, {c: cell for c, cell in by_name.items() if c not in read_only}


def _row(
    sheet: str, line: int, cells: Mapping[str, Any], problems: list[str]
) -> tuple[str, int | None, int | None, dict[str, Any]]:
    where = f"hoja {sheet}, fila {line}"
    values = {
        name: _plain_value(cell, f"{where}, columna {name}", problems)
        for name, cell in cells.items()
    }
    row_id = _integer(values.pop("id", None), f"{where}, columna id", problems)
    version = _integer(values.pop("version", None), f"{where}, columna version", problems)
    if (row_id is None) != (version is None):
        problems.append(f"{where}: id y version van juntos (ambos vacíos en una fila nueva)")
    return where, row_id, version, values


def read_workbook(content: bytes, criteria: Sequence[str]) -> EditedWorkbook:
    """The rows of an edited workbook, every cell checked for its kind.

    Raises
    ------
    domain.errors.InvalidInputError
        Not an ``.xlsx`` file, a missing sheet or column, formulas or values of the wrong
        kind; the message lists every problem with its sheet, row and column.
    """
    try:
        book = load_workbook(BytesIO(content), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise InvalidInputError(
            "el archivo no es un libro de Excel (.xlsx) legible: exporte la matriz de nuevo"
        ) from None
    problems: list[str] = []
    edited = EditedWorkbook()
    try:
        matrix = _sheet_rows(
            book,
            MATRIX_SHEET,
            ["id", "version", *MATRIX_TEXT, *criteria],
            MATRIX_READ_ONLY,
            problems,
        )
        for line, cells in matrix:
            where, row_id, version, values = _row(MATRIX_SHEET, line, cells, problems)
            scores = {
                c: _integer(values.pop(c), f"{where}, columna {c}", problems) for c in criteria
            }
            values = {k: None if v is None else str(v) for k, v in values.items()}
            values["puntajes"] = scores
            edited.matrix.append(EditedRow(MATRIX_SHEET, line, row_id, version, values))
        commitments = _sheet_rows(
            book,
            COMMITMENTS_SHEET,
            ["id", "version", *COMMITMENT_COLUMNS],
            COMMITMENT_READ_ONLY,
            problems,
        )
        for line, cells in commitments:
            where, row_id, version, values = _row(COMMITMENTS_SHEET, line, cells, problems)
            if row_id is None:
                problems.append(f"{where}: los compromisos nuevos se registran en la API, no aquí")
                continue
            values["responsable"] = _integer(
                values["responsable"], f"{where}, responsable", problems
            )
            values["iniciativa_id"] = _integer(
                values["iniciativa_id"], f"{where}, iniciativa_id", problems
            )
            values["vence"] = _date(values["vence"], f"{where}, vence", problems)
            edited.commitments.append(EditedRow(COMMITMENTS_SHEET, line, row_id, version, values))
    finally:
        book.close()
    if problems:
        raise InvalidInputError("el libro no se importó: " + "; ".join(problems))
    return edited
