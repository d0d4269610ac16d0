"""``geogaps score`` and ``geogaps map``: score the communes and draw a stored run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from pydantic import ValidationError
from rich.table import Table

from domain.numbers import format_integer
from domain.text import join_spanish
from geo_service.cli.common import (
    UserError,
    console,
    opened_store,
    settings_from_env,
    validation_details,
)

CHALLENGE_HELP = "Id de un desafío del catálogo (agua, conectividad, rural_urbano…) o compuesto."


def _score_ids(override: dict[str, object] | None) -> tuple[str, ...]:
    """Challenge ids and the composite id of the catalogue, with a planner's override."""
    from analysis import load_catalogue

    try:
        return load_catalogue(override).score_ids
    except (KeyError, ValueError) as error:
        raise UserError(f"cambio de catálogo no válido: {error}") from None


def score(
    region: Annotated[
        str | None, typer.Option(help="Compara sólo las comunas de una región, p. ej. 04.")
    ] = None,
    challenge: Annotated[
        str, typer.Option(help=f"Tabla que imprimir. {CHALLENGE_HELP}")
    ] = "compuesto",
    weights: Annotated[
        Path | None,
        typer.Option(help="Archivo TOML/YAML/JSON de pesos {id: peso} o de cambios al catálogo."),
    ] = None,
    normalization: Annotated[
        str, typer.Option(help="minmax, zscore, rank o target (distancia a la meta).")
    ] = "minmax",
    aggregation: Annotated[
        str, typer.Option(help="arithmetic (aritmética) o geometric (geométrica).")
    ] = "arithmetic",
    draws: Annotated[
        int, typer.Option(help="Simulaciones de Monte Carlo para la incertidumbre del lugar.")
    ] = 1000,
    weight_spread: Annotated[
        float, typer.Option(help="Pesos simulados dentro de ± esta fracción (JRC: 0,25).")
    ] = 0.25,
    legacy_uncertainty: Annotated[
        bool,
        typer.Option(
            help="Monte Carlo anterior: pesos ±50 %, media geométrica con desplazamiento 0,01."
        ),
    ] = False,
    seed: Annotated[
        int | None, typer.Option(help="Semilla aleatoria (por omisión, GEOGAPS_RANDOM_SEED).")
    ] = None,
    tiers: Annotated[int, typer.Option(help="Número de tramos de prioridad.")] = 5,
    tier_method: Annotated[
        str, typer.Option(help="quantiles (cuantiles) o natural_breaks (cortes naturales).")
    ] = "quantiles",
    top: Annotated[int, typer.Option(help="Filas que imprimir (0 = todas).")] = 20,
    out: Annotated[
        Path | None,
        typer.Option(help="Escribe además todos los puntajes en ARCHIVO.csv, .gpkg o .parquet."),
    ] = None,
) -> None:
    """Calcula las brechas de cada comuna, imprime el orden de prioridad y guarda la corrida."""
    from analysis import ScoringParameters, ranked_table
    from geo_service.services.runs import run_scoring
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
        raise UserError(f"opciones de cálculo no válidas: {validation_details(error)}") from None
    choices = _score_ids(override)
    if challenge not in choices:
        raise UserError(f"desafío desconocido {challenge!r}; elija {join_spanish(choices)}")
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
        f"corrida {record.run['run_id'][:12]} guardada · {record.result.scope_label} · "
        f"{format_integer(draws)} simulaciones · semilla {parameters.seed} · sha256 del resultado "
        f"{record.run['result_sha256'][:12]}"
    )
    if out is not None:
        console.print(f"puntajes escritos en {out}")


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


def map_file(
    out: Annotated[Path, typer.Option(help="Archivo HTML que escribir.")] = Path(
        "output/mapa.html"
    ),
    challenge: Annotated[
        str, typer.Option(help=f"Desafío que mapear. {CHALLENGE_HELP}")
    ] = "compuesto",
    region: Annotated[str | None, typer.Option(help="Sólo una región, p. ej. 04.")] = None,
) -> None:
    """Escribe en un archivo HTML el mapa para planificadores de la corrida más reciente."""
    from geo_service.services.maps import stored_run_map

    settings = settings_from_env()
    with opened_store(settings) as store:
        try:
            folium_map = stored_run_map(store, challenge, region)
        except LookupError as error:
            raise UserError(f"{error}: ejecute primero `geogaps score`") from None
        except ValueError as error:
            raise UserError(str(error)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    folium_map.save(str(out))
    console.print(f"mapa escrito en {out}")
