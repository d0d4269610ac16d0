"""Spanish wording of the results: tier names, method names and one-line sentences.

Numbers inside the sentences go through :mod:`analysis.formatting`. Both the scoring stages
(:mod:`analysis.scoring`) and the breakdown of one commune (:mod:`analysis.explain`) import
from here, so neither imports the other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from analysis.formatting import format_integer, format_number, format_share, join_spanish
from analysis.parameters import ScoringParameters

NORMALIZATION_LABELS = {
    "minmax": "mín–máx",
    "zscore": "puntaje z",
    "rank": "rango percentil",
    "target": "distancia a la meta",
}
AGGREGATION_LABELS = {"arithmetic": "media aritmética", "geometric": "media geométrica"}
OUTLIER_LABELS = {
    "log_winsorize": "log(1 + x) en indicadores asimétricos y winsorización",
    "winsorize": "winsorización",
    "log": "log(1 + x) en indicadores asimétricos",
    "none": "sin tratamiento",
}
#: Label of a commune that has no score for lack of data: never a low gap.
NO_DATA_TIER = "Sin datos suficientes"
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


def tier_label(tier: float | None, tier_count: int) -> str:
    """Spanish name of a tier (1 = largest gaps); a missing tier means missing data."""
    if tier is None or (isinstance(tier, float) and math.isnan(tier)):
        return NO_DATA_TIER
    names = _TIER_NAMES.get(tier_count)
    position = int(tier)
    if names is not None and 1 <= position <= len(names):
        return names[position - 1]
    return f"Tramo {position} de {tier_count}"


def drivers_sentence(drivers: Sequence[tuple[str, str]], missing: Sequence[str]) -> str:
    """One sentence naming the indicators that drive a score, with their raw values.

    Parameters
    ----------
    drivers : sequence of (label, formatted value)
        Driving indicators, largest contribution first (at most three are named).
    missing : sequence of str
        Labels of indicators this commune lacks although the source covers the scope (gaps
        of a whole source are described once per challenge, not here).

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
    if missing:
        sentence += f" Sin dato para esta comuna: {join_spanish(list(missing))}."
    return sentence


def composite_sentence(drivers_text: str, available: int, total: int, absent: Sequence[str]) -> str:
    """The composite's sentence: its drivers and how many challenges it rests on."""
    rests = f"Se apoya en {available} de {total} desafíos"
    if absent:
        rests += f" (sin puntaje en {join_spanish(list(absent))})"
    return f"{drivers_text} {rests}."


def no_score_sentence(available: int, total: int, coverage: float, min_coverage: float) -> str:
    """Explain why a score was not computed: missing data, not a small gap."""
    return (
        f"Sin puntaje por falta de datos (no es una brecha baja): hay datos para {available} "
        f"de {total} indicadores, que cubren el {format_share(coverage)} del peso (mínimo "
        f"{format_share(min_coverage)})."
    )


def layer_coverage_sentence(layer: str, covered: int, total: int, where: str = "") -> str:
    """``La capa APR cubre 2 de 345 comunas``: what a layer covers, said wherever it is shown."""
    return f"{layer} cubre {format_integer(covered)} de {format_integer(total)} comunas{where}"


def not_covered_reason(layer: str, covered: int, total: int) -> str:
    """Why a commune has no value from a layer: the layer does not cover it (it is not a zero)."""
    return (
        f"sin dato: {layer[0].lower()}{layer[1:]} no cubre esta comuna "
        f"({layer_coverage_sentence(layer, covered, total)[len(layer) + 1 :]}); no es un cero"
    )


def structural_gap_note(
    labels: Sequence[str], with_data: int, communes: int, min_share: float
) -> str:
    """Once per challenge: indicators the comparability rule leaves out of the scope."""
    quoted = [f"«{label}»" for label in labels]
    plural = len(labels) > 1
    verb = "quedan" if plural else "queda"
    has = "tienen" if plural else "tiene"
    found = (
        f"no {has} dato en ninguna comuna de ese ámbito (fuente no cargada o sin cobertura)"
        if with_data == 0
        else f"sólo {has} dato en {format_integer(with_data)} de {format_integer(communes)} "
        "comunas de ese ámbito"
    )
    return (
        f"{join_spanish(quoted)} {verb} fuera del puntaje, en el ámbito en que se calculó: "
        f"{found}, y la regla de comparabilidad pide al menos el {format_share(min_share)} "
        "de sus comunas. Así "
        "todas las comunas del ranking se puntúan con los mismos indicadores; la cobertura de "
        "cada comuna es la parte del peso de los indicadores que entran."
    )


def method_summary(
    params: ScoringParameters, scope_label: str, communes: int, catalogue_version: str
) -> str:
    """One paragraph stating the parameters of a run."""
    treatment = str(params.outlier_treatment)
    outliers = OUTLIER_LABELS[treatment]
    if treatment in ("winsorize", "log_winsorize"):
        quantile = params.winsor_quantile
        outliers += (
            f" a los percentiles {format_number(100 * quantile, 1)} y "
            f"{format_number(100 * (1 - quantile), 1)}"
        )
    draws = params.draws
    if draws:
        varied = [f"pesos ±{format_number(100 * params.weight_spread, 0)} %"]
        if params.vary_methods:
            varied.append("normalización y agregación")
        if params.vary_winsorization:
            varied.append("winsorización sí/no")
        if params.sample_estimates:
            varied.append("estimaciones de pobreza dentro de su intervalo de confianza")
        simulation = (
            f"{format_integer(draws)} simulaciones Monte Carlo ({join_spanish(varied)}), "
            f"semilla {params.seed}"
        )
    else:
        simulation = "sin simulaciones Monte Carlo"
    aggregation = AGGREGATION_LABELS[str(params.aggregation)]
    if params.aggregation == "geometric":
        aggregation += (
            " en escala 1–100"
            if params.geometric_scale == "rescaled"
            else " con desplazamiento 0,01"
        )
    return (
        f"Ámbito: {scope_label}, {communes} comunas. Catálogo {catalogue_version}. "
        f"Normalización: {NORMALIZATION_LABELS[str(params.normalization)]}; "
        f"agregación: {aggregation}; atípicos: {outliers}; {simulation}."
    )
