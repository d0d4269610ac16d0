"""Plain-Spanish explanations: number formatting, one-line drivers and the commune breakdown."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from analysis.formatting import (
    format_number,
    format_rank,
    format_share,
    format_value,
    join_spanish,
)

if TYPE_CHECKING:
    from analysis.scoring import ScoringResult

_NORMALIZATION_LABELS = {
    "minmax": "mín–máx",
    "zscore": "puntaje z",
    "rank": "rango percentil",
    "target": "distancia a la meta",
}
_AGGREGATION_LABELS = {"arithmetic": "media aritmética", "geometric": "media geométrica"}
_OUTLIER_LABELS = {
    "log_winsorize": "log(1 + x) en indicadores asimétricos y winsorización",
    "winsorize": "winsorización",
    "log": "log(1 + x) en indicadores asimétricos",
    "none": "sin tratamiento",
}
_TIER_NAMES = {
    5: (
        "Prioridad muy alta",
        "Prioridad alta",
        "Prioridad media",
        "Prioridad baja",
        "Prioridad muy baja",
    ),
    4: ("Prioridad muy alta", "Prioridad alta", "Prioridad baja", "Prioridad muy baja"),
    3: ("Prioridad alta", "Prioridad media", "Prioridad baja"),
    2: ("Prioridad alta", "Prioridad baja"),
}


def tier_label(tier: float, tier_count: int) -> str:
    """Spanish name of a tier (1 = largest gaps)."""
    if tier is None or (isinstance(tier, float) and math.isnan(tier)):
        return "Sin tramo"
    names = _TIER_NAMES.get(tier_count)
    position = int(tier)
    if names is not None and 1 <= position <= len(names):
        return names[position - 1]
    return f"Tramo {position} de {tier_count}"


def drivers_sentence(drivers: Sequence[tuple[str, str]], available: int, total: int) -> str:
    """One sentence naming the indicators that drive a score, with their raw values.

    Parameters
    ----------
    drivers : sequence of (label, formatted value)
        Driving indicators, largest contribution first (at most three are named).
    available, total : int
        Indicators with data and indicators in the challenge.

    Returns
    -------
    str
        For example ``Principales factores: pobreza multidimensional (31,2 %) y distancia
        al hospital (48,0 km).``
    """
    if drivers:
        named = [f"{label} ({value})" for label, value in drivers[:3]]
        sentence = f"Principales factores: {join_spanish(named)}."
    else:
        sentence = "Ningún indicador aporta brecha: todos están en el mejor nivel del ámbito."
    if available < total:
        sentence += f" Calculado con {available} de {total} indicadores."
    return sentence


def no_score_sentence(available: int, total: int, coverage: float, min_coverage: float) -> str:
    """Explain why a score was not computed."""
    return (
        f"Sin puntaje: hay datos para {available} de {total} indicadores "
        f"(cobertura {format_share(coverage)}, mínimo {format_share(min_coverage)})."
    )


def method_summary(result: ScoringResult) -> str:
    """One paragraph stating the parameters of a run."""
    params = result.parameters
    outliers = _OUTLIER_LABELS[params.outlier_treatment]
    if params.outlier_treatment in ("winsorize", "log_winsorize"):
        low = format_number(100 * params.winsor_quantile, 1)
        high = format_number(100 * (1 - params.winsor_quantile), 1)
        outliers += f" a los percentiles {low} y {high}"
    draws = (
        f"{format_number(params.draws, 0)} simulaciones Monte Carlo (pesos "
        f"±{format_number(100 * params.weight_spread, 0)} %"
        + (", normalización y agregación variables" if params.vary_methods else "")
        + f"), semilla {params.seed}"
        if params.draws
        else "sin simulaciones Monte Carlo"
    )
    return (
        f"Ámbito: {result.scope_label}, {result.communes_in_scope} comunas. "
        f"Catálogo {result.catalogue.version}. Normalización: "
        f"{_NORMALIZATION_LABELS[params.normalization]}; agregación: "
        f"{_AGGREGATION_LABELS[params.aggregation]}; atípicos: {outliers}; {draws}."
    )


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
        method_summary(result),
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
            f"  Intervalo de lugar 5–95 %: {format_rank(_number(row['rank_p05']))}–"
            f"{format_rank(_number(row['rank_p95']))} (mediana "
            f"{format_rank(_number(row['median_rank']))}); en el tramo superior en el "
            f"{format_share(_number(row['top_tier_share']))} de las simulaciones."
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
