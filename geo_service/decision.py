"""Decision tools wired to a store: read the inputs, call the pure analysis, describe sources.

Shared by ``geo_service/cli_decision.py`` and ``geo_service/api_decision.py`` so the command
line and the API always give the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import ScoringParameters, compute_indicators, load_catalogue, score_communes
from analysis.decision.eligibility import EligibilityResult, assess_eligibility
from analysis.decision.portfolio import PortfolioReview, review_portfolio
from analysis.geometry import contiguity, geometries
from geo_service.inputs import read_analysis_inputs
from layers.store import Store


@dataclass(frozen=True)
class GapScores:
    """Long gap scores of every commune and where they come from."""

    scores: pd.DataFrame
    source: str


def scope_communes(store: Store, region: str | None) -> pd.DataFrame:
    """``cut, name, region_code`` of the communes of one region (or all), sorted by CUT.

    Raises
    ------
    LookupError
        If no commune is loaded, or none of ``region``.
    """
    communes = store.read_table("communes", ["cut", "name", "region_code"])
    if communes.empty:
        raise LookupError("no hay comunas cargadas: ejecute `geogaps load`")
    if region is not None:
        communes = communes[communes["region_code"].astype(str) == region]
        if communes.empty:
            raise LookupError(f"región desconocida {region!r}")
    return communes.sort_values("cut").reset_index(drop=True)


def gap_scores(store: Store) -> GapScores:
    """National gap scores: the newest stored national run, or defaults computed now.

    A stored run is used only when it is national, so ranks and tiers compare every commune
    of the country; otherwise the default parameters are scored without Monte Carlo and
    without saving (about two seconds nationally).
    """
    stored = _stored_national_run(store)
    if stored is not None:
        return stored
    inputs = read_analysis_inputs(store)
    result = score_communes(inputs, ScoringParameters(draws=0, moran_permutations=99))
    return GapScores(
        result.scores[["cut", "challenge", "score", "rank", "tier"]],
        "puntajes nacionales con los parámetros por defecto (calculados ahora, sin guardar)",
    )


def _stored_national_run(store: Store) -> GapScores | None:
    try:
        run, results = store.read_score_run()
    except LookupError:
        return None
    parameters = _field(run, "parameters") or {}
    if parameters.get("region") is not None or results.empty:
        return None
    run_id = str(_field(run, "run_id") or "")
    return GapScores(
        results[["cut", "challenge", "score", "rank", "tier"]],
        f"corrida nacional guardada {run_id[:12]}",
    )


def _field(record: Any, name: str) -> Any:
    """A field of a stored run record, whether the store returns a mapping or an object."""
    if isinstance(record, dict):
        return record.get(name)
    return getattr(record, name, None)


def portfolio_review(
    store: Store, region: str | None, priority_tiers: int = 1
) -> tuple[PortfolioReview, str]:
    """The portfolio of the communes of ``region`` (or all) against their national gaps.

    Returns
    -------
    tuple
        The review and a Spanish sentence naming the source of the gap scores.
    """
    communes = scope_communes(store, region)
    scores = gap_scores(store)
    review = review_portfolio(
        communes,
        scores.scores,
        store.read_table("project_sites"),
        store.read_table("huella_presence"),
        load_catalogue(),
        priority_tiers,
    )
    return review, scores.source


#: Accessibility results (engineer d's per-commune table) → isolation component columns:
#: (facility kind, column of the accessibility table, isolation column).
ACCESSIBILITY_INPUTS = (
    ("centre", "minutes_mean", "minutos_centro"),
    ("primary", "rural_minutes_mean", "minutos_rural_atencion_primaria"),
    ("hospital", "rural_minutes_mean", "minutos_rural_hospital"),
)
ACCESSIBILITY_TABLE = "accessibility"


def accessibility_columns(store: Store, cuts: pd.Series) -> pd.DataFrame:
    """Travel-time isolation inputs per commune from the stored accessibility results.

    Empty columns when the accessibility results are not stored (the isolation measure then
    uses density, rurality and dispersion only, and says so).
    """
    out = pd.DataFrame(index=cuts.astype(str).to_numpy())
    try:
        table = store.read_table(ACCESSIBILITY_TABLE)
    except (KeyError, ValueError, LookupError):
        table = pd.DataFrame()
    for facility, column, name in ACCESSIBILITY_INPUTS:
        values = pd.Series(np.nan, index=out.index)
        if not table.empty and {"cut", "facility", column} <= set(table.columns):
            rows = table[table["facility"] == facility]
            if "resolution_m" in rows.columns and not rows.empty:
                rows = rows[rows["resolution_m"] == rows["resolution_m"].min()]
            values = rows.set_index(rows["cut"].astype(str))[column].reindex(out.index)
        out[name] = pd.to_numeric(values, errors="coerce").to_numpy()
    return out


def eligibility_table(store: Store) -> tuple[pd.DataFrame, dict[int, list[int]], pd.DataFrame]:
    """National commune table for the eligibility criteria, its contiguity and its sources.

    Returns
    -------
    tuple
        The table (indicators plus isolation inputs, sorted by CUT), the contiguity of its
        rows and the catalogue rows (label, source, year) of the indicators it uses.
    """
    inputs = read_analysis_inputs(store)
    catalogue = load_catalogue()
    indicators = compute_indicators(inputs, catalogue).sort_values("cut").reset_index(drop=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        localities = indicators["rural_localities"].to_numpy(dtype=float)
        indicators["habitantes_rurales_por_localidad"] = np.where(
            localities > 0,
            indicators["population_rural"].to_numpy(dtype=float) / localities,
            np.nan,
        )
    access = accessibility_columns(store, indicators["cut"])
    for column in access.columns:
        indicators[column] = access[column].to_numpy()
    shapes = pd.Series(geometries(inputs.communes), index=inputs.communes["cut"].astype(str))
    shapes = shapes[~shapes.index.duplicated()].reindex(indicators["cut"].astype(str))
    neighbours = contiguity(shapes.to_numpy(dtype=object))
    sources = pd.DataFrame(
        [
            {"dato": i.label, "fuente": i.source, "año": i.year}
            for i in catalogue.indicators
            if i.id
            in {
                "pobreza_ingresos_pct",
                "pobreza_multidimensional_pct",
                "densidad_hab_km2",
                "poblacion_rural_pct",
            }
        ]
    )
    return indicators, neighbours, sources


def eligibility(store: Store, region: str | None) -> tuple[EligibilityResult, pd.DataFrame]:
    """Zonas Rezagadas emulation nationally, then restricted to ``region``.

    Averages and isolation percentiles are always national; ``region`` only filters the rows.
    """
    table, neighbours, sources = eligibility_table(store)
    result = assess_eligibility(table, neighbours)
    if region is None:
        return result, sources
    if region not in set(result.communes["region_code"].astype(str)):
        raise LookupError(f"región desconocida {region!r}")
    cuts = set(result.communes.loc[result.communes["region_code"].astype(str) == region, "cut"])
    return (
        EligibilityResult(
            communes=result.communes[result.communes["cut"].isin(cuts)].reset_index(drop=True),
            criteria=result.criteria[result.criteria["cut"].isin(cuts)].reset_index(drop=True),
            territories=result.territories[
                result.territories["region_code"].astype(str) == region
            ].reset_index(drop=True),
            isolation_inputs=result.isolation_inputs,
        ),
        sources,
    )
