"""Zonas Rezagadas eligibility emulated on open data.

Decreto 975 (Política Nacional de Zonas Rezagadas en materia social).
The policy deems a commune *susceptible* of a lagging-zone plan when it shows an isolation
condition and a social gap: both its income poverty and its multidimensional poverty rates above
the regional and the national averages. This module checks the five criteria for every commune:

1. income poverty above the regional average;
2. income poverty above the national average;
3. multidimensional poverty above the regional average;
4. multidimensional poverty above the national average;
5. isolation: with the travel-time surfaces, SUBDERE's isolation index
   (:mod:`analysis.decision.isolation`): the commune has inhabitants living in isolated places,
   the index threshold calibrated so that the count of susceptible communes falls within the
   published counts; without them, the fallback measure :func:`isolation_measure` at or above
   :data:`ISOLATION_THRESHOLD`.

The averages are population-weighted means of the communal small-area estimates (the same
files the index uses), so they approximate the regional and national CASEN rates. The
official isolation index comes from a SUBDERE study that is not bundled; :func:`isolation_measure`
is a documented substitute built from travel times (when the accessibility results exist),
density, rurality and the dispersion of the rural population.

Each poverty estimate is published with a 95 % confidence interval. The probability that a
commune's rate exceeds an average uses a normal approximation: the standard error is the
interval width divided by ``2 × 1.96`` and the average is treated as fixed, so
``P = Φ((rate − average) / se)``.

With SUBDERE's index, each commune also gets the probability of being susceptible: the
probability that its income rate exceeds the higher of its two averages, times that of its
multidimensional rate, times the share of speed draws in which it keeps an isolated place
(the three are independent estimates). A commune that is not susceptible is *casi susceptible*
when that probability is at least the catalogue's ``near_probability``.

With the fallback measure, a commune is *casi susceptible* when it fails exactly one criterion
and that failure lies within the criterion's uncertainty: a poverty rate at or below the
average whose upper bound is above it, or an isolation measure within
:data:`ISOLATION_TOLERANCE` of the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import norm

from analysis.decision.isolation import (
    IsolationResult,
    calibrate,
    isolated_population,
    load_isolation_settings,
    threshold_curve,
)
from analysis.model import Z_95
from analysis.spatial import contiguous_groups, subgraph

#: Isolation measure (0–1, national percentile composite) at or above which a commune is isolated.
ISOLATION_THRESHOLD = 0.65
#: Distance below the threshold still counted as "within the interval" for a near miss.
ISOLATION_TOLERANCE = 0.05

SUSCEPTIBLE = "susceptible"
NEAR_MISS = "casi susceptible"
NOT_SUSCEPTIBLE = "no susceptible"
NO_DATA = "sin datos suficientes"
STATUSES = (SUSCEPTIBLE, NEAR_MISS, NOT_SUSCEPTIBLE, NO_DATA)

DISCLAIMER = (
    "Emulación con datos abiertos de los criterios de la Política Nacional de Zonas Rezagadas "
    "(Decreto 975), no la lista oficial de SUBDERE. El aislamiento reconstruye el método SUBDERE "
    "2013 (grado de integración y condiciones geográficas estructurales) sobre tiempos de viaje "
    "por superficie de fricción, calibrado al rango de las listas publicadas (SUBDERE 2021: 135; "
    "2022: 120 comunas); pobreza: estimaciones comunales MDSF 2022."
)


@dataclass(frozen=True)
class IsolationComponent:
    """One input of the isolation measure.

    Attributes
    ----------
    column : str
        Column of the commune table holding the raw value.
    label : str
        Spanish label.
    higher_is_more_isolated : bool
        Orientation of the raw value.
    weight : float
        Relative weight among the components present.
    """

    column: str
    label: str
    higher_is_more_isolated: bool
    weight: float


#: Components from the accessibility results (population-weighted travel minutes).
ACCESS_COMPONENTS = (
    IsolationComponent("minutos_centro", "tiempo de viaje al centro regional", True, 0.35),
    IsolationComponent(
        "minutos_rural_atencion_primaria", "tiempo rural a atención primaria", True, 0.15
    ),
    IsolationComponent("minutos_rural_hospital", "tiempo rural a hospital", True, 0.15),
)
#: Components that exist without the accessibility results.
SETTLEMENT_COMPONENTS = (
    IsolationComponent("densidad_hab_km2", "densidad de población", False, 0.15),
    IsolationComponent("habitantes_rurales_por_localidad", "dispersión rural", False, 0.10),
    IsolationComponent("poblacion_rural_pct", "ruralidad", True, 0.10),
)
ISOLATION_COMPONENTS = ACCESS_COMPONENTS + SETTLEMENT_COMPONENTS

#: Poverty measures: (key, label, value column, lower bound column, upper bound column).
POVERTY_MEASURES = (
    (
        "ingresos",
        "pobreza por ingresos",
        "pobreza_ingresos_pct",
        "pobreza_ingresos_ic_inferior_pct",
        "pobreza_ingresos_ic_superior_pct",
    ),
    (
        "multidimensional",
        "pobreza multidimensional",
        "pobreza_multidimensional_pct",
        "pobreza_ic_inferior_pct",
        "pobreza_ic_superior_pct",
    ),
)
SCOPES = (("regional", "regional"), ("nacional", "nacional"))


@dataclass(frozen=True)
class EligibilityResult:
    """Eligibility of every commune, criterion by criterion, and candidate territories.

    Attributes
    ----------
    communes : pandas.DataFrame
        One row per commune: values, averages, margins, probabilities, flags, ``criteria_met``,
        ``failed_criteria``, ``status``, ``territory``, ``isolation`` and
        ``isolation_inputs``.
    criteria : pandas.DataFrame
        One row per commune and criterion: ``cut, criterion, label, value, threshold, margin,
        unit, met, probability, within_interval``.
    territories : pandas.DataFrame
        One row per candidate lagging territory: ``territory, region_code, communes, cuts,
        names, population``.
    isolation_inputs : tuple of str
        Labels of the isolation components that had data.
    curve : pandas.DataFrame, optional
        With SUBDERE's index: susceptible communes (``susceptibles``) for every threshold of
        the index (``umbral``).
    calibration : dict, optional
        With SUBDERE's index: the threshold used, whether it was calibrated, its count, the
        target range, the published counts and the vintages.
    """

    communes: pd.DataFrame
    criteria: pd.DataFrame
    territories: pd.DataFrame
    isolation_inputs: tuple[str, ...]
    curve: pd.DataFrame | None = None
    calibration: dict[str, Any] | None = None


def isolation_measure(
    table: pd.DataFrame, components: Sequence[IsolationComponent] = ISOLATION_COMPONENTS
) -> tuple[pd.Series, tuple[str, ...]]:
    """Composite isolation measure in [0, 1] (1 = most isolated of the table).

    Each component present in ``table`` (a column with at least one value) becomes a
    percentile rank among the rows (average ranks for ties), oriented so that 1 is the most
    isolated; the measure is their weighted mean over the components each commune has.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per commune; pass the whole country so percentiles are national.
    components : sequence of IsolationComponent
        Candidate components; absent ones are skipped and the weights renormalised.

    Returns
    -------
    tuple
        The measure (``NaN`` for a commune with no component) and the labels used.
    """
    used = [c for c in components if c.column in table and table[c.column].notna().any()]
    if not used:
        return pd.Series(np.nan, index=table.index), ()
    weighted = np.zeros(len(table))
    weights = np.zeros(len(table))
    for component in used:
        values = pd.to_numeric(table[component.column], errors="coerce")
        oriented = values if component.higher_is_more_isolated else -values
        ranks = oriented.rank(pct=True, method="average").to_numpy(dtype=float)
        present = np.isfinite(ranks)
        weighted[present] += component.weight * ranks[present]
        weights[present] += component.weight
    with np.errstate(invalid="ignore", divide="ignore"):
        measure = np.where(weights > 0, weighted / weights, np.nan)
    return pd.Series(measure, index=table.index), tuple(c.label for c in used)


def weighted_average(values: pd.Series, weights: pd.Series) -> float:
    """Population-weighted mean over the rows with both value and weight."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    w = pd.to_numeric(weights, errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(v) & np.isfinite(w) & (w > 0)
    if not keep.any():
        return float("nan")
    return float(np.average(v[keep], weights=w[keep]))


def probability_above(
    rate: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike, threshold: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Probability that the true rate exceeds ``threshold`` given a 95 % interval.

    Normal approximation: ``se = (upper − lower) / (2 × 1.96)``. A zero-width interval gives
    0 or 1; a missing interval gives ``NaN``.
    """
    rate_a, lower_a, upper_a, threshold_a = (
        np.asarray(x, dtype=float) for x in (rate, lower, upper, threshold)
    )
    se = (upper_a - lower_a) / (2.0 * Z_95)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (rate_a - threshold_a) / se
        exact = np.where(rate_a > threshold_a, 1.0, 0.0)
        probability = np.where(se > 0, norm.cdf(z), exact)
    return np.where(np.isfinite(se) & np.isfinite(rate_a), probability, np.nan)


def assess_eligibility(
    table: pd.DataFrame,
    neighbours: dict[int, list[int]] | None = None,
    *,
    isolation_threshold: float = ISOLATION_THRESHOLD,
    isolation_tolerance: float = ISOLATION_TOLERANCE,
    components: Sequence[IsolationComponent] = ISOLATION_COMPONENTS,
    max_territory_size: int = 8,
    isolation: IsolationResult | None = None,
    index_threshold: float | None = None,
) -> EligibilityResult:
    """Check the five criteria for every commune and group the susceptible ones.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per commune of the whole country (averages and percentiles are national):
        ``cut, name, region_code, population_total``, the poverty columns of
        :data:`POVERTY_MEASURES` (percent, with 95 % bounds) and any isolation component
        columns (:data:`ISOLATION_COMPONENTS`).
    neighbours : dict, optional
        Contiguity of the rows by position (:func:`analysis.geometry.contiguity`); without it
        no territory is proposed.
    isolation_threshold : float
        Isolation measure at or above which the isolation criterion is met.
    isolation_tolerance : float
        A failed isolation criterion within this distance of the threshold is a near miss.
    components : sequence of IsolationComponent
        Isolation components to use when present.
    max_territory_size : int
        Larger connected sets of susceptible communes are split (SKATER) into groups of
        about this size.
    isolation : IsolationResult, optional
        SUBDERE's isolation index per commune (:func:`analysis.decision.isolation.
        commune_isolation`); without it the fallback measure is used.
    index_threshold : float, optional
        Threshold of SUBDERE's index; calibrated to the published counts when omitted.

    Returns
    -------
    EligibilityResult
        Communes, criteria, territories and the isolation inputs used.
    """
    frame, neighbours = _sorted_by_cut(table, neighbours)
    out = frame[["cut", "name", "region_code"]].copy()
    out["population_total"] = pd.to_numeric(frame["population_total"], errors="coerce")
    criteria_rows = _poverty_criteria(frame, out)
    curve: pd.DataFrame | None = None
    calibration: dict[str, Any] | None = None
    if isolation is None:
        isolation_rows, inputs = _isolation_criterion(
            frame, out, components, isolation_threshold, isolation_tolerance
        )
    else:
        isolation_rows, curve, calibration = _subdere_isolation_criterion(
            out, isolation, index_threshold
        )
        inputs = tuple(c.label for c in _settings_components())
    criteria_rows.append(isolation_rows)
    names = [f"{m[0]}_{scope}" for m in POVERTY_MEASURES for scope, _ in SCOPES] + ["aislamiento"]
    _classify(out, names, criteria_rows)
    if isolation is not None:
        _classify_by_probability(out)
    out["territory"] = _territories(out, frame, neighbours, max_territory_size)

    criteria = pd.concat(criteria_rows, ignore_index=True)
    criteria["met"] = criteria["met"].map({1.0: True, 0.0: False}).astype("boolean")
    for column in [c for c in out.columns if c.endswith("_cumple")]:
        out[column] = out[column].map({1.0: True, 0.0: False}).astype("boolean")
    criteria = criteria.sort_values(["cut"], kind="stable").reset_index(drop=True)
    return EligibilityResult(
        communes=out,
        criteria=criteria,
        territories=_territory_table(out),
        isolation_inputs=inputs,
        curve=curve,
        calibration=calibration,
    )


def restricted(result: EligibilityResult, cuts: set[str], region: str) -> EligibilityResult:
    """The national result with only the rows of ``cuts`` (averages stay national)."""
    return replace(
        result,
        communes=result.communes[result.communes["cut"].isin(cuts)].reset_index(drop=True),
        criteria=result.criteria[result.criteria["cut"].isin(cuts)].reset_index(drop=True),
        territories=result.territories[
            result.territories["region_code"].astype(str) == region
        ].reset_index(drop=True),
    )


def _settings_components() -> tuple[Any, ...]:
    settings = load_isolation_settings()
    return settings.integration + settings.structure


def _poverty_met(out: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Communes meeting the four poverty criteria at the point estimates."""
    columns = [f"{m[0]}_{scope}_cumple" for m in POVERTY_MEASURES for scope, _ in SCOPES]
    met = out[columns].to_numpy(dtype=float)
    return np.asarray((met == 1.0).all(axis=1), dtype=bool)


def _subdere_isolation_criterion(
    out: pd.DataFrame, isolation: IsolationResult, threshold: float | None
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Criterion 5 with SUBDERE's index: an isolated place in the commune, and its probability.

    The threshold of the index is calibrated when not given: the one whose count of
    susceptible communes is nearest the middle of the published range
    (:func:`analysis.decision.isolation.calibrate`). Writes the critical index, threshold,
    margin, flag, probability, inhabitants in isolation and share into ``out``; returns the
    criterion rows, the threshold curve and the calibration record.
    """
    settings = load_isolation_settings()
    communes = isolation.communes.set_index("cut")
    critical = communes["aislamiento_indice_critico"].reindex(out["cut"]).to_numpy(dtype=float)
    position = pd.Series(np.arange(len(communes)), index=communes.index)
    rows = position.reindex(out["cut"]).to_numpy(dtype=float)
    known_row = np.isfinite(rows)
    draws = np.full((len(out), isolation.critical_draws.shape[1]), np.nan)
    draws[known_row] = isolation.critical_draws[rows[known_row].astype(int)]
    target = settings.calibration
    curve = threshold_curve(_poverty_met(out), critical, target.thresholds)
    calibrated_threshold, count, within = calibrate(curve, target.target_min, target.target_max)
    used = calibrated_threshold if threshold is None else float(threshold)
    margin = critical - used
    met = np.where(np.isfinite(margin), margin >= -1e-12, np.nan)
    with np.errstate(invalid="ignore"):
        probability = np.where(np.isfinite(critical), (draws >= used - 1e-12).mean(axis=1), np.nan)
    isolated = isolated_population(isolation, used).set_index("cut").reindex(out["cut"])
    out["aislamiento"] = critical
    out["aislamiento_umbral"] = used
    out["aislamiento_margen"] = margin
    out["aislamiento_cumple"] = met
    out["aislamiento_probabilidad"] = probability
    out["aislamiento_dentro_intervalo"] = (met == 0) & (probability > 0)
    out["aislamiento_poblacion_aislada"] = isolated["aislamiento_poblacion_aislada"].to_numpy()
    out["aislamiento_poblacion_pct"] = isolated["aislamiento_poblacion_pct"].to_numpy()
    for column in ("aislamiento_indice_medio", "aislamiento_integracion_media"):
        out[column] = communes[column].reindex(out["cut"]).to_numpy(dtype=float)
    out["aislamiento_estructura_media"] = (
        communes["aislamiento_estructura_media"].reindex(out["cut"]).to_numpy(dtype=float)
    )
    out["aislamiento_insumos"] = "índice SUBDERE 2013 emulado (" + settings.version + ")"
    criterion = pd.DataFrame(
        {
            "cut": out["cut"],
            "criterion": "aislamiento",
            "label": "localidades en condición de aislamiento (índice SUBDERE emulado)",
            "value": critical,
            "threshold": used,
            "margin": margin,
            "unit": "índice 0–1",
            "met": met,
            "probability": probability,
            "within_interval": out["aislamiento_dentro_intervalo"].to_numpy(),
        }
    )
    used_count = int(threshold_curve(_poverty_met(out), critical, [used])["susceptibles"].iloc[0])
    calibration = {
        "umbral": used,
        "calibrado": threshold is None,
        "umbral_calibrado": calibrated_threshold,
        "susceptibles": used_count,
        "susceptibles_calibrado": count,
        "dentro_del_rango": bool(target.target_min <= used_count <= target.target_max),
        "rango_publicado": [target.target_min, target.target_max],
        "calibracion_lograda": within,
        "listas_publicadas": [p.model_dump() for p in target.published],
        "vintages": target.vintages,
        "habitantes_minimos": settings.min_isolated_population,
        "sorteos": int(isolation.critical_draws.shape[1]),
        "factor_velocidad": [
            settings.uncertainty.speed_factor_min,
            settings.uncertainty.speed_factor_max,
        ],
        "sustitutos": dict(settings.proxies),
        "fuente": settings.source,
    }
    return criterion, curve, calibration


def _classify_by_probability(out: pd.DataFrame) -> None:
    """Probability of susceptibility and the near miss it defines (SUBDERE's index)."""
    near = load_isolation_settings().uncertainty.near_probability
    poverty = np.ones(len(out))
    for key, *_ in POVERTY_MEASURES:
        higher = np.fmax(
            out[f"{key}_regional_promedio_pct"].to_numpy(dtype=float),
            out[f"{key}_nacional_promedio_pct"].to_numpy(dtype=float),
        )
        poverty = poverty * probability_above(
            out[f"{key}_pct"], out[f"{key}_ic_inferior_pct"], out[f"{key}_ic_superior_pct"], higher
        )
    probability = poverty * out["aislamiento_probabilidad"].to_numpy(dtype=float)
    out["probabilidad_susceptible"] = probability
    status = out["status"].to_numpy(dtype=object)
    candidates = (status != SUSCEPTIBLE) & (status != NO_DATA)
    out["status"] = np.where(
        candidates,
        np.where(np.nan_to_num(probability, nan=0.0) >= near, NEAR_MISS, NOT_SUSCEPTIBLE),
        status,
    )


def _sorted_by_cut(
    table: pd.DataFrame, neighbours: dict[int, list[int]] | None
) -> tuple[pd.DataFrame, dict[int, list[int]] | None]:
    """The table in CUT order, and its contiguity renumbered to the new row positions."""
    frame = table.sort_values("cut", kind="stable").reset_index(drop=True)
    if neighbours is None:
        return frame, None
    order = table.reset_index(drop=True).sort_values("cut", kind="stable").index.to_numpy()
    position = {int(old): new for new, old in enumerate(order)}
    renumbered = {
        position[old]: sorted(position[j] for j in linked) for old, linked in neighbours.items()
    }
    return frame, renumbered


def _poverty_criteria(frame: pd.DataFrame, out: pd.DataFrame) -> list[pd.DataFrame]:
    """Criteria 1–4: each poverty rate against its regional and national average.

    Writes the values, bounds, averages, margins, probabilities and flags into ``out`` and
    returns one criterion table per measure and scope.
    """
    regions = frame["region_code"].astype(str)
    criteria_rows: list[pd.DataFrame] = []
    for key, label, value_col, low_col, high_col in POVERTY_MEASURES:
        values = _column(frame, value_col)
        lower = _column(frame, low_col)
        upper = _column(frame, high_col)
        out[f"{key}_pct"] = values
        out[f"{key}_ic_inferior_pct"] = lower
        out[f"{key}_ic_superior_pct"] = upper
        national = weighted_average(values, out["population_total"])
        regional = regions.map(
            {
                region: weighted_average(
                    values[regions == region], out["population_total"][regions == region]
                )
                for region in regions.unique()
            }
        ).astype(float)
        for scope, scope_label in SCOPES:
            average = regional if scope == "regional" else pd.Series(national, index=out.index)
            name = f"{key}_{scope}"
            out[f"{name}_promedio_pct"] = average.to_numpy()
            margin = (values - average).to_numpy(dtype=float)
            out[f"{name}_margen_pp"] = margin
            probability = probability_above(values, lower, upper, average)
            out[f"{name}_probabilidad"] = probability
            met = np.where(np.isfinite(margin), margin > 0, np.nan)
            within = (
                np.isfinite(margin)
                & (margin <= 0)
                & (upper.to_numpy(dtype=float) > average.to_numpy())
            )
            out[f"{name}_cumple"] = met
            out[f"{name}_dentro_intervalo"] = within
            criteria_rows.append(
                pd.DataFrame(
                    {
                        "cut": out["cut"],
                        "criterion": name,
                        "label": f"{label} sobre el promedio {scope_label}",
                        "value": values.to_numpy(dtype=float),
                        "threshold": average.to_numpy(dtype=float),
                        "margin": margin,
                        "unit": "puntos porcentuales",
                        "met": met,
                        "probability": probability,
                        "within_interval": within,
                    }
                )
            )
    return criteria_rows


def _isolation_criterion(
    frame: pd.DataFrame,
    out: pd.DataFrame,
    components: Sequence[IsolationComponent],
    threshold: float,
    tolerance: float,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Criterion 5: the isolation measure against its threshold (near miss within tolerance).

    Writes the measure, margin and flags into ``out``; returns the criterion table and the
    labels of the isolation components used.
    """
    isolation, inputs = isolation_measure(frame, components)
    out["aislamiento"] = isolation.to_numpy()
    out["aislamiento_umbral"] = threshold
    margin = isolation.to_numpy(dtype=float) - threshold
    out["aislamiento_margen"] = margin
    met = np.where(np.isfinite(margin), margin >= 0, np.nan)
    out["aislamiento_cumple"] = met
    near = np.isfinite(margin) & (margin < 0) & (margin >= -tolerance - 1e-9)
    out["aislamiento_dentro_intervalo"] = near
    out["aislamiento_insumos"] = ", ".join(inputs)
    rows = pd.DataFrame(
        {
            "cut": out["cut"],
            "criterion": "aislamiento",
            "label": "condición de aislamiento",
            "value": isolation.to_numpy(dtype=float),
            "threshold": threshold,
            "margin": margin,
            "unit": "índice 0–1",
            "met": met,
            "probability": np.nan,
            "within_interval": near,
        }
    )
    return rows, inputs


def _classify(out: pd.DataFrame, names: list[str], criteria_rows: list[pd.DataFrame]) -> None:
    """Count the criteria met and give each commune its status and its failed criteria."""
    met_matrix = out[[f"{name}_cumple" for name in names]].to_numpy(dtype=float)
    near_matrix = out[[f"{name}_dentro_intervalo" for name in names]].to_numpy(dtype=bool)
    evaluable = np.isfinite(met_matrix).all(axis=1)
    met_count = np.nansum(met_matrix, axis=1).astype(int)
    failed = met_matrix == 0
    failed_near = (failed & near_matrix).sum(axis=1)
    status = np.where(
        ~evaluable,
        NO_DATA,
        np.where(
            met_count == len(names),
            SUSCEPTIBLE,
            np.where((failed.sum(axis=1) == 1) & (failed_near == 1), NEAR_MISS, NOT_SUSCEPTIBLE),
        ),
    )
    labels = [rows["label"].iloc[0] if len(rows) else "" for rows in criteria_rows]
    out["criteria_met"] = met_count
    out["criteria_total"] = len(names)
    out["failed_criteria"] = [
        "; ".join(label for label, fail in zip(labels, row, strict=True) if fail) for row in failed
    ]
    out["status"] = status


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column, all ``NaN`` when the table lacks it."""
    if name not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[name], errors="coerce").astype(float)


def _territories(
    out: pd.DataFrame,
    frame: pd.DataFrame,
    neighbours: dict[int, list[int]] | None,
    max_size: int,
) -> list[str | None]:
    """Contiguous groups of susceptible communes, within each region (the policy is regional)."""
    labels: list[str | None] = [None] * len(out)
    if neighbours is None:
        return labels
    susceptible = (out["status"] == SUSCEPTIBLE).to_numpy()
    attributes = out[["ingresos_pct", "multidimensional_pct", "aislamiento"]].to_numpy(dtype=float)
    attributes = np.where(np.isfinite(attributes), attributes, 0.0)
    regions = out["region_code"].astype(str).to_numpy()
    for region in sorted(set(regions)):
        members = np.flatnonzero(regions == region)
        links = subgraph(neighbours, members)
        groups = contiguous_groups(susceptible[members], attributes[members], links, max_size)
        # Number territories by their first CUT so ids are stable and readable.
        first_cut = {
            int(g): min(out["cut"].iloc[members[groups == g]])
            for g in np.unique(groups[groups >= 0])
        }
        numbering = {g: i + 1 for i, g in enumerate(sorted(first_cut, key=first_cut.__getitem__))}
        for offset, group in enumerate(groups):
            if group >= 0:
                labels[int(members[offset])] = f"{region}-T{numbering[int(group)]:02d}"
    return labels


def _territory_table(out: pd.DataFrame) -> pd.DataFrame:
    columns = ["territory", "region_code", "communes", "cuts", "names", "population"]
    grouped = out[out["territory"].notna()]
    if grouped.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    rows = [
        {
            "territory": territory,
            "region_code": str(members["region_code"].iloc[0]),
            "communes": len(members),
            "cuts": ", ".join(members["cut"]),
            "names": ", ".join(members["name"]),
            "population": float(members["population_total"].sum()),
        }
        for territory, members in grouped.groupby("territory", sort=True)
    ]
    return pd.DataFrame(rows, columns=columns)
