"""A Mesa's spreadsheet round trip: export the matrix and follow-up, import an edited workbook.

An import is checked as a whole before anything is written: every row by the same rules as the
API (:data:`geo_service.services.mesas.RULES`), every edited row against the version it was
exported at. A row someone changed since is a conflict, named with who changed it; any
conflict or invalid row refuses the whole workbook. Without ``apply`` the import is a preview:
the changes it would make, computed inside a write that is then rolled back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.errors import ConflictError, ForbiddenError, InvalidInputError
from geo_service.services.mesas import (
    COORDINATION,
    PreviewRollbackError,
    WriteContext,
    add_in,
    all_or_nothing,
    change_in,
    matrix_view,
    require_role,
    rows_view,
    writing_context,
)
from layers.mesas import MesaRecords
from layers.mesas.base import plain
from layers.mesas.workbook import EditedRow, matrix_workbook, read_workbook
from layers.stores import Store

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_workbook(records: MesaRecords, mesa_id: str) -> bytes:
    """The Mesa's workbook (matrix, commitments, follow-up) as ``.xlsx`` bytes."""
    members = {int(m["id"]): str(m["nombre"]) for m in records.rows(mesa_id, "miembro")}
    return matrix_workbook(
        records.mesa(mesa_id),
        matrix_view(records, mesa_id)["filas"],
        rows_view(records, mesa_id, "compromiso"),
        rows_view(records, mesa_id, "seguimiento"),
        members,
    )


def _normalised(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    """Cell values as the API would send them (a CUT typed as a number gets its zeros back)."""
    commune = values.get("comuna")
    if entity == "fila_matriz" and commune is not None and str(commune).isdigit():
        values = {**values, "comuna": str(commune).zfill(5)}
    return values


def _differences(current: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    for name, value in values.items():
        before = current.get(name)
        if name == "puntajes":
            before = {c: (before or {}).get(c) for c in value}
        if plain(value) != before:
            changed[name] = value
    return changed


def _last_editors(records: MesaRecords, mesa_id: str) -> dict[tuple[str, int], str]:
    """Who wrote each row last (to name the author of a conflicting change)."""
    editors: dict[tuple[str, int], str] = {}
    for entry in records.history(mesa_id):
        if entry["entidad_id"] is not None:
            editors[(str(entry["entidad"]), int(entry["entidad_id"]))] = (
                f"{entry['quien']}, {str(entry['en'])[:16].replace('T', ' ')} UTC"
            )
    return editors


def _import_row(
    ctx: WriteContext,
    entity: str,
    row: EditedRow,
    editors: Mapping[tuple[str, int], str],
    outcome: dict[str, list[Any]],
) -> None:
    """Check and write one row of the workbook, recording its change, conflict or problem."""
    values = _normalised(entity, row.values)
    try:
        if row.row_id is None:
            created, _ = add_in(ctx, entity, values)
            outcome["changes"].append(
                {
                    "hoja": row.sheet,
                    "fila": row.line,
                    "id": created["id"],
                    "accion": "crear",
                    "antes": None,
                    "despues": values,
                }
            )
            return
        current = next((r for r in ctx.write.rows(entity) if r["id"] == row.row_id), None)
        if current is None:
            outcome["problems"].append(f"{row.place}: no existe el registro {row.row_id}")
            return
        if current["version"] != row.version:
            who = editors.get((entity, row.row_id), "otra persona")
            outcome["conflicts"].append(
                f"{row.place} (id {row.row_id}): cambió después de exportar, versión "
                f"{row.version} → {current['version']} ({who})"
            )
            return
        changed = _differences(current, values)
        if not changed:
            return
        change_in(ctx, entity, row.row_id, current["version"], changed)
        outcome["changes"].append(
            {
                "hoja": row.sheet,
                "fila": row.line,
                "id": row.row_id,
                "accion": "modificar",
                "antes": {k: current.get(k) for k in changed},
                "despues": changed,
            }
        )
    except (InvalidInputError, ForbiddenError, ConflictError) as error:
        outcome["problems"].append(f"{row.place}: {error}")


def import_workbook(
    store: Store,
    records: MesaRecords,
    caller: Mapping[str, Any],
    content: bytes,
    *,
    apply: bool,
) -> dict[str, Any]:
    """Preview (or, with ``apply``, make) the changes of an edited workbook, all or none.

    Raises
    ------
    domain.errors.ConflictError
        Rows changed by someone else since the export, each named (409); nothing is written.
    domain.errors.InvalidInputError
        A bad workbook or invalid rows, each named by sheet and row (422); nothing is written.
    """
    require_role(caller, (COORDINATION,), "importar la matriz")
    mesa_id = caller["mesa_id"]
    criteria = [str(c["id"]) for c in records.mesa(mesa_id)["criterios"]]
    edited = read_workbook(content, criteria)
    editors = _last_editors(records, mesa_id)
    outcome: dict[str, list[Any]] = {"changes": [], "conflicts": [], "problems": []}
    try:
        with writing_context(store, records, caller) as ctx:
            for row in edited.matrix:
                _import_row(ctx, "fila_matriz", row, editors, outcome)
            for row in edited.commitments:
                _import_row(ctx, "compromiso", row, editors, outcome)
            all_or_nothing(outcome, apply, "el libro")
    except PreviewRollbackError as preview:
        return {"aplicado": False, "cambios": preview.changes}
    return {"aplicado": True, "cambios": outcome["changes"]}
