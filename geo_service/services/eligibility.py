"""The Zonas Rezagadas eligibility emulation on the data of a store.

Shared by ``geogaps rezago``, the ``/rezago`` routes and the commune profile, so every surface
shows the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import compute_indicators, load_catalogue
from analysis.decision.eligibility import EligibilityResult, assess_eligibility, restricted
from analysis.decision.isolation import (
    CENTRE_KINDS,
    IsolationResult,
    commune_isolation,
    load_isolation_settings,
    political_centres,
)
from analysis.geometry import contiguity, geometries
from analysis.inputs import AnalysisInputs
from domain.errors import NotFoundError
from geo_service.services.accessibility import compute_accessibility, land_cover_at
from geo_service.services.cache import Caches
from geo_service.services.inputs import read_analysis_inputs
from geo_service.services.serving import analysis_inputs
from layers.stores import Store

#: Accessibility results (the per-commune table of `geogaps accessibility`) → isolation
#: component columns:
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
            if "dataset" in rows.columns:
                # National runs first; a regional run (``…_regionNN``) fills what they lack.
                regional = rows["dataset"].astype(str).str.contains("_region")
                rows = rows.assign(_regional=regional.to_numpy()).sort_values("_regional")
            rows = rows.drop_duplicates("cut")
            values = rows.set_index(rows["cut"].astype(str))[column].reindex(out.index)
        out[name] = pd.to_numeric(values, errors="coerce").to_numpy()
    return out


def eligibility_table(
    store: Store, inputs: AnalysisInputs | None = None
) -> tuple[pd.DataFrame, dict[int, list[int]], pd.DataFrame]:
    """National commune table for the eligibility criteria, its contiguity and its sources.

    Returns
    -------
    tuple
        The table (indicators plus isolation inputs, sorted by CUT), the contiguity of its
        rows and the catalogue rows (label, source, year) of the indicators it uses.
    """
    inputs = inputs if inputs is not None else read_analysis_inputs(store)
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


def isolation(
    store: Store, land_cover: Path | None, inputs: AnalysisInputs | None = None
) -> IsolationResult:
    """SUBDERE's isolation index for every commune, on the store's travel-time surfaces.

    Runs the accessibility pipeline nationally at the catalogue's resolution for the
    destinations the index needs (schools, primary care, hospitals, cities) and adds the
    political-administrative centres; ``land_cover`` is the MODIS raster (uniform speeds
    without it).
    """
    inputs = inputs if inputs is not None else read_analysis_inputs(store)
    settings = load_isolation_settings()
    kinds = tuple(k for k in settings.destinations if k not in CENTRE_KINDS)
    run = compute_accessibility(
        store,
        resolution=float(load_catalogue().settings.accessibility_resolution_m),
        kinds=kinds,
        land_cover=land_cover_at(land_cover),
        region=None,
        inputs=inputs,
    )
    return commune_isolation(run, political_centres(inputs.urban_zones, inputs.communes), settings)


@dataclass(frozen=True)
class EligibilityInputs:
    """The slow part of the emulation: the commune table, contiguity, sources, isolation."""

    table: pd.DataFrame
    neighbours: dict[int, list[int]]
    sources: pd.DataFrame
    isolation: IsolationResult
    land_cover: str


def eligibility_inputs(
    store: Store, land_cover: Path | None, inputs: AnalysisInputs | None = None
) -> EligibilityInputs:
    """Everything the emulation reads, the isolation index included (seconds: cache it).

    ``inputs`` are the store's analysis inputs when the caller holds them already (read
    here otherwise).
    """
    inputs = inputs if inputs is not None else read_analysis_inputs(store)
    table, neighbours, sources = eligibility_table(store, inputs)
    return EligibilityInputs(
        table,
        neighbours,
        sources,
        isolation(store, land_cover, inputs),
        "MODIS MCD12C1 2019"
        if land_cover is not None and land_cover.is_file()
        else "no disponible: velocidades uniformes",
    )


def _national_eligibility(
    data: EligibilityInputs, threshold: float | None
) -> tuple[EligibilityResult, pd.DataFrame]:
    result = assess_eligibility(
        data.table, data.neighbours, isolation=data.isolation, index_threshold=threshold
    )
    if result.calibration is not None:
        result.calibration["cobertura_del_suelo"] = data.land_cover
    return result, data.sources


def _inputs_key(land_cover: Path | None) -> tuple[str, str]:
    return ("eligibility-inputs", str(land_cover))


def _result_key(land_cover: Path | None, threshold: float | None) -> tuple[str, str, float | None]:
    return ("eligibility", str(land_cover), threshold)


def eligibility_is_ready(store: Store, caches: Caches, *, land_cover: Path | None) -> bool:
    """Whether this worker already holds the calibrated emulation for the data loaded now.

    The emulation runs the national travel times (seconds to tens of seconds): pages that
    only show it beside something else (the commune profile) use it when it is ready and say
    where to compute it when it is not, instead of making a planner wait.
    """
    state = caches.data_state(store)
    return caches.holds("decision", _result_key(land_cover, None), state=state)


def eligibility(
    store: Store,
    region: str | None,
    caches: Caches | None = None,
    *,
    land_cover: Path | None = None,
    threshold: float | None = None,
) -> tuple[EligibilityResult, pd.DataFrame]:
    """Zonas Rezagadas emulation nationally, then restricted to ``region``.

    Averages, the isolation index and its calibration are always national; ``region`` only
    filters the rows. ``threshold`` fixes the index threshold instead of calibrating it.
    """
    if caches is None:
        result, sources = _national_eligibility(eligibility_inputs(store, land_cover), threshold)
    else:
        state = caches.data_state(store)
        # The analysis inputs of this data state are in the cache already (``/gaps`` and the
        # warm-up read them): reading them again cost more than a second.
        data = caches.get_or_make(
            "decision",
            _inputs_key(land_cover),
            lambda: eligibility_inputs(store, land_cover, analysis_inputs(store, caches, state)[0]),
            state=state,
        )
        result, sources = caches.get_or_make(
            "decision",
            _result_key(land_cover, threshold),
            lambda: _national_eligibility(data, threshold),
            state=state,
        )
    if region is None:
        return result, sources
    if region not in set(result.communes["region_code"].astype(str)):
        raise NotFoundError(f"región desconocida {region!r}")
    cuts = set(result.communes.loc[result.communes["region_code"].astype(str) == region, "cut"])
    return restricted(result, cuts, region), sources
