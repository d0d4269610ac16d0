"""``geogaps load``, ``load-file``, ``remove``, ``status`` and ``db upgrade``: a store's data."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from domain.numbers import format_integer, format_seconds
from geo_service.cli.common import (
    UserError,
    console,
    errors,
    global_options,
    opened_store,
    progress_bar,
    settings_from_env,
)
from layers.loading import (
    DirectoryLoad,
    LoadReport,
    load_directory,
    load_file,
    names_with_accents,
)
from layers.readers import KINDS


def _print_report(report: LoadReport) -> None:
    if report.skipped_unchanged:
        console.print(
            f"[dim]= {report.dataset}: sin cambios (sha256 {report.sha256[:12]}…), "
            f"{format_integer(report.rows_loaded)} filas ya cargadas[/dim]"
        )
        return
    outcome = report.outcome
    console.print(
        f"[green]✓[/green] {report.dataset} → {report.table_name}: "
        f"leídas {format_integer(report.rows_read)}, "
        f"cargadas {format_integer(report.rows_loaded)}, "
        f"rechazadas {format_integer(report.rows_rejected)} "
        f"({format_seconds(report.seconds)})"
    )
    if report.replaces:
        console.print(
            f"    reemplaza a {report.replaces}: ese conjunto quedó retirado (se conserva, "
            "no se sirve ni entra en los puntajes)"
        )
    for reason, count in report.rejection_reasons().items():
        console.print(f"    rechazadas {format_integer(count)}: {escape(reason)}")
    extras = {
        "duplicados exactos eliminados": outcome.duplicates_removed,
        "geometrías inválidas reparadas": outcome.repaired_geometries,
        "puntos fuera de la comuna que declaran (marcados)": outcome.outside_declared_commune,
    }
    for label, count in extras.items():
        if count:
            console.print(f"    {label}: {format_integer(count)}")
    if outcome.reprojected_from:
        console.print(f"    reproyectado de {outcome.reprojected_from} a EPSG:4326")
    for note in outcome.notes:
        console.print(f"    nota: {escape(note)}")


def _print_directory(result: DirectoryLoad) -> None:
    for relative, reason in result.not_loaded.items():
        console.print(f"[dim]- no se carga: {relative} ({escape(reason)})[/dim]")
    for relative in result.missing:
        errors.print(f"[yellow]! falta en la carpeta de datos: {relative}[/yellow]")
    for relative, message in result.failures.items():
        errors.print(f"[red]✗ {relative}:[/red] {escape(message)}")
        if global_options["debug"] and relative in result.errors:
            error = result.errors[relative]
            errors.print("".join(traceback.format_exception(error)), markup=False)


def load(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Carpeta ordenada como ../shared/data/chile (por omisión, GEOGAPS_DATA_DIR)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Recarga los archivos aunque no haya cambiado nada que los afecte.")
    ] = False,
    allow_shrink: Annotated[
        bool,
        typer.Option(
            help="Acepta recargas que vacían un conjunto o pierden más del 5 % de sus filas."
        ),
    ] = False,
) -> None:
    """Carga cada conjunto conocido de una carpeta de datos, validado y con su procedencia.

    Se intenta y se informa cada archivo; el código de salida es 1 si alguno fue rechazado.
    """
    settings = settings_from_env()
    folder = data_dir or settings.data_dir
    with opened_store(settings, create=True) as store:
        progress = progress_bar("cargando")
        with progress:
            task = progress.add_task("", total=None)

            def advance(step: int, total: int, name: str) -> None:
                progress.update(task, total=total, completed=step - 1, description=name)

            result = load_directory(
                store, folder, force=force, on_progress=advance, allow_shrink=allow_shrink
            )
        for report in result.reports:
            _print_report(report)
        _print_directory(result)
        console.print(f"almacén: {store!r}")
    if result.failures:
        raise UserError(
            f"{len(result.failures)} de {len(result.failures) + len(result.reports)} archivos "
            "no se cargaron (ver arriba); los demás quedaron cargados"
        )


def load_one_file(
    path: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile, GeoParquet o CSV.")],
    kind: Annotated[str, typer.Option(help=f"Tipo de datos: {', '.join(KINDS)}.")],
    crs: Annotated[
        str | None, typer.Option(help="CRS si el archivo no declara uno, p. ej. EPSG:32719.")
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Nombre del conjunto: letras, dígitos y _, hasta 63 (por omisión, el nombre del "
            "archivo, sin tildes y con _ en lugar de otros caracteres)."
        ),
    ] = None,
    layer: Annotated[
        str | None, typer.Option(help="Capa de un GeoPackage que tiene varias.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Recarga aunque nada haya cambiado.")] = False,
    allow_shrink: Annotated[
        bool,
        typer.Option(help="Acepta una recarga que vacía el conjunto o pierde más del 5 % de él."),
    ] = False,
    replaces: Annotated[
        str | None,
        typer.Option(
            help="Conjunto activo del mismo tipo que este archivo corrige o sustituye: queda "
            "retirado (se conserva, no se sirve ni entra en los puntajes) en la misma carga."
        ),
    ] = None,
) -> None:
    """Carga un archivo como conjunto del tipo indicado."""
    settings = settings_from_env()
    # Boundaries get their accents from the INE names of the data folder, as in `load`.
    context = names_with_accents(settings.data_dir) if kind == "communes" else None
    with opened_store(settings, create=True) as store:
        report = load_file(
            store,
            kind,
            path,
            crs=crs,
            dataset=dataset,
            force=force,
            context=context,
            layer=layer,
            allow_shrink=allow_shrink,
            replaces=replaces,
        )
    _print_report(report)


def remove(
    dataset: Annotated[str, typer.Argument(help="Nombre del conjunto, como en `geogaps status`.")],
) -> None:
    """Borra las filas de un conjunto y su procedencia, en una sola transacción."""
    from layers.loading import attempt_row

    settings = settings_from_env()
    with opened_store(settings) as store:
        removed = store.remove_dataset(dataset, attempt_row(dataset, status="removed"))
    console.print(f"conjunto {dataset} eliminado: {format_integer(removed)} filas y su procedencia")


def status() -> None:
    """Lista los conjuntos cargados con sus filas y procedencia, y los archivos rechazados."""
    settings = settings_from_env()
    with opened_store(settings) as store:
        provenance = store.provenance()
        refused = store.unresolved_refusals()
        retired = store.retired_datasets()
    where = "PostGIS" if settings.uses_postgis else str(settings.store_dir)
    if provenance.empty:
        console.print("Aún no hay conjuntos cargados: ejecute `geogaps load`.")
    else:
        table = Table(title=f"Conjuntos en {where}")
        for column in (
            "conjunto",
            "tabla",
            "leídas",
            "cargadas",
            "rechazadas",
            "sha256",
            "cargado",
        ):
            table.add_column(
                column,
                no_wrap=column == "conjunto",
                justify="right" if column in {"leídas", "cargadas", "rechazadas"} else "left",
            )
        for row in provenance.to_dict("records"):
            table.add_row(
                str(row["dataset"]),
                str(row["table_name"]),
                format_integer(row["rows_read"]),
                format_integer(row["rows_loaded"]),
                format_integer(row["rows_rejected"]),
                str(row["sha256"])[:12],
                pd.Timestamp(row["loaded_at"]).strftime("%Y-%m-%d %H:%M UTC"),
            )
        console.print(table)
    if not refused.empty:
        table = Table(title="Archivos rechazados (el último intento de cada conjunto)")
        for column in ("conjunto", "archivo", "intento", "motivo"):
            table.add_column(column, no_wrap=column != "motivo", overflow="fold")
        for row in refused.to_dict("records"):
            table.add_row(
                str(row["dataset"]),
                str(row["file_name"]),
                pd.Timestamp(row["attempted_at"]).strftime("%Y-%m-%d %H:%M UTC"),
                escape(str(row["reason"])),
            )
        console.print(table)
    if not retired.empty:
        table = Table(title="Conjuntos retirados (se conservan; no se sirven ni puntúan)")
        for column in ("conjunto", "tabla", "filas", "reemplazado por", "retirado"):
            table.add_column(column, no_wrap=True)
        for row in retired.to_dict("records"):
            table.add_row(
                str(row["dataset"]),
                str(row["table_name"]),
                str(row["rows"]),
                str(row["replaced_by"]),
                pd.Timestamp(row["retired_at"]).strftime("%Y-%m-%d %H:%M UTC"),
            )
        console.print(table)


def db_upgrade() -> None:
    """Aplica las migraciones de Alembic a la base de datos PostGIS."""
    settings = settings_from_env()
    if not settings.uses_postgis:
        raise UserError("falta GEOGAPS_DATABASE_URL: el almacén embebido no necesita migraciones")
    with opened_store(settings, create=True):
        console.print("el esquema está al día")
