"""``geogaps sensitivity`` and ``geogaps audit``: how robust and coherent the index is."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from domain.numbers import format_number
from geo_service.cli.common import (
    UserError,
    console,
    opened_store,
    settings_from_env,
    validation_details,
)

if TYPE_CHECKING:
    from analysis import ScoringParameters


def _parameters(region: str | None, seed: int | None) -> ScoringParameters:
    from analysis import ScoringParameters  # here: a load needs no analysis (faster start)

    settings = settings_from_env()
    try:
        return ScoringParameters(
            region=region or settings.default_region,
            seed=settings.random_seed if seed is None else seed,
            draws=0,
        )
    except ValidationError as error:
        raise UserError(f"opciones inválidas: {validation_details(error)}") from None


def sensitivity(
    region: Annotated[
        str | None, typer.Option(help="Sólo las comunas de una región, p. ej. 04.")
    ] = None,
    challenge: Annotated[
        str, typer.Option(help="Desafío (id del catálogo) o el compuesto.")
    ] = "compuesto",
    samples: Annotated[int, typer.Option(help="N del diseño de Sobol' (potencia de 2).")] = 512,
    top: Annotated[int, typer.Option(help="Tamaño del grupo de primeras comunas.")] = 10,
    seed: Annotated[int | None, typer.Option(help="Semilla (GEOGAPS_RANDOM_SEED).")] = None,
    out: Annotated[Path | None, typer.Option(help="Escribe la tabla en ARCHIVO.csv.")] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            help="Gráfico de barras PNG (por defecto junto a --out, o en "
            "output/sensibilidad_<desafío>_<ámbito>.png)."
        ),
    ] = None,
) -> None:
    """Índices de Sobol' (S1, ST) de los lugares: qué entrada incierta los mueve."""
    from geo_service.services.robustness import scope_label, sensitivity_chart_png, sensitivity_for

    if samples < 2 or samples & (samples - 1):
        raise UserError(f"--samples debe ser una potencia de 2, no {samples}")
    parameters = _parameters(region, seed)
    settings = settings_from_env()
    started = time.perf_counter()
    with opened_store(settings) as store:
        try:
            result = sensitivity_for(store, parameters, challenge, base_samples=samples, top_n=top)
        except (KeyError, ValueError, LookupError) as error:
            raise UserError(str(error).strip("'\"")) from None
    seconds = time.perf_counter() - started
    title = f"Sensibilidad de los lugares — {challenge}, {scope_label(parameters)}"
    table = Table(title=title)
    for column in ("entrada", "resultado", "S1", "± S1", "ST", "± ST"):
        table.add_column(column, justify="left" if column in ("entrada", "resultado") else "right")
    for row in result.table.to_dict("records"):
        table.add_row(
            str(row["label"]),
            str(row["output"]),
            format_number(row["S1"], 3),
            format_number(row["S1_conf"], 3),
            format_number(row["ST"], 3),
            format_number(row["ST_conf"], 3),
        )
    console.print(table)
    console.print(
        f"N = {result.base_samples}, {format_number(result.evaluations, 0)} evaluaciones del "
        f"índice en {format_number(seconds, 1)} s. Resultado: desplazamiento medio absoluto de "
        f"los lugares respecto del lugar puntual (todas las comunas y las primeras {top})."
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.table.to_csv(out, index=False)
        console.print(f"tabla escrita en {out}")
    scope = parameters.region or "nacional"
    chart_path = chart or (
        out.with_suffix(".png")
        if out is not None
        else Path("output") / f"sensibilidad_{challenge}_{scope}.png"
    )
    chart_path.parent.mkdir(parents=True, exist_ok=True)
    chart_path.write_bytes(sensitivity_chart_png(result, title))
    console.print(f"gráfico escrito en {chart_path}")


def audit(
    region: Annotated[
        str | None, typer.Option(help="Sólo las comunas de una región, p. ej. 04.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Escribe las correlaciones entre pares en ARCHIVO.csv.")
    ] = None,
) -> None:
    """Auditoría de coherencia: correlaciones, alfa de Cronbach, primer componente, alertas."""
    from geo_service.services.robustness import audit_for

    parameters = _parameters(region, None)
    settings = settings_from_env()
    with opened_store(settings) as store:
        try:
            result = audit_for(store, parameters)
        except (KeyError, ValueError, LookupError) as error:
            raise UserError(str(error).strip("'\"")) from None
    summary = Table(title=f"Auditoría de coherencia — {result.scope_label}")
    for column in ("desafío", "indicadores", "comunas completas", "alfa", "1.er comp.", "alertas"):
        summary.add_column(column, justify="left" if column == "desafío" else "right")
    for row in result.challenges.to_dict("records"):
        summary.add_row(
            str(row["label"]),
            str(row["indicators"]),
            str(row["communes_complete"]),
            format_number(row["cronbach_alpha"], 2),
            format_number(row["pc1_share"], 2),
            f"{row['flags']} ({row['undocumented']} sin documentar)",
        )
    console.print(summary)
    indicators = Table(title="Correlación de cada indicador con su desafío")
    for column in ("desafío", "indicador", "comunas", "r", "estado"):
        indicators.add_column(column, justify="right" if column in ("comunas", "r") else "left")
    for row in result.indicators.to_dict("records"):
        state = "ok"
        if row["against_direction"]:
            state = "contra su dirección" + (" (documentado)" if row["documented"] else "")
        indicators.add_row(
            str(row["challenge"]),
            str(row["indicator"]),
            str(row["communes_with_data"]),
            format_number(row["r_with_challenge"], 2),
            state,
        )
    console.print(indicators)
    flags = result.flags
    collinear = flags[flags["kind"] != "dirección"]
    if collinear.empty:
        console.print("Ningún par de indicadores con |r| > 0,9.")
    for row in collinear.to_dict("records"):
        console.print(
            f"|r| > 0,9: {row['subject']} (r = {format_number(row['r'], 2)}; "
            + ("documentado en el catálogo)" if row["documented"] else "SIN documentar)")
        )
    console.print(
        "El catálogo pasa su auditoría."
        if result.passed
        else "[red]Hay alertas sin documentar en el catálogo.[/red]"
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.pairs.to_csv(out, index=False)
        console.print(f"correlaciones escritas en {out}")
