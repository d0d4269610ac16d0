"""The ``geogaps`` command line: load data, inspect it, score communes, serve the map."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError

from geo_service import cli_decision
from geo_service.cli_support import (
    UserError,
    console,
    errors,
    opened_store,
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
            f"[dim]= {report.dataset}: unchanged (sha256 {report.sha256[:12]}…), "
            f"{report.rows_loaded} rows already loaded[/dim]"
        )
        return
    outcome = report.outcome
    console.print(
        f"[green]✓[/green] {report.dataset} → {report.table_name}: read {report.rows_read}, "
        f"loaded {report.rows_loaded}, rejected {report.rows_rejected} ({report.seconds:.2f} s)"
    )
    for reason, count in report.rejection_reasons().items():
        console.print(f"    rejected {count}: {reason}")
    extras = {
        "exact duplicates removed": outcome.duplicates_removed,
        "invalid geometries repaired": outcome.repaired_geometries,
        "points outside their declared commune (flagged)": outcome.outside_declared_commune,
    }
    for label, count in extras.items():
        if count:
            console.print(f"    {label}: {count}")
    if outcome.reprojected_from:
        console.print(f"    reprojected from {outcome.reprojected_from} to EPSG:4326")
    for note in outcome.notes:
        console.print(f"    note: {note}")


def _print_directory(result: DirectoryLoad) -> None:
    for relative, reason in result.not_loaded.items():
        console.print(f"[dim]- not loaded: {relative} ({reason})[/dim]")
    for relative in result.missing:
        errors.print(f"[yellow]! missing from the data folder: {relative}[/yellow]")
    for relative, message in result.failures.items():
        errors.print(f"[red]✗ {relative}: {message}[/red]")


@app.command()
def load(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder laid out like ../shared/data/chile (default GEOGAPS_DATA_DIR)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Reload files whose sha256 has not changed.")] = False,
) -> None:
    """Load every known dataset of a data folder, validated, with provenance."""
    settings = settings_from_env()
    folder = data_dir or settings.data_dir
    with opened_store(settings) as store:
        progress = Progress(
            TextColumn("[bold]loading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        )
        with progress:
            task = progress.add_task("", total=None)

            def advance(step: int, total: int, name: str) -> None:
                progress.update(task, total=total, completed=step - 1, description=name)

            result = load_directory(store, folder, force=force, on_progress=advance)
        for report in result.reports:
            _print_report(report)
        _print_directory(result)
        console.print(f"store: {store!r}")
    if result.failures:
        raise UserError(f"{len(result.failures)} dataset(s) failed to load; see above")


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
    force: Annotated[bool, typer.Option(help="Reload even if the file is unchanged.")] = False,
) -> None:
    """Load one file as a dataset of the given kind."""
    if kind not in KINDS:
        raise UserError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    settings = settings_from_env()
    # Boundaries get their accents from the INE names of the data folder, as in `load`.
    context = names_with_accents(settings.data_dir) if kind == "communes" else None
    with opened_store(settings) as store:
        report = load_file(
            store, kind, path, crs=crs, dataset=dataset, force=force, context=context
        )
    _print_report(report)


@app.command()
def status() -> None:
    """List loaded datasets with row counts and provenance."""
    settings = settings_from_env()
    with opened_store(settings) as store:
        provenance = store.provenance()
    if provenance.empty:
        console.print("No dataset loaded yet: run `geogaps load`.")
        return
    table = Table(title=f"Datasets in {'PostGIS' if settings.uses_postgis else settings.store_dir}")
    for column in ("dataset", "table", "read", "loaded", "rejected", "sha256", "loaded at"):
        table.add_column(
            column,
            no_wrap=column == "dataset",
            justify="right" if column in {"read", "loaded", "rejected"} else "left",
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


CHALLENGE_CHOICES = ("agua", "conectividad", "rural_urbano", "compuesto")


@app.command()
def score(
    region: Annotated[
        str | None, typer.Option(help="Compare only the communes of one region, e.g. 04.")
    ] = None,
    challenge: Annotated[
        str, typer.Option(help=f"Table to print: {', '.join(CHALLENGE_CHOICES)}.")
    ] = "compuesto",
    weights: Annotated[
        Path | None,
        typer.Option(help="TOML/YAML/JSON file of weights {id: weight} or catalogue changes."),
    ] = None,
    normalization: Annotated[
        str, typer.Option(help="minmax, zscore, rank or target (distance to target).")
    ] = "minmax",
    aggregation: Annotated[str, typer.Option(help="arithmetic or geometric.")] = "arithmetic",
    draws: Annotated[int, typer.Option(help="Monte Carlo draws for rank uncertainty.")] = 1000,
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
    try:
        parameters = ScoringParameters(
            region=region or settings.default_region,
            normalization=normalization,  # type: ignore[arg-type]
            aggregation=aggregation,  # type: ignore[arg-type]
            draws=draws,
            seed=settings.random_seed if seed is None else seed,
            tier_count=tiers,
            tier_method=tier_method,  # type: ignore[arg-type]
        )
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise UserError(f"invalid scoring options: {details}") from None
    if challenge not in CHALLENGE_CHOICES:
        raise UserError(f"unknown challenge {challenge!r}; choose {', '.join(CHALLENGE_CHOICES)}")
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
        "cobertura",
    ):
        ranking.add_column(column, justify="left" if column in ("CUT", "comuna") else "right")
    for row in shown.to_dict("records"):
        interval = (
            f"{row['rank_p05']:.0f}–{row['rank_p95']:.0f}" if pd.notna(row["rank_p05"]) else "—"
        )
        ranking.add_row(
            "—" if pd.isna(row["rank"]) else f"{row['rank']:.0f}",
            str(row["cut"]),
            str(row["name"]),
            "sin dato" if pd.isna(row["score"]) else f"{row['score']:.3f}",
            "—" if pd.isna(row["tier"]) else f"{row['tier']:.0f}",
            interval,
            "—" if pd.isna(row["top_tier_share"]) else f"{row['top_tier_share']:.0%}",
            f"{row['coverage']:.0%}",
        )
    console.print(ranking)


@app.command()
def explain(
    cut: Annotated[str, typer.Argument(help="Commune code (CUT), e.g. 04303 or 4303.")],
) -> None:
    """Print one commune's score breakdown, from the newest saved run (or defaults)."""
    from analysis import ScoringParameters, explain_commune
    from geo_service.scoring import rerun_parameters, run_scoring
    from layers.parsing import pad_cut

    code = pad_cut(cut)
    if code is None:
        raise UserError(f"{cut!r} is not a commune code (CUT)")
    settings = settings_from_env()
    with opened_store(settings) as store:
        try:
            run, _ = store.read_score_run()
            parameters, override = rerun_parameters(run)
        except LookupError:
            parameters, override = ScoringParameters(seed=settings.random_seed), None
        record = run_scoring(store, parameters, override, save=False)
    try:
        console.print(explain_commune(record.result, code))
    except (KeyError, ValueError) as error:
        raise UserError(str(error).strip("'\"")) from None


@app.command("map")
def map_file(
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("output/mapa.html"),
    challenge: Annotated[
        str, typer.Option(help=f"Challenge to map: {', '.join(CHALLENGE_CHOICES)}.")
    ] = "compuesto",
    region: Annotated[str | None, typer.Option(help="Only one region, e.g. 04.")] = None,
) -> None:
    """Write the planners' web map of the newest saved run to an HTML file."""
    from geo_service.mapping import stored_run_map

    if challenge not in CHALLENGE_CHOICES:
        raise UserError(f"unknown challenge {challenge!r}; choose {', '.join(CHALLENGE_CHOICES)}")
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


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Serve the HTTP API (layers, datasets, gap scores)."""
    import uvicorn

    from geo_service.app import create_app

    uvicorn.run(create_app(settings_from_env()), host=host, port=port)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations to the PostGIS database."""
    settings = settings_from_env()
    if not settings.uses_postgis:
        raise UserError("GEOGAPS_DATABASE_URL is not set: the embedded store needs no migrations")
    with opened_store(settings):
        console.print("schema is up to date")


app.command("portafolio")(cli_decision.portafolio)


def main() -> None:
    """Entry point that turns user errors into a message and exit code 1, never a traceback."""
    try:
        app(standalone_mode=False)
    except (UserError, LayerError) as error:
        errors.print(f"[red]error:[/red] {error}")
        sys.exit(1)
    except OperationalError as error:
        errors.print(f"[red]error:[/red] cannot reach the database: {error.orig}")
        sys.exit(1)
