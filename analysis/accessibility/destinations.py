"""What the travel times are measured to, and who lives where: picked from the input tables.

Destination kinds (``FACILITY_KINDS``):

* ``primary`` — operating primary-care facilities of the catalogue's ``primary_care_types``
  (PSR, CESFAM, CECOSF, CGR, CGU and hospitals, which give primary care where they are the only
  facility);
* ``cesfam`` — CESFAM-level centres (``cesfam_level_types``: CESFAM, CGR, CGU, hospitals);
* ``hospital`` — ``hospital_types``;
* ``school`` — operating schools (category ``educacion``; MINEDUC status *Vigente*, or no
  status in layers that carry none);
* ``apr`` — APR / SSR rural water systems;
* ``centre`` — the urban census zones of every regional capital (CUT ``RR101``, by the
  national coding convention) and of every commune whose urban population in the projection
  year is at least :data:`CITY_MIN_URBAN_POPULATION`: the nearest city of 20,000 inhabitants
  or the regional capital (centre–periphery).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.challenges import CatalogueSettings
from analysis.geometry import points_within
from analysis.indicators import fold_series, population_by_area
from analysis.inputs import AnalysisInputs
from domain.text import fold

FACILITY_KINDS = ("primary", "cesfam", "hospital", "school", "apr", "centre")
#: Spanish names of the destination kinds, for people.
FACILITY_LABELS = {
    "primary": "atención primaria de salud",
    "cesfam": "CESFAM o equivalente",
    "hospital": "hospital",
    "school": "establecimiento educacional",
    "apr": "sistema de agua potable rural (APR)",
    "centre": "capital regional o ciudad de 20.000 habitantes",
}
#: Urban inhabitants that make a commune's urban area a city (centre–periphery).
CITY_MIN_URBAN_POPULATION = 20_000.0
#: Operating statuses of schools (folded prefixes: MINEDUC "Vigente"); missing also counts.
OPERATING_SCHOOL_STATUSES = {"vigente", "funcionando", "activo"}


def _points(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geometry = frame.geometry
    usable = ~(geometry.isna() | geometry.is_empty)
    kept = frame[usable.to_numpy()]
    points = shapely.point_on_surface(np.asarray(kept.geometry.array))
    return gpd.GeoDataFrame(
        {"cut": kept["cut"].astype(str).to_numpy()}, geometry=gpd.GeoSeries(points, crs=frame.crs)
    )


def commune_population(
    inputs: AnalysisInputs, settings: CatalogueSettings
) -> tuple[pd.DataFrame, int]:
    """Urban and rural inhabitants of every commune in the catalogue's projection year.

    Returns the table (``cut``, ``urban``, ``rural``) and the year used (the configured year
    when loaded, else the latest one).
    """
    wide, year = population_by_area(inputs.population, settings)
    out = pd.DataFrame({"cut": wide.index.astype(str)})
    out["urban"] = wide["urbana"].to_numpy(dtype=float) if "urbana" in wide else np.nan
    out["rural"] = wide["rural"].to_numpy(dtype=float) if "rural" in wide else np.nan
    if "total" in wide:
        # Where the split is missing, the total counts as rural (no urban zone to put it in).
        total = wide["total"].to_numpy(dtype=float)
        missing = np.isnan(out["urban"].to_numpy()) & np.isnan(out["rural"].to_numpy())
        out.loc[missing, "rural"] = total[missing]
    return out.fillna(0.0), year


def destinations(
    inputs: AnalysisInputs, settings: CatalogueSettings, population: pd.DataFrame
) -> dict[str, gpd.GeoDataFrame]:
    """Destination points of every kind, EPSG:4326 (``cut`` and geometry)."""
    facilities = inputs.facilities
    category = fold_series(facilities["category"])
    status = fold_series(facilities["operating_status"])
    closed = status.fillna("").str.contains("cerrad")
    health = facilities[((category == fold(settings.health_category)) & ~closed).to_numpy()]
    kind = fold_series(health["facility_type"])

    def of_types(types: tuple[str, ...]) -> gpd.GeoDataFrame:
        wanted = {fold(t) for t in types}
        return _points(health[kind.isin(wanted).to_numpy()])

    operating_school = status.isna() | status.fillna("").str.startswith(
        tuple(OPERATING_SCHOOL_STATUSES)
    )
    schools = facilities[
        ((category == fold(settings.school_category)) & operating_school).to_numpy()
    ]

    urban = population.set_index("cut")["urban"]
    cuts = inputs.urban_zones["cut"].astype(str)
    is_capital = cuts.str[2:] == "101"
    is_city = urban.reindex(cuts).fillna(0.0).to_numpy() >= CITY_MIN_URBAN_POPULATION
    centres = inputs.urban_zones[(is_capital.to_numpy() | is_city)]
    return {
        "primary": of_types(settings.primary_care_types),
        "cesfam": of_types(settings.cesfam_level_types),
        "hospital": of_types(settings.hospital_types),
        "school": _points(schools),
        "apr": _points(inputs.apr_systems),
        "centre": _points(centres),
    }


def settlement_markers(
    inputs: AnalysisInputs,
    settings: CatalogueSettings,
    villages: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Points where rural people are known to live: rural schools, APR systems, villages.

    A school is rural when it lies outside every 2017 urban census zone.
    """
    facilities = inputs.facilities
    category = fold_series(facilities["category"])
    schools = _points(facilities[(category == fold(settings.school_category)).to_numpy()])
    lon = shapely.get_x(np.asarray(schools.geometry.array))
    lat = shapely.get_y(np.asarray(schools.geometry.array))
    rural_schools = schools[~points_within(lon, lat, inputs.urban_zones)]
    parts = [rural_schools, _points(inputs.apr_systems)]
    if villages is not None and len(villages) > 0:
        parts.append(_points(villages))
    parts = [p.to_crs(4326) for p in parts if len(p) > 0]
    if not parts:
        return gpd.GeoDataFrame({"cut": []}, geometry=gpd.GeoSeries([], crs=4326))
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
