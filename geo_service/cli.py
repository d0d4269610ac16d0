"""The ``geogaps`` command line: load data, inspect it, score communes, serve the map."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import OperationalError

from geo_service import cli_access, cli_analysis, cli_decision, cli_ops

try:  # typer >= 0.20 ships its own copy of click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import ClickException  # type: ignore[assignment]

from geo_service.cli_support import (
    UserError,
    console,
    errors,
    opened_store,
    progress_bar,
    settings_from_env,
)
from layers.errors import LayerError
from layers.loading import (
    DirectoryLoad,
    LoadReport,
    load_directory,
    load_file,
    names_with_accents,
)
from layers.readers import KINDS

app = typer.Typer(
    help="geogaps: brechas territoriales de las comunas de Chile — territorial gap analysis.\n\n"
    "Without GEOGAPS_DATABASE_URL every command uses the embedded store (GeoParquet files in "
    "GEOGAPS_STORE_DIR); with it, PostGIS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (PostGIS only).", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _print_report(report: LoadReport) -> None:
    if report.skipped_unchanged:
        console.print(
            f"[dim]= {report.dataset}: sin cambios (sha256 {report.sha256[:12]}…), "
            f"{report.rows_loaded} filas ya cargadas[/dim]"
        )
        return
    outcome = report.outcome
    console.print(
        f"[green]✓[/green] {report.dataset} → {report.table_name}: leídas {report.rows_read}, "
        f"cargadas {report.rows_loaded}, rechazadas {report.rows_rejected} "
        f"({report.seconds:.2f} s)"
    )
    for reason, count in report.rejection_reasons().items():
        console.print(f"    rechazadas {count}: {escape(reason)}")
    extras = {
        "duplicados exactos eliminados": outcome.duplicates_removed,
        "geometrías inválidas reparadas": outcome.repaired_geometries,
        "puntos fuera de la comuna que declaran (marcados)": outcome.outside_declared_commune,
    }
    for label, count in extras.items():
        if count:
            console.print(f"    {label}: {count}")
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
        if _state["debug"] and relative in result.errors:
            error = result.errors[relative]
            errors.print("".join(traceback.format_exception(error)), markup=False)


@app.command()
def load(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder laid out like ../shared/data/chile (default GEOGAPS_DATA_DIR)."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Reload files even when nothing that shapes them changed.")
    ] = False,
    allow_shrink: Annotated[
        bool,
        typer.Option(help="Accept reloads that empty a dataset or drop more than half its rows."),
    ] = False,
) -> None:
    """Load every known dataset of a data folder, validated, with provenance.

    Every file is tried and reported; the exit code is 1 if any of them was refused.
    """
    settings = settings_from_env()
    folder = data_dir or settings.data_dir
    with opened_store(settings) as store:
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


@app.command("load-file")
def load_one_file(
    path: Annotated[
        Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile, GeoParquet or CSV.")
    ],
    kind: Annotated[str, typer.Option(help=f"Kind of data: {', '.join(KINDS)}.")],
    crs: Annotated[
        str | None, typer.Option(help="CRS when the file declares none, e.g. EPSG:32719.")
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Dataset name (default: file name without extension).")
    ] = None,
    layer: Annotated[
        str | None, typer.Option(help="Layer of a GeoPackage that has several.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Reload even if nothing changed.")] = False,
    allow_shrink: Annotated[
        bool,
        typer.Option(help="Accept a reload that empties the dataset or drops half its rows."),
    ] = False,
) -> None:
    """Load one file as a dataset of the given kind."""
    settings = settings_from_env()
    # Boundaries get their accents from the INE names of the data folder, as in `load`.
    context = names_with_accents(settings.data_dir) if kind == "communes" else None
    with opened_store(settings) as store:
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
        )
    _print_report(report)


@app.command()
def remove(
    dataset: Annotated[str, typer.Argument(help="Dataset name, as `geogaps status` lists it.")],
) -> None:
    """Delete a dataset's rows and its provenance, in one transaction."""
    from layers.loading import attempt_row

    settings = settings_from_env()
    with opened_store(settings) as store:
        removed = store.remove_dataset(dataset, attempt_row(dataset, status="removed"))
    console.print(f"conjunto {dataset} eliminado: {removed} filas y su procedencia")


@app.command()
def status() -> None:
    """List loaded datasets with row counts and provenance, and files that were refused."""
    settings = settings_from_env()
    with opened_store(settings) as store:
        provenance = store.provenance()
        refused = store.unresolved_refusals()
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
                str(row["rows_read"]),
                str(row["rows_loaded"]),
                str(row["rows_rejected"]),
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


CHALLENGE_HELP = "Challenge id of the catalogue (agua, conectividad, rural_urbano…) or compuesto."


def _score_ids(override: dict[str, object] | None) -> tuple[str, ...]:
    """Challenge ids and the composite id of the catalogue, with a planner's override."""
    from analysis import load_catalogue

    try:
        return load_catalogue(override).score_ids
    except (KeyError, ValueError) as error:
        raise UserError(f"invalid catalogue override: {error}") from None


@app.command()
def score(
    region: Annotated[
        str | None, typer.Option(help="Compare only the communes of one region, e.g. 04.")
    ] = None,
    challenge: Annotated[str, typer.Option(help=f"Table to print. {CHALLENGE_HELP}")] = "compuesto",
    weights: Annotated[
        Path | None,
        typer.Option(help="TOML/YAML/JSON file of weights {id: weight} or catalogue changes."),
    ] = None,
    normalization: Annotated[
        str, typer.Option(help="minmax, zscore, rank or target (distance to target).")
    ] = "minmax",
    aggregation: Annotated[str, typer.Option(help="arithmetic or geometric.")] = "arithmetic",
    draws: Annotated[int, typer.Option(help="Monte Carlo draws for rank uncertainty.")] = 1000,
    weight_spread: Annotated[
        float, typer.Option(help="Monte Carlo weights drawn within ±this share (JRC: 0.25).")
    ] = 0.25,
    legacy_uncertainty: Annotated[
        bool,
        typer.Option(help="Former Monte Carlo: weights ±50 %, geometric mean with 0.01 offset."),
    ] = False,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (default GEOGAPS_RANDOM_SEED).")
    ] = None,
    tiers: Annotated[int, typer.Option(help="Number of priority tiers.")] = 5,
    tier_method: Annotated[str, typer.Option(help="quantiles or natural_breaks.")] = "quantiles",
    top: Annotated[int, typer.Option(help="Rows to print (0 = all).")] = 20,
    out: Annotated[
        Path | None, typer.Option(help="Also write all scores to FILE.csv, .gpkg or .parquet.")
    ] = None,
) -> None:
    """Score every commune's gaps, print the ranked table and save the run."""
    from analysis import ScoringParameters, ranked_table
    from geo_service.scoring import run_scoring
    from layers.files_out import read_mapping_file, write_table

    settings = settings_from_env()
    override = read_mapping_file(weights) if weights else None
    options = {
        "region": region or settings.default_region,
        "normalization": normalization,
        "aggregation": aggregation,
        "draws": draws,
        "seed": settings.random_seed if seed is None else seed,
        "tier_count": tiers,
        "tier_method": tier_method,
    }
    try:
        if legacy_uncertainty:
            parameters = ScoringParameters.legacy_uncertainty(**options)
        else:
            parameters = ScoringParameters.model_validate(
                {**options, "weight_spread": weight_spread}
            )
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise UserError(f"invalid scoring options: {details}") from None
    choices = _score_ids(override)
    if challenge not in choices:
        raise UserError(f"unknown challenge {challenge!r}; choose {', '.join(choices)}")
    with opened_store(settings) as store:
        try:
            record = run_scoring(store, parameters, override)
        except (KeyError, ValueError) as error:
            raise UserError(str(error).strip("'\"")) from None
        table = ranked_table(record.result, challenge)
        if out is not None:
            write_table(record.result.scores, out, store.read_table("communes", ["cut", "geom"]))
    _print_ranking(table, challenge, top)
    console.print(
        f"run {record.run['run_id'][:12]} saved · {record.result.scope_label} · "
        f"{draws} draws · seed {parameters.seed} · result sha256 "
        f"{record.run['result_sha256'][:12]}"
    )
    if out is not None:
        console.print(f"scores written to {out}")


def _print_ranking(table: pd.DataFrame, challenge: str, top: int) -> None:
    shown = table if top <= 0 else table.head(top)
    ranking = Table(title=f"Brechas — {challenge} (rango 1 = mayor brecha)")
    for column in (
        "rango",
        "CUT",
        "comuna",
        "puntaje",
        "tramo",
        "rango 5–95 %",
        "en tramo 1",
        "región: lugar (5–95 %)",
        "cobertura",
    ):
        ranking.add_column(column, justify="left" if column in ("CUT", "comuna") else "right")
    from analysis.formatting import format_interval, format_number, format_rank, format_share

    for row in shown.to_dict("records"):
        region = format_rank(row["rank_region"])
        if pd.notna(row["rank_p05_region"]):
            region += f" ({format_interval(row['rank_p05_region'], row['rank_p95_region'])})"
        ranking.add_row(
            format_rank(row["rank"]),
            str(row["cut"]),
            str(row["name"]),
            format_number(row["score"], 3),
            format_rank(row["tier"]),
            format_interval(row["rank_p05"], row["rank_p95"]),
            format_share(row["top_tier_share"]),
            region,
            format_share(row["coverage"]),
        )
    console.print(ranking)


@app.command("map")
def map_file(
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("output/mapa.html"),
    challenge: Annotated[
        str, typer.Option(help=f"Challenge to map. {CHALLENGE_HELP}")
    ] = "compuesto",
    region: Annotated[str | None, typer.Option(help="Only one region, e.g. 04.")] = None,
) -> None:
    """Write the planners' web map of the newest saved run to an HTML file."""
    from geo_service.mapping import stored_run_map

    settings = settings_from_env()
    with opened_store(settings) as store:
        try:
            folium_map = stored_run_map(store, challenge, region)
        except LookupError as error:
            raise UserError(f"{error}: run `geogaps score` first") from None
        except ValueError as error:
            raise UserError(str(error)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    folium_map.save(str(out))
    console.print(f"map written to {out}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations to the PostGIS database."""
    settings = settings_from_env()
    if not settings.uses_postgis:
        raise UserError("GEOGAPS_DATABASE_URL is not set: the embedded store needs no migrations")
    with opened_store(settings):
        console.print("schema is up to date")


app.command("portafolio")(cli_decision.portafolio)
app.command("rezago")(cli_decision.rezago)
app.command("siting")(cli_decision.siting)
app.command("serve")(cli_ops.serve)
app.command("runs")(cli_ops.runs)
app.command("explain")(cli_ops.explain)
app.command("sensitivity")(cli_analysis.sensitivity)
app.command("audit")(cli_analysis.audit)
app.command("accessibility")(cli_access.accessibility)


_state = {"debug": False}


@app.callback()
def _global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the Python traceback of any error.")
    ] = False,
) -> None:
    """Options for every command."""
    _state["debug"] = debug


def main() -> None:
    """Entry point: user errors print one sentence and exit 1, usage errors exit 2.

    A misspelt command or option prints click's usage message. Errors that are not the user's
    (bugs) print their type and message; ``--debug`` (or ``GEOGAPS_DEBUG=1``) shows the
    traceback of any error.
    """
    _state["debug"] = "--debug" in sys.argv[1:] or os.environ.get("GEOGAPS_DEBUG") == "1"
    try:
        code = app(standalone_mode=False)
    except ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except typer.Abort:
        errors.print("interrumpido")
        sys.exit(130)
    except (UserError, LayerError) as error:
        _traceback_if_debugging()
        errors.print(f"[red]error:[/red] {escape(str(error))}")
        sys.exit(1)
    except OperationalError as error:
        _traceback_if_debugging()
        errors.print(
            "[red]error:[/red] no se puede conectar con la base de datos "
            f"({escape(str(error.orig).strip())}); revise GEOGAPS_DATABASE_URL y que el "
            "servidor esté en marcha"
        )
        sys.exit(1)
    except Exception as error:
        _traceback_if_debugging()
        errors.print(
            f"[red]error inesperado:[/red] {type(error).__name__}: {escape(str(error))}; "
            "repita con --debug para ver el detalle"
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _traceback_if_debugging() -> None:
    if _state["debug"]:
        errors.print(traceback.format_exc(), markup=False)
