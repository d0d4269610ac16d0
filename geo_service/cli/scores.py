"""``geogaps score`` and ``geogaps map``: score the communes and draw a stored run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from pydantic import ValidationError
from rich.table import Table

from geo_service.cli.common import UserError, console, opened_store, settings_from_env

CHALLENGE_HELP = "Challenge id of the catalogue (agua, conectividad, rural_urbano…) or compuesto."


def _score_ids(override: dict[str, object] | None) -> tuple[str, ...]:
    """Challenge ids and the composite id of the catalogue, with a planner's override."""
    from analysis import load_catalogue

    try:
        return load_catalogue(override).score_ids
    except (KeyError, ValueError) as error:
        raise UserError(f"invalid catalogue override: {error}") from None


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


def map_file(
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("output/mapa.html"),
    challenge: Annotated[
        str, typer.Option(help=f"Challenge to map. {CHALLENGE_HELP}")
    ] = "compuesto",
    region: Annotated[str | None, typer.Option(help="Only one region, e.g. 04.")] = None,
) -> None:
    """Write the planners' web map of the newest saved run to an HTML file."""
    from geo_service.services.maps import stored_run_map

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
