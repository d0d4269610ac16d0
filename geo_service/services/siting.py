"""Siting new facilities on the accessibility surfaces of a store's data (spopt MCLP, p-median).

Shared by ``geogaps siting`` and ``/siting``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import load_catalogue
from analysis.decision.siting import Model, SitingResult, raster_instance, site_facilities
from analysis.geometry import points_within
from analysis.indicators import fold_series
from analysis.inputs import AnalysisInputs
from domain import fold, regions_of
from domain.errors import InvalidInputError
from geo_service.services.accessibility import compute_accessibility, land_cover_at
from geo_service.services.inputs import read_analysis_inputs, scope_communes
from layers.stores import Store

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
        & (regions_of(facilities["cut"]) == region).to_numpy()
    ]
    schools = schools[~(schools.geometry.isna() | schools.geometry.is_empty).to_numpy()]
    lon, lat = schools.geometry.x.to_numpy(), schools.geometry.y.to_numpy()
    schools = schools[~points_within(lon, lat, inputs.urban_zones)]
    apr = inputs.apr_systems
    apr = apr[(regions_of(apr["cut"]) == region).to_numpy()]
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


def _commune_of_cell(inputs: AnalysisInputs, communes: pd.DataFrame, grid: Any) -> np.ndarray:
    """The CUT of the commune owning each cell of ``grid`` (None outside ``communes``)."""
    from analysis.accessibility.population import coverage, owner_grid

    shapes = inputs.communes[inputs.communes["cut"].astype(str).isin(set(communes["cut"]))]
    shapes = shapes.to_crs(grid.crs).reset_index(drop=True)
    owner = np.asarray(owner_grid(grid, coverage(grid, shapes.geometry), len(shapes)))
    cuts = shapes["cut"].astype(str).to_numpy(dtype=object)
    commune_of_cell = np.full(owner.shape, None, dtype=object)
    owned = owner >= 0
    commune_of_cell[owned] = cuts[owner[owned]]
    return commune_of_cell


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
    NotFoundError
        Unknown region or no candidate left.
    InvalidInputError
        Unknown facility kind or model, or ``new_sites`` larger than the candidate set.
    """
    from analysis.accessibility import FACILITY_KINDS
    from analysis.accessibility.friction import minutes_per_cell

    if model not in ("mclp", "pmedian"):
        raise InvalidInputError(f"modelo desconocido {model!r}: use mclp o pmedian")
    if facility not in FACILITY_KINDS:
        raise InvalidInputError(
            f"tipo de servicio desconocido {facility!r}: {', '.join(FACILITY_KINDS)}"
        )
    communes = scope_communes(store, region)
    inputs = read_analysis_inputs(store)
    land_cover = land_cover_at(land_cover_path)
    started = time.perf_counter()
    access = compute_accessibility(
        store,
        resolution=resolution,
        kinds=(facility,),
        land_cover=land_cover,
        region=region,
        inputs=inputs,
    )
    surfaces_done = time.perf_counter()
    grid_result = access.grids["continental"]
    grid = grid_result.grid
    points = candidate_points(inputs, region, load_catalogue().settings.school_category)
    projected = points.to_crs(grid.crs)
    rows, cols, inside = grid.cell_of(projected.geometry.x, projected.geometry.y)
    candidates = pd.DataFrame(points[inside]).reset_index(drop=True)
    instance = raster_instance(
        grid_result.rural,
        minutes_per_cell(grid_result.speed, grid.resolution),
        grid_result.minutes[facility],
        _commune_of_cell(inputs, communes, grid),
        candidates,
        rows[inside],
        cols[inside],
        minutes,
        max_candidates=max_candidates,
        bounded=model == "mclp",
        max_demand_points=None if model == "mclp" else PMEDIAN_DEMAND_POINTS,
    )
    if instance.candidates.empty:
        raise InvalidInputError(
            "ningún candidato queda a más de T/4 minutos de un servicio existente"
        )
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
    seconds = {
        "surfaces": round(surfaces_done - started, 3),
        "demand_candidates_costs": round(instance_done - surfaces_done, 3),
        "solve": round(time.perf_counter() - instance_done, 3),
    }
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
        "seconds": seconds,
        "land_cover": None
        if land_cover is None or land_cover_path is None
        else land_cover_path.name,
    }
    return _report(result, communes, parameters)


def _report(
    result: SitingResult, communes: pd.DataFrame, parameters: dict[str, Any]
) -> SitingReport:
    """The sites as points named by their commune, the communes gaining, and the parameters."""
    names = communes.set_index("cut")["name"]
    sites = gpd.GeoDataFrame(
        result.sites.drop(columns=["row", "col"]).assign(
            commune=lambda frame: frame["cut"].map(names)
        ),
        geometry="geometry",
        crs=4326,
    )
    commune_table = result.communes.assign(name=result.communes["cut"].map(names))
    return SitingReport(result, sites, commune_table, parameters)
