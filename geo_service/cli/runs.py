"""``geogaps runs`` and ``geogaps explain``: the stored score runs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from geo_service.cli.common import UserError, console, errors, opened_store, settings_from_env


def runs(
    scope: Annotated[
        str | None,
        typer.Option(help="Sólo corridas de este ámbito: nacional o un código de región."),
    ] = None,
    limit: Annotated[int, typer.Option(help="Cuántas corridas (las más nuevas primero).")] = 20,
) -> None:
    """Lista las corridas guardadas: id, ámbito, fecha, parámetros y huella del resultado."""
    settings = settings_from_env()
    with opened_store(settings) as store:
        total = store.count_runs(scope)
        stored = store.runs(scope, limit=limit)
    table = Table(title=f"Corridas guardadas ({len(stored)} de {total})")
    for column in ("run", "ámbito", "fecha (UTC)", "normalización", "agregación", "sorteos"):
        table.add_column(column)
    table.add_column("semilla", justify="right")
    table.add_column("resultado")
    for run in stored:
        parameters = run.parameters
        table.add_row(
            run.run_id[:12],
            run.scope,
            f"{run.created_at:%Y-%m-%d %H:%M}",
            str(parameters.get("normalization", "")),
            str(parameters.get("aggregation", "")),
            str(parameters.get("draws", "")),
            str(run.seed),
            run.result_sha256[:12],
        )
    console.print(table)


def explain(
    cut: Annotated[str, typer.Argument(help="Código de comuna (CUT), p. ej. 04303 o 4303.")],
    run_id: Annotated[
        str | None,
        typer.Option(help="Una corrida guardada (por omisión, la nacional más reciente)."),
    ] = None,
) -> None:
    """Explica el puntaje de una comuna según una corrida guardada (no se recalcula nada)."""
    from analysis import explain_commune
    from geo_service.services.runs import data_changes, stored_result
    from layers.parsing import pad_cut

    code = pad_cut(cut)
    if code is None:
        raise UserError(f"{cut!r} no es un código de comuna (CUT)")
    settings = settings_from_env()
    with opened_store(settings) as store:
        try:
            if run_id:
                run = store.run(run_id)
            else:
                # The newest national run; without one, the newest run of any scope.
                try:
                    run = store.newest_run()
                except LookupError:
                    newest = store.runs(limit=1)
                    if not newest:
                        raise
                    run = newest[0]
            result = stored_result(store, run)
        except LookupError as error:
            raise UserError(f"{error}: ejecute primero `geogaps score`") from None
        changed = data_changes(store, run)
    try:
        text = explain_commune(result, code)
    except (KeyError, ValueError) as error:
        raise UserError(str(error).strip("'\"")) from None
    console.print(text)
    console.print(f"[dim]corrida {run.run_id[:12]} · {run.scope} · {run.created_at:%Y-%m-%d}[/dim]")
    if changed:
        errors.print(f"[yellow]aviso:[/yellow] {changed}")
