"""Decision tools wired to a store: read the inputs, call the pure analysis, describe sources.

Shared by ``geo_service/cli/decision.py`` and ``geo_service/api/decision.py`` so the command
line and the API always give the same tables.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import ScoringParameters, compute_indicators, load_catalogue, score_communes
from analysis.decision.eligibility import EligibilityResult, assess_eligibility
from analysis.decision.portfolio import PortfolioReview, review_portfolio
from analysis.decision.siting import Model, SitingResult, raster_instance, site_facilities
from analysis.geometry import contiguity, geometries, points_within
from analysis.indicators import fold, fold_series
from analysis.inputs import AnalysisInputs
from geo_service.services.inputs import read_analysis_inputs
from geo_service.settings import Settings
from layers.stores import Store


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


#: Results computed from a store's inputs, by kind and store state (seconds each; reused).
_CACHE: OrderedDict[tuple[str, str, int], Any] = OrderedDict()
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()


def _cached(kind: str, store: Store, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per store state; a store without ``state_key`` is never cached."""
    state_key = getattr(store, "state_key", None)
    if not callable(state_key):
        return compute()
    key = (kind, str(state_key()), id(store))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = compute()
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def gap_scores(store: Store) -> GapScores:
    """National gap scores: the newest stored national run, or defaults computed now.

    A stored run is used only when it is national, so ranks and tiers compare every commune
    of the country; otherwise the default parameters are scored without Monte Carlo and
    without saving (about two seconds nationally).
    """
    stored = _stored_national_run(store)
    if stored is not None:
        return stored
    scores: GapScores = _cached("default_scores", store, lambda: _default_scores(store))
    return scores


def _default_scores(store: Store) -> GapScores:
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
    scope = _field(run, "scope")
    if parameters.get("region") is not None or scope not in (None, "nacional") or results.empty:
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


def _national_eligibility(store: Store) -> tuple[EligibilityResult, pd.DataFrame]:
    table, neighbours, sources = eligibility_table(store)
    return assess_eligibility(table, neighbours), sources


def eligibility(store: Store, region: str | None) -> tuple[EligibilityResult, pd.DataFrame]:
    """Zonas Rezagadas emulation nationally, then restricted to ``region``.

    Averages and isolation percentiles are always national; ``region`` only filters the rows.
    """
    result, sources = _cached("eligibility", store, lambda: _national_eligibility(store))
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


#: Candidate kinds offered for new sites: rural schools (public buildings) and APR systems
#: (settlement markers with a known point).
CANDIDATE_KINDS = ("escuela rural", "sistema APR")
#: p-median demand is aggregated into blocks until at most this many points remain.
PMEDIAN_DEMAND_POINTS = 1500


@dataclass(frozen=True)
class SitingReport:
    """A siting run on the real surfaces: the result, the sites as points and how it ran."""

    result: SitingResult
    sites: gpd.GeoDataFrame
    communes: pd.DataFrame
    parameters: dict[str, Any]


def candidate_points(inputs: AnalysisInputs, region: str, school_category: str) -> gpd.GeoDataFrame:
    """Rural schools (outside 2017 urban zones) and APR systems of one region, EPSG:4326."""
    facilities = inputs.facilities
    schools = facilities[
        (fold_series(facilities["category"]) == fold(school_category)).to_numpy()
        & (facilities["cut"].astype(str).str[:2] == region).to_numpy()
    ]
    schools = schools[~(schools.geometry.isna() | schools.geometry.is_empty).to_numpy()]
    lon, lat = schools.geometry.x.to_numpy(), schools.geometry.y.to_numpy()
    schools = schools[~points_within(lon, lat, inputs.urban_zones)]
    apr = inputs.apr_systems
    apr = apr[(apr["cut"].astype(str).str[:2] == region).to_numpy()]
    apr = apr[~(apr.geometry.isna() | apr.geometry.is_empty).to_numpy()]
    parts = [
        gpd.GeoDataFrame(
            {
                "candidate_id": [f"escuela-{i}" for i in range(len(schools))],
                "name": schools["name"].astype(str).to_numpy(),
                "kind": CANDIDATE_KINDS[0],
                "cut": schools["cut"].astype(str).to_numpy(),
            },
            geometry=gpd.GeoSeries(schools.geometry.to_numpy(), crs=4326),
        ),
        gpd.GeoDataFrame(
            {
                "candidate_id": [f"apr-{i}" for i in range(len(apr))],
                "name": apr["name"].astype(str).to_numpy(),
                "kind": CANDIDATE_KINDS[1],
                "cut": apr["cut"].astype(str).to_numpy(),
            },
            geometry=gpd.GeoSeries(shapely.centroid(np.asarray(apr.geometry.array)), crs=4326),
        ),
    ]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)


def siting(
    store: Store,
    land_cover_path: Path | None,
    facility: str,
    new_sites: int,
    minutes: float,
    region: str,
    resolution: float = 1000.0,
    max_candidates: int = 60,
    model: Model = "mclp",
) -> SitingReport:
    """Choose new sites for one facility kind in one region on the accessibility surfaces.

    Demand is the rural population surface of the region's communes (continental grid);
    existing coverage is the travel time to the nearest operating facility of the kind;
    candidates are rural schools and APR systems of the region, at most ``max_candidates``
    (the farthest from existing facilities, at least ``T / 4`` from one); travel times from
    each candidate use the same friction surface (scikit-image ``MCP_Geometric``), bounded to
    ``T`` minutes for MCLP.

    Raises
    ------
    LookupError
        Unknown region or no candidate left.
    ValueError
        Unknown facility kind or model, or ``new_sites`` larger than the candidate set.
    """
    from analysis.accessibility import FACILITY_KINDS, LandCover, run_accessibility
    from analysis.accessibility.friction import minutes_per_cell
    from analysis.accessibility.population import coverage, owner_grid
    from layers.rasters import read_land_cover

    if facility not in FACILITY_KINDS:
        raise ValueError(f"tipo de servicio desconocido {facility!r}: {', '.join(FACILITY_KINDS)}")
    communes = scope_communes(store, region)
    inputs = read_analysis_inputs(store)
    catalogue = load_catalogue()
    land_cover = None
    if land_cover_path is not None and land_cover_path.is_file():
        raster = read_land_cover(land_cover_path)
        land_cover = LandCover(raster.classes, raster.transform, raster.crs, raster.nodata)
    started = time.perf_counter()
    access = run_accessibility(
        inputs,
        resolution=float(resolution),
        kinds=(facility,),
        land_cover=land_cover,
        roads=store.read_table("road_segments"),
        villages=store.read_table("villages"),
        region=region,
        settings=catalogue.settings,
    )
    surfaces_done = time.perf_counter()
    grid_result = access.grids["continental"]
    grid = grid_result.grid
    shapes = inputs.communes[inputs.communes["cut"].astype(str).isin(set(communes["cut"]))]
    shapes = shapes.to_crs(grid.crs).reset_index(drop=True)
    owner = owner_grid(grid, coverage(grid, shapes.geometry), len(shapes))
    cuts = shapes["cut"].astype(str).to_numpy(dtype=object)
    commune_of_cell = np.full(np.shape(owner), None, dtype=object)
    owned = np.asarray(owner) >= 0
    commune_of_cell[owned] = cuts[np.asarray(owner)[owned]]

    points = candidate_points(inputs, region, catalogue.settings.school_category)
    projected = points.to_crs(grid.crs)
    rows, cols, inside = grid.cell_of(projected.geometry.x, projected.geometry.y)
    candidates = pd.DataFrame(points[inside]).reset_index(drop=True)
    instance = raster_instance(
        grid_result.rural,
        minutes_per_cell(grid_result.speed, grid.resolution),
        grid_result.minutes[facility],
        commune_of_cell,
        candidates,
        rows[inside],
        cols[inside],
        minutes,
        max_candidates=max_candidates,
        bounded=model == "mclp",
        max_demand_points=None if model == "mclp" else PMEDIAN_DEMAND_POINTS,
    )
    if instance.candidates.empty:
        raise LookupError("ningún candidato queda a más de T/4 minutos de un servicio existente")
    instance_done = time.perf_counter()
    result = site_facilities(
        instance.demand,
        instance.candidates,
        instance.cost,
        instance.existing,
        min(new_sites, len(instance.candidates)),
        minutes,
        model,
    )
    solved = time.perf_counter()
    names = communes.set_index("cut")["name"]
    sites = gpd.GeoDataFrame(
        result.sites.drop(columns=["row", "col"]).assign(
            commune=lambda frame: frame["cut"].map(names)
        ),
        geometry="geometry",
        crs=4326,
    )
    commune_table = result.communes.assign(name=result.communes["cut"].map(names))
    parameters: dict[str, Any] = {
        "facility": facility,
        "new_sites": int(result.summary["new_sites"]),
        "minutes": float(minutes),
        "region": region,
        "model": model,
        "resolution_m": float(resolution),
        "max_candidates": max_candidates,
        "candidates_considered": len(candidates),
        "candidates_kept": len(instance.candidates),
        "demand_cells": len(instance.demand),
        "population_year": access.population_year,
        "seconds": {
            "surfaces": round(surfaces_done - started, 3),
            "demand_candidates_costs": round(instance_done - surfaces_done, 3),
            "solve": round(solved - instance_done, 3),
        },
        "land_cover": None
        if land_cover is None or land_cover_path is None
        else land_cover_path.name,
    }
    return SitingReport(result, sites, commune_table, parameters)


def siting_for_settings(
    store: Store,
    settings: Settings,
    facility: str,
    new_sites: int,
    minutes: float,
    region: str,
    resolution: float = 1000.0,
    max_candidates: int = 60,
    model: str = "mclp",
) -> SitingReport:
    """:func:`siting` with the land cover of the configured data folder."""
    from layers.rasters import LAND_COVER_FILE

    if model not in ("mclp", "pmedian"):
        raise ValueError(f"modelo desconocido {model!r}: use mclp o pmedian")
    chosen: Model = "mclp" if model == "mclp" else "pmedian"
    return siting(
        store,
        settings.data_dir / LAND_COVER_FILE,
        facility,
        new_sites,
        minutes,
        region,
        resolution,
        max_candidates,
        chosen,
    )
