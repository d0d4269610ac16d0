"""The plain-Spanish breakdown of one commune's scores (wording in :mod:`analysis.wording`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from analysis.formatting import (
    format_interval,
    format_number,
    format_rank,
    format_share,
    format_value,
    join_spanish,
    rank_of,
)
from analysis.wording import method_summary

if TYPE_CHECKING:
    from analysis.result import ScoringResult


def explain_commune(result: ScoringResult, cut: str) -> str:
    """Multi-line plain-Spanish breakdown of one commune's scores.

    Parameters
    ----------
    result : ScoringResult
        Output of :func:`analysis.scoring.score_communes`.
    cut : str
        Commune code; an unpadded code such as ``4303`` is accepted.

    Returns
    -------
    str
        Every score with rank, interval, tier and coverage; every indicator with raw value and
        unit, normalised value, weights and contribution; missing indicators listed by name;
        spatial cluster, proposed group and Huella Local portfolio.

    Raises
    ------
    KeyError
        If the commune is not in the scope of the result.
    """
    code = str(cut).strip().zfill(5)
    scores = result.scores[result.scores["cut"] == code]
    if scores.empty:
        raise KeyError(
            f"La comuna {cut!r} no está en el resultado (ámbito: {result.scope_label}, "
            f"{result.communes_in_scope} comunas)"
        )
    catalogue = result.catalogue
    indicators = result.indicators[result.indicators["cut"] == code].iloc[0]
    contributions = result.contributions[result.contributions["cut"] == code]
    clusters = result.clusters[result.clusters["cut"] == code]
    groups = result.groups
    lines = [
        f"{indicators['name']} ({code}) · región {indicators['region_code']} "
        f"{indicators['region_name']} · clasificación ODEPA: "
        f"{_text(indicators.get('odepa_classification'))}",
        method_summary(
            result.parameters,
            result.scope_label,
            result.communes_in_scope,
            result.catalogue.version,
        ),
    ]
    if result.parameters.aggregation == "geometric":
        lines.append(
            "Con media geométrica los aportes son la descomposición aritmética (peso × valor "
            "normalizado) y no suman exactamente el puntaje."
        )
    for score_id in catalogue.score_ids:
        row = scores[scores["challenge"] == score_id].iloc[0]
        lines.append("")
        lines.append(catalogue.label_of(score_id))
        lines.extend(_score_lines(row, result))
        notes = result.notes[result.notes["challenge"] == score_id]["note"]
        lines.extend(f"  Nota de fuente: {note}" for note in notes)
        own = contributions[contributions["challenge"] == score_id]
        if score_id == catalogue.composite_id:
            lines.extend(_composite_lines(own, result))
        else:
            lines.extend(_indicator_lines(own, result))
        lines.extend(_spatial_lines(score_id, code, clusters, groups))
    lines.append("")
    lines.extend(_context_lines(code, indicators, result))
    return "\n".join(lines)


def _text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "sin dato"
    return str(value)


def _number(value: object) -> float:
    """Return a cell as float, ``NaN`` for anything missing or not numeric."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number


def _score_lines(row: pd.Series, result: ScoringResult) -> list[str]:
    params = result.parameters
    available = int(row["indicators_available"])
    total = int(row["indicators_total"])
    coverage = (
        f"Cobertura de indicadores: {format_share(_number(row['coverage']))} del peso "
        f"({available} de {total})."
    )
    if math.isnan(_number(row["score"])):
        return [f"  {row['explanation']}", f"  {coverage}"]
    ranked = result.ranked_count(str(row["challenge"]))
    lines = [
        f"  Puntaje {format_number(_number(row['score']), 3)} · lugar "
        f"{format_rank(_number(row['rank']))} de {ranked} · tramo {int(row['tier'])} de "
        f"{params.tier_count} ({row['tier_label']})",
    ]
    if params.draws:
        lines.append(
            f"  Intervalo de lugar 5–95 % de las simulaciones: "
            f"{format_interval(_number(row['rank_p05']), _number(row['rank_p95']))} "
            f"(mediana {format_rank(_number(row['median_rank']))}; lugar puntual "
            f"{format_rank(_number(row['rank']))}); en el tramo superior en el "
            f"{format_share(_number(row['top_tier_share']))} de las simulaciones."
        )
        if result.parameters.region is None:
            region_total = int(
                result.scores[
                    (result.scores["challenge"] == row["challenge"])
                    & (result.scores["region_code"] == row["region_code"])
                ]["score"]
                .notna()
                .sum()
            )
            lines.append(
                f"  En su región: lugar {rank_of(_number(row['rank_region']), region_total)}, "
                "intervalo 5–95 % "
                + format_interval(_number(row["rank_p05_region"]), _number(row["rank_p95_region"]))
                + ", en el tramo superior regional en el "
                + f"{format_share(_number(row['top_tier_share_region']))} de las simulaciones."
            )
    lines.append(f"  {coverage}")
    lines.append(f"  {row['explanation']}")
    return lines


def _indicator_lines(own: pd.DataFrame, result: ScoringResult) -> list[str]:
    lines = ["  Indicadores (valor → normalizado × peso efectivo = aporte; peso del catálogo):"]
    missing: list[str] = []
    unused: list[str] = []
    support = result.indicators.notna().sum()
    for item in own.to_dict("records"):
        indicator = result.catalogue.indicator(str(item["indicator"]))
        raw = _number(item["raw_value"])
        if math.isnan(raw):
            missing.append(indicator.label)
            continue
        value = format_value(raw, indicator.unit)
        normalised = _number(item["normalised"])
        if math.isnan(normalised):
            communes = int(support.get(indicator.column, 0))
            unused.append(
                f"{indicator.label} ({value}; dato en sólo {communes} comunas del ámbito)"
            )
            continue
        effective = _number(item["effective_weight"])
        if math.isnan(effective):
            lines.append(f"    - {indicator.label}: {value} → {format_number(normalised, 3)}")
            continue
        lines.append(
            f"    - {indicator.label}: {value} → {format_number(normalised, 3)} × "
            f"{format_number(effective, 3)} = {format_number(_number(item['contribution']), 3)} "
            f"(peso {format_number(_number(item['weight']), 2)})"
        )
    lines.append(f"  Sin dato: {'; '.join(missing) if missing else 'ninguno'}.")
    if unused:
        lines.append(
            "  No usados en este ámbito (muy pocas comunas con dato para normalizar): "
            f"{'; '.join(unused)}."
        )
    return lines


def _composite_lines(own: pd.DataFrame, result: ScoringResult) -> list[str]:
    catalogue = result.catalogue
    by_challenge = own.groupby("indicator_challenge", sort=False)["contribution"].sum(min_count=1)
    parts = []
    for challenge_id in catalogue.challenge_ids:
        amount = _number(by_challenge.get(challenge_id, math.nan))
        parts.append(f"{catalogue.label_of(challenge_id)} {format_number(amount, 3)}")
    return [f"  Aportes por desafío: {'; '.join(parts)}."]


def _spatial_lines(
    score_id: str, code: str, clusters: pd.DataFrame, groups: pd.DataFrame
) -> list[str]:
    lines: list[str] = []
    own_cluster = clusters[clusters["challenge"] == score_id]
    if not own_cluster.empty:
        cluster = own_cluster.iloc[0]
        p_value = _number(cluster["p_value"])
        detail = "" if math.isnan(p_value) else f" (p = {format_number(p_value, 3)})"
        lines.append(f"  Conglomerado espacial (Moran local): {cluster['quadrant']}{detail}.")
    mine = groups[(groups["challenge"] == score_id) & (groups["cut"] == code)]
    if not mine.empty:
        group_id = mine.iloc[0]["group_id"]
        same_group = groups[(groups["group_id"] == group_id) & (groups["cut"] != code)]
        partners = join_spanish(sorted(str(name) for name in same_group["name"]))
        lines.append(f"  Grupo intercomunal propuesto {group_id}, con {partners}.")
    return lines


def _context_lines(code: str, indicators: pd.Series, result: ScoringResult) -> list[str]:
    poverty_year = _number(indicators["poverty_year"])
    year = "" if math.isnan(poverty_year) else f" {int(poverty_year)}"
    fallback = bool(indicators["rural_sample_fallback"])
    lines = [
        "Contexto",
        f"  Población {int(_number(indicators['population_year']))}: "
        f"{format_number(_number(indicators['population_total']), 0)} habitantes, "
        f"{format_number(_number(indicators['population_rural']), 0)} rurales.",
        f"  Pobreza multidimensional{year}: "
        f"{format_value(_number(indicators['pobreza_multidimensional_pct']), '%')} "
        f"(intervalo de confianza "
        f"{format_value(_number(indicators['pobreza_ic_inferior_pct']), '%')} – "
        f"{format_value(_number(indicators['pobreza_ic_superior_pct']), '%')}).",
        f"  Pobreza por ingresos{year}: "
        f"{format_value(_number(indicators.get('pobreza_ingresos_pct')), '%')} (intervalo de "
        "confianza "
        f"{format_value(_number(indicators.get('pobreza_ingresos_ic_inferior_pct')), '%')} – "
        f"{format_value(_number(indicators.get('pobreza_ingresos_ic_superior_pct')), '%')}).",
        "  Ingreso municipal total por habitante (contexto; incluye el Fondo Común Municipal): "
        f"{format_value(_number(indicators.get('ingreso_municipal_per_capita_clp')), 'CLP/hab')}.",
        f"  Territorio rural muestreado: "
        f"{format_number(_number(indicators['rural_area_km2']), 1)} km², "
        f"{int(_number(indicators['rural_sample_points']))} puntos"
        + (" (sin territorio rural: se muestreó toda la comuna)." if fallback else "."),
    ]
    portfolio = result.portfolio[result.portfolio["cut"] == code].iloc[0]
    presence = (
        f"presente ({portfolio['huella_interventions']})"
        if bool(portfolio["huella_presence"])
        else "sin presencia"
    )
    investment = format_value(_number(portfolio["total_investment_clp"]), "CLP")
    lines.append(
        f"  Huella Local: {presence}; proyectos: {int(portfolio['projects_total'])}; "
        f"inversión conocida: {investment}."
    )
    if bool(portfolio["high_gap_without_intervention"]):
        lines.append("  Comuna de alta brecha (compuesto) sin intervención de Huella Local.")
    return lines
