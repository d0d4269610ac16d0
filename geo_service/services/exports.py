"""Exports a Mesa de Convergencia can take to its session: Excel-ready CSV and printable HTML.

The CSV is UTF-8 with BOM, ``;``-separated, with Chilean numbers (``1.234,5``) from
:mod:`analysis.formatting`, so Excel in a Chilean locale opens it as is. The HTML page is
self-contained (no network), in Spanish, with a print stylesheet; every name is escaped.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from jinja2 import Environment, select_autoescape

from analysis.decision.portfolio import PortfolioReview
from analysis.formatting import (
    MISSING,
    format_integer,
    format_number,
    format_rank,
    format_share,
    is_missing,
    rank_of,
)

BOM = "\ufeff"
Formatter = Callable[[Any], str]


def yes_no(value: Any) -> str:
    """``sí`` / ``no`` for a flag (``sin dato`` when missing)."""
    if value is None or (isinstance(value, float) and is_missing(value)):
        return MISSING
    return "sí" if bool(value) else "no"


def text(value: Any) -> str:
    """A text cell: missing values become empty."""
    if value is None or (isinstance(value, float) and is_missing(value)):
        return ""
    return str(value)


def money(value: Any) -> str:
    """Pesos with thousands points; ``sin dato`` when no amount is known."""
    return format_integer(value)


def _probability(value: Any) -> str:
    """A 0–1 share as a whole percentage number (``87``), Excel-readable."""
    return MISSING if is_missing(value) else format_number(100.0 * float(value), 0)


def tier(value: Any) -> str:
    """A tier number, or ``sin dato``."""
    return format_rank(value)


def spanish_csv(frame: pd.DataFrame, columns: Sequence[tuple[str, str, Formatter]]) -> str:
    """Render ``frame`` as Excel-ready CSV text (BOM included) with Spanish headers.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows to write.
    columns : sequence of (column, header, formatter)
        Which columns, their Spanish header and how each cell is written.
    """
    rendered = pd.DataFrame(
        {header: [fmt(v) for v in frame[column]] for column, header, fmt in columns},
        columns=[header for _, header, _ in columns],
    )
    buffer = io.StringIO()
    rendered.to_csv(buffer, sep=";", index=False, lineterminator="\r\n")
    return BOM + buffer.getvalue()


PORTFOLIO_COMMUNE_COLUMNS: tuple[tuple[str, str, Formatter], ...] = (
    ("cut", "CUT", text),
    ("name", "Comuna", text),
    ("region_code", "Región", text),
    ("mesa_convergencia", "Mesa de Convergencia", yes_no),
    ("huella_interventions", "Intervenciones Huella Local", text),
    ("portfolio_source", "Fuente de la cartera", text),
    ("projects_total", "Proyectos", format_integer),
    ("projects_without_amount", "Proyectos sin monto", format_integer),
    ("total_investment_clp", "Inversión total (CLP)", money),
    ("private_contribution_clp", "Aporte privado (CLP)", money),
    ("projects_on_high_gap", "Proyectos dirigidos a brechas altas", format_integer),
    ("projects_on_high_gap_share", "Proyectos en brechas altas (%)", _probability),
    ("high_gap_challenges", "Desafíos con brecha alta", text),
    ("unaddressed_high_gaps", "Brechas altas sin proyecto", text),
    ("top_driver_label", "Mayor impulsor de brecha", text),
    ("suggested_typology_label", "Tipología sugerida", text),
    ("suggestion", "Sugerencia", text),
)

PORTFOLIO_CHALLENGE_COLUMNS: tuple[tuple[str, str, Formatter], ...] = (
    ("cut", "CUT", text),
    ("challenge_label", "Desafío", text),
    ("rank_text", "Lugar nacional", text),
    ("tier", "Tramo de prioridad", tier),
    ("high_gap", "Brecha alta", yes_no),
    ("projects_aimed", "Proyectos dirigidos", format_integer),
    ("investment_aimed_clp", "Inversión dirigida (CLP)", money),
    ("private_aimed_clp", "Aporte privado dirigido (CLP)", money),
    ("high_gap_without_project", "Brecha alta sin proyecto", yes_no),
)


def portfolio_communes_csv(review: PortfolioReview) -> str:
    """One line per commune: money, high gaps, unaddressed gaps and the suggestion."""
    return spanish_csv(review.communes, PORTFOLIO_COMMUNE_COLUMNS)


def portfolio_challenges_csv(review: PortfolioReview) -> str:
    """One line per commune and challenge: gap, projects and money aimed at it."""
    rows = review.challenges.assign(
        rank_text=[
            rank_of(rank, int(ranked))
            for rank, ranked in zip(
                review.challenges["rank"], review.challenges["ranked"], strict=True
            )
        ]
    )
    return spanish_csv(rows, PORTFOLIO_CHALLENGE_COLUMNS)


_ENVIRONMENT = Environment(autoescape=select_autoescape(default=True, default_for_string=True))

_PORTFOLIO_PAGE = _ENVIRONMENT.from_string(
    """<!DOCTYPE html>
<html lang="es">
<head>
<meta charset="utf-8">
<title>Cartera y brechas — {{ commune.name }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 60rem; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
table { border-collapse: collapse; width: 100%; margin: 0.8rem 0 1.5rem; font-size: 0.92rem; }
th, td { border: 1px solid #bbb; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; white-space: nowrap; }
.flag { color: #a40000; font-weight: 600; }
.note { color: #555; font-size: 0.85rem; }
@media print {
  body { margin: 0; font-size: 10pt; max-width: none; }
  a { color: inherit; text-decoration: none; }
  .no-print { display: none; }
  table { page-break-inside: auto; } tr { page-break-inside: avoid; }
}
</style>
</head>
<body>
<p class="no-print"><a href="javascript:window.print()">Imprimir</a></p>
<h1>{{ commune.name }} ({{ commune.cut }})</h1>
<p>Región {{ commune.region_code }} ·
{% if commune.mesa_convergencia %}Con{% else %}Sin{% endif %} Mesa de Convergencia
{% if commune.huella_interventions %} · Huella Local: {{ commune.huella_interventions }}
{% endif %}</p>

<h2>Brechas y proyectos dirigidos a ellas</h2>
<table>
<thead><tr><th>Desafío</th><th>Lugar nacional</th><th>Tramo</th><th>Proyectos dirigidos</th>
<th>Inversión dirigida (CLP)</th><th>Aporte privado (CLP)</th><th>Alerta</th></tr></thead>
<tbody>
{% for row in challenges %}<tr>
<td>{{ row.label }}</td><td class="num">{{ row.rank }}</td><td class="num">{{ row.tier }}</td>
<td class="num">{{ row.projects }}</td><td class="num">{{ row.investment }}</td>
<td class="num">{{ row.private }}</td>
<td>{% if row.flag %}<span class="flag">Brecha alta sin proyecto</span>
{% elif row.high %}Brecha alta con proyecto{% endif %}</td>
</tr>{% endfor %}
</tbody>
</table>
<p><strong>Mayor impulsor de brecha:</strong> {{ commune.top_driver_label or "sin dato" }}.
{{ commune.suggestion }}</p>

<h2>Inversión por tipología y etapa</h2>
{% if investments %}
<table>
<thead><tr><th>Tipología</th><th>Etapa</th><th>Proyectos</th><th>Sin monto</th>
<th>Inversión (CLP)</th><th>Aporte privado (CLP)</th><th>Desafíos que atiende</th></tr></thead>
<tbody>
{% for row in investments %}<tr>
<td>{{ row.typology }}</td><td>{{ row.stage }}</td><td class="num">{{ row.projects }}</td>
<td class="num">{{ row.without_amount }}</td><td class="num">{{ row.investment }}</td>
<td class="num">{{ row.private }}</td><td>{{ row.challenges }}</td>
</tr>{% endfor %}
</tbody>
</table>
{% else %}<p>No hay proyectos registrados para esta comuna.</p>{% endif %}

<h2>Proyectos</h2>
{% if projects %}
<table>
<thead><tr><th>Código</th><th>Proyecto</th><th>Tipología</th><th>Etapa</th>
<th>Inversión (CLP)</th><th>¿Apunta a una brecha alta?</th></tr></thead>
<tbody>
{% for row in projects %}<tr>
<td>{{ row.id }}</td><td>{{ row.name }}</td><td>{{ row.typology }}</td><td>{{ row.stage }}</td>
<td class="num">{{ row.investment }}</td><td>{{ row.aimed }}</td>
</tr>{% endfor %}
</tbody>
</table>
{% else %}<p>No hay proyectos registrados para esta comuna.</p>{% endif %}

<p class="note">Brecha alta: tramo de prioridad {{ priority_tiers }} o menor (1 = mayor brecha)
en la comparación nacional. Fuente de los puntajes: {{ source }}. Tipologías y desafíos según
el catálogo de geogaps ({{ catalogue_version }}). Un proyecto de una tipología que atiende dos
desafíos cuenta completo en cada uno. Montos en pesos nominales; «sin dato» cuando el proyecto
no informa monto.</p>
</body>
</html>
"""
)


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def portfolio_page(review: PortfolioReview, source: str, catalogue_version: str) -> str:
    """A printable Spanish page of one commune's portfolio against its gaps.

    Parameters
    ----------
    review : PortfolioReview
        The review restricted to one commune (:meth:`PortfolioReview.commune`).
    source : str
        Where the gap scores come from.
    catalogue_version : str
        Version of the catalogue that maps typologies to challenges.
    """
    commune = review.communes.iloc[0].to_dict()
    challenges = [
        {
            "label": row["challenge_label"],
            "rank": rank_of(row["rank"], int(row["ranked"])),
            "tier": tier(row["tier"]),
            "projects": format_integer(row["projects_aimed"]),
            "investment": money(row["investment_aimed_clp"]),
            "private": money(row["private_aimed_clp"]),
            "flag": bool(row["high_gap_without_project"]),
            "high": bool(row["high_gap"]),
        }
        for row in _rows(review.challenges)
    ]
    investments = [
        {
            "typology": row["typology_label"],
            "stage": row["stage"],
            "projects": format_integer(row["projects"]),
            "without_amount": format_integer(row["projects_without_amount"]),
            "investment": money(row["total_investment_clp"]),
            "private": money(row["private_contribution_clp"]),
            "challenges": row["challenge_labels"],
        }
        for row in _rows(review.investments)
    ]
    projects = [
        {
            "id": row["project_id"],
            "name": row["name"],
            "typology": row["typology_label"],
            "stage": row["stage"],
            "investment": money(row["total_investment_clp"]),
            "aimed": yes_no(row["aimed_at_high_gap"]),
        }
        for row in _rows(review.projects)
    ]
    return _PORTFOLIO_PAGE.render(
        commune=commune,
        challenges=challenges,
        investments=investments,
        projects=projects,
        priority_tiers=review.priority_tiers,
        source=source,
        catalogue_version=catalogue_version,
    )


def _points(value: Any) -> str:
    """A margin in percentage points (``2,3`` / ``-1,0``), Excel-readable."""
    return format_number(value, 1)


def _percent(value: Any) -> str:
    """A percentage as a plain number with decimal comma (``12,4``)."""
    return format_number(value, 1)


def _share(value: Any) -> str:
    """A probability as a percentage (``45 %``)."""
    return format_share(None if is_missing(value) else float(value))


def _index(value: Any) -> str:
    return format_number(value, 3)


def _poverty_columns(key: str, measure: str) -> tuple[tuple[str, str, Formatter], ...]:
    """The nine columns of one poverty criterion: rate, interval, and per average its margin."""
    title = measure[0].upper() + measure[1:]
    columns: list[tuple[str, str, Formatter]] = [
        (f"{key}_pct", f"{title} (%)", _percent),
        (f"{key}_ic_inferior_pct", f"{title}: IC inferior (%)", _percent),
        (f"{key}_ic_superior_pct", f"{title}: IC superior (%)", _percent),
    ]
    for scope in ("regional", "nacional"):
        columns += [
            (f"{key}_{scope}_promedio_pct", f"Promedio {scope} {measure} (%)", _percent),
            (
                f"{key}_{scope}_margen_pp",
                f"{title}: margen sobre el promedio {scope} (pp)",
                _points,
            ),
            (
                f"{key}_{scope}_probabilidad",
                f"{title}: probabilidad de superar el promedio {scope} (%)",
                _probability,
            ),
        ]
    return tuple(columns)


ELIGIBILITY_COLUMNS: tuple[tuple[str, str, Formatter], ...] = (
    ("cut", "CUT", text),
    ("name", "Comuna", text),
    ("region_code", "Región", text),
    ("status", "Clasificación (emulación)", text),
    ("criteria_met", "Criterios cumplidos (de 5)", format_integer),
    ("failed_criteria", "Criterios no cumplidos", text),
    ("territory", "Territorio candidato", text),
    *_poverty_columns("ingresos", "pobreza por ingresos"),
    *_poverty_columns("multidimensional", "pobreza multidimensional"),
    ("aislamiento", "Medida de aislamiento (0–1)", _index),
    ("aislamiento_umbral", "Umbral de aislamiento", _index),
    ("aislamiento_margen", "Margen de aislamiento", _index),
    ("aislamiento_insumos", "Insumos de la medida de aislamiento", text),
    # With the emulated SUBDERE index (issue 18); absent with the fallback measure.
    ("aislamiento_probabilidad", "Probabilidad de aislamiento (sorteos de velocidad)", _share),
    ("aislamiento_poblacion_aislada", "Habitantes en aislamiento", format_integer),
    ("aislamiento_poblacion_pct", "Población en aislamiento (%)", _percent),
    ("probabilidad_susceptible", "Probabilidad de ser susceptible", _share),
)


def eligibility_csv(communes: pd.DataFrame) -> str:
    """The eligibility emulation, one line per commune, Excel-ready."""
    present = [column for column in ELIGIBILITY_COLUMNS if column[0] in communes.columns]
    return spanish_csv(communes, present)
