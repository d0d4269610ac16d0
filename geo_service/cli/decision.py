"""Commands of the decision tools: ``portafolio``, ``rezago`` and ``siting``.

Registered on the ``geogaps`` app by ``geo_service/cli/__init__.py``; bodies call
:mod:`geo_service.services` (portfolio, eligibility, siting), the same functions the API uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from domain.numbers import format_integer, format_number, format_share
from geo_service.cli.common import UserError, console, opened_store, settings_from_env

RegionOption = Annotated[
    str | None,
    typer.Option(help="Código de región de dos dígitos, p. ej. 04; por omisión, todo el país."),
]


def _check_region(region: str | None) -> None:
    if region is not None and not (len(region) == 2 and region.isdigit()):
        raise UserError(f"región no válida {region!r}: use un código de dos dígitos, como 04")


def portafolio(
    out: Annotated[
        Path | None,
        typer.Option(help="Escribe ARCHIVO.csv (para Excel) o, con --commune, ARCHIVO.html."),
    ] = None,
    region: RegionOption = None,
    commune: Annotated[str | None, typer.Option(help="CUT de una comuna.")] = None,
    by_challenge: Annotated[
        bool, typer.Option(help="CSV con una línea por comuna y desafío.")
    ] = False,
    priority_tiers: Annotated[
        int, typer.Option(min=1, help="Tramos que cuentan como brecha alta (1 = el primer tramo).")
    ] = 1,
) -> None:
    """La cartera de la Mesa frente a sus brechas: inversión por tipología y etapa."""
    # Imported when the command runs: the decision stack (spopt, scipy) is slow to import.
    from analysis import load_catalogue
    from geo_service.services.exports import (
        portfolio_challenges_csv,
        portfolio_communes_csv,
        portfolio_page,
    )
    from geo_service.services.portfolio import portfolio_review

    _check_region(region)
    with opened_store(settings_from_env()) as store:
        try:
            review, source = portfolio_review(store, region, priority_tiers)
            if commune is not None:
                review = review.commune(commune.zfill(5))
        except (LookupError, ValueError) as error:
            raise UserError(str(error.args[0] if error.args else error)) from None
    table = Table(title=f"Cartera y brechas ({source})")
    for header in ("CUT", "Comuna", "Proyectos", "Brechas altas", "Sin proyecto", "Sugerencia"):
        table.add_column(header)
    shown = review.communes[
        (review.communes["projects_total"] > 0) | review.communes["mesa_convergencia"]
    ]
    if commune is not None or shown.empty:
        shown = review.communes
    for row in shown.head(60).to_dict("records"):
        table.add_row(
            str(row["cut"]),
            str(row["name"]),
            str(row["projects_total"]),
            str(row["high_gap_challenges"]),
            str(row["unaddressed_high_gaps"]),
            str(row["suggested_typology_label"] or ""),
        )
    console.print(table)
    flagged = int(review.communes["high_gap_without_project"].sum())
    console.print(f"{flagged} de {len(review.communes)} comunas con una brecha alta sin proyecto.")
    if out is None:
        return
    if out.suffix.lower() == ".html":
        if commune is None:
            raise UserError("la página imprimible es por comuna: agregue --commune CUT")
        out.write_text(portfolio_page(review, source, load_catalogue().version), "utf-8")
    elif out.suffix.lower() == ".csv":
        text = portfolio_challenges_csv(review) if by_challenge else portfolio_communes_csv(review)
        out.write_text(text, "utf-8", newline="")
    else:
        raise UserError(f"salida no admitida {out.name!r}: use .csv o .html")
    console.print(f"escrito {out}")


def rezago(
    out: Annotated[
        Path | None, typer.Option(help="Escribe ARCHIVO.csv (para Excel) o ARCHIVO.json.")
    ] = None,
    region: RegionOption = None,
    umbral: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Umbral del índice de aislamiento (0–1); por omisión, el calibrado al rango "
            "de las listas publicadas por SUBDERE.",
        ),
    ] = None,
    curva: Annotated[
        Path | None,
        typer.Option(help="Escribe la curva umbral → comunas susceptibles como ARCHIVO.png."),
    ] = None,
) -> None:
    """Zonas Rezagadas emuladas con datos abiertos: criterios, márgenes y probabilidades."""
    from analysis.decision.eligibility import DISCLAIMER, STATUSES
    from geo_service.services.accessibility import land_cover_path
    from geo_service.services.eligibility import eligibility
    from geo_service.services.exports import eligibility_csv
    from maps.eligibility import curve_caption, threshold_curve_png

    _check_region(region)
    if curva is not None and curva.suffix.lower() != ".png":
        raise UserError(f"la curva se escribe como PNG: {curva.name!r} no termina en .png")
    settings = settings_from_env()
    with opened_store(settings) as store:
        try:
            result, sources = eligibility(
                store, region, land_cover=land_cover_path(settings), threshold=umbral
            )
        except LookupError as error:
            raise UserError(str(error.args[0] if error.args else error)) from None
    communes = result.communes
    console.print(f"[bold]{DISCLAIMER}[/bold]")
    for row in sources.to_dict("records"):
        console.print(f"  fuente: {row['dato']}: {row['fuente']} ({row['año']})")
    console.print(f"  aislamiento: {', '.join(result.isolation_inputs) or 'sin insumos'}")
    if result.calibration is not None and result.curve is not None:
        calibration = result.calibration
        console.print(f"  {curve_caption(calibration)}")
        console.print(f"  años de los datos: {calibration['vintages']}")
        for proxy in calibration["sustitutos"].values():
            console.print(f"  sustituto: {proxy}")
        console.print(
            "  curva (umbral → susceptibles, nacional): "
            + " · ".join(
                f"{format_number(row['umbral'], 2)} → {format_integer(row['susceptibles'])}"
                for row in result.curve.to_dict("records")
            )
        )
        if curva is not None:
            curva.write_bytes(threshold_curve_png(result.curve, calibration))
            console.print(f"written {curva}")
    counts = communes["status"].value_counts()
    console.print(
        "; ".join(f"{status}: {int(counts.get(status, 0))}" for status in STATUSES)
        + f" (de {len(communes)} comunas)"
    )
    table = Table(title="Comunas susceptibles y casi susceptibles (emulación)")
    for header in (
        "CUT",
        "Comuna",
        "Clasificación",
        "Probabilidad",
        "Criterios",
        "No cumple",
        "Territorio",
    ):
        table.add_column(header)
    shown = communes[communes["status"].isin(STATUSES[:2])]
    for row in shown.head(80).to_dict("records"):
        table.add_row(
            str(row["cut"]),
            str(row["name"]),
            str(row["status"]),
            format_share(row.get("probabilidad_susceptible")),
            f"{row['criteria_met']} de {row['criteria_total']}",
            str(row["failed_criteria"]),
            row["territory"] if isinstance(row["territory"], str) else "",
        )
    console.print(table)
    for row in result.territories.to_dict("records"):
        console.print(f"territorio candidato {row['territory']}: {row['names']}")
    if out is None:
        return
    if out.suffix.lower() == ".csv":
        out.write_text(eligibility_csv(communes), "utf-8", newline="")
    elif out.suffix.lower() == ".json":
        out.write_text(communes.to_json(orient="records", force_ascii=False, indent=1), "utf-8")
    else:
        raise UserError(f"salida no admitida {out.name!r}: use .csv o .json")
    console.print(f"escrito {out}")


def siting(
    facility: Annotated[
        str, typer.Option(help="primary, cesfam, hospital, school, apr o centre.")
    ] = "primary",
    new: Annotated[int, typer.Option(min=1, max=50, help="Sitios nuevos que ubicar (p).")] = 5,
    minutes: Annotated[
        float, typer.Option(min=5, max=600, help="Estándar de cobertura T, en minutos.")
    ] = 60.0,
    region: Annotated[str, typer.Option(help="Código de región de dos dígitos, p. ej. 04.")] = "04",
    model: Annotated[
        str, typer.Option(help="mclp (máxima cobertura) o pmedian (tiempo medio de viaje).")
    ] = "mclp",
    resolution: Annotated[
        int, typer.Option(min=250, max=5000, help="Tamaño de celda de las superficies, en metros.")
    ] = 1000,
    max_candidates: Annotated[
        int, typer.Option(min=1, max=500, help="Máximo de candidatos (escuelas rurales, APR).")
    ] = 60,
    out: Annotated[
        Path | None, typer.Option(help="Escribe ARCHIVO.gpkg (sitios y comunas), .geojson o .csv.")
    ] = None,
) -> None:
    """Dónde nuevos establecimientos alcanzan a más población rural (spopt MCLP o p-mediana)."""
    from analysis.decision.siting import Model
    from geo_service.services.accessibility import land_cover_path
    from geo_service.services.siting import siting
    from layers.decision_files import write_siting
    from layers.errors import LayerError

    _check_region(region)
    if model not in ("mclp", "pmedian"):
        raise UserError(f"modelo desconocido {model!r}: use mclp o pmedian")
    chosen: Model = "pmedian" if model == "pmedian" else "mclp"
    settings = settings_from_env()
    with opened_store(settings) as store:
        try:
            report = siting(
                store,
                land_cover_path(settings),
                facility=facility,
                new_sites=new,
                minutes=minutes,
                region=region,
                resolution=resolution,
                max_candidates=max_candidates,
                model=chosen,
            )
        except (LookupError, ValueError) as error:
            raise UserError(str(error.args[0] if error.args else error)) from None
        outlines = store.read_table("communes", ["cut", "geom"])
    summary = report.result.summary
    run = report.parameters
    console.print(
        f"{summary['model']}: {summary['new_sites']} sitios nuevos, {run['candidates_kept']} "
        f"candidatos de {run['candidates_considered']}, "
        f"{format_integer(run['demand_cells'])} celdas con población rural"
    )
    before = (
        f"{format_integer(summary['covered_before'])} ({format_share(summary['share_before'], 1)})"
    )
    after = (
        f"{format_integer(summary['covered_after'])} ({format_share(summary['share_after'], 1)})"
    )
    console.print(
        f"población rural a {format_number(minutes, 0)} min o menos: {before} → {after}; "
        f"tiempo medio {format_number(summary['mean_minutes_before'], 1)} → "
        f"{format_number(summary['mean_minutes_after'], 1)} min"
    )
    table = Table(title="Sitios elegidos")
    for header in ("#", "Sitio", "Tipo", "Comuna", "Nueva población cubierta"):
        table.add_column(header)
    for row in report.sites.to_dict("records"):
        table.add_row(
            str(row["order"]),
            str(row["name"]),
            str(row["kind"]),
            str(row["commune"]),
            format_integer(row["newly_covered"]),
        )
    console.print(table)
    gains = report.communes[report.communes["gain"] > 0]
    for row in gains.to_dict("records"):
        console.print(
            f"  gana {row['name']} ({row['cut']}): {format_integer(row['gain'])} personas"
        )
    if out is not None:
        try:
            write_siting(out, report.sites, report.communes, outlines)
        except LayerError as error:
            raise UserError(str(error)) from None
        console.print(f"escrito {out}")
