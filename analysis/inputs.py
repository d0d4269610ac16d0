"""The tables the gap analysis reads, as returned by the stores.

Each field holds one table with exactly the columns of the matching GeoAlchemy2 model in
:mod:`layers.schema` (without autoincrement ``id`` columns). Tables with a geometry come as
GeoDataFrames whose geometry column is ``geom`` in EPSG:4326. CUT codes are five-character,
zero-padded text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd


@dataclass(frozen=True)
class AnalysisInputs:
    """All input tables of one scoring run.

    Attributes
    ----------
    communes : geopandas.GeoDataFrame
        Table ``communes``: cut, name, province_*, region_code, region_name, area_km2, geom.
    population : pandas.DataFrame
        Table ``population``: dataset, cut, year, area (total, urbana, rural), population.
    water_sources : pandas.DataFrame
        Table ``water_sources``: dwellings by drinking-water source (Censo 2017).
    apr_systems : geopandas.GeoDataFrame
        Table ``apr_systems``: rural drinking-water systems (APR / SSR) as points.
    facilities : geopandas.GeoDataFrame
        Table ``facilities``: service facilities as points (closed ones already removed).
    localities : pandas.DataFrame
        Table ``localities``: Censo 2017 localities and rural entities.
    poverty : pandas.DataFrame
        Table ``poverty``: multidimensional poverty rate (0-1) with confidence interval.
    municipal_finance : pandas.DataFrame
        Table ``municipal_finance``: SINIM municipal finance, one row per commune and year.
    informal_settlements : geopandas.GeoDataFrame
        Table ``informal_settlements``: MINVU informal settlements (campamentos).
    urban_zones : geopandas.GeoDataFrame
        Table ``urban_zones``: 2017 urban census zones with population.
    huella_presence : pandas.DataFrame
        Table ``huella_presence``: communes where Huella Local works, by intervention.
    project_sites : geopandas.GeoDataFrame
        Table ``project_sites``: development projects; ``geom`` may be missing.
    rural_classification : pandas.DataFrame
        Table ``rural_classification``: ODEPA rural policy class of each commune.
    accessibility : pandas.DataFrame
        Table ``accessibility``: population-weighted travel time per commune and destination
        kind (``geogaps accessibility``); empty when none was computed, and then the
        connectivity indicators are missing, never zero.
    """

    communes: gpd.GeoDataFrame
    population: pd.DataFrame
    water_sources: pd.DataFrame
    apr_systems: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    localities: pd.DataFrame
    poverty: pd.DataFrame
    municipal_finance: pd.DataFrame
    informal_settlements: gpd.GeoDataFrame
    urban_zones: gpd.GeoDataFrame
    huella_presence: pd.DataFrame
    project_sites: gpd.GeoDataFrame
    rural_classification: pd.DataFrame
    accessibility: pd.DataFrame = field(default_factory=pd.DataFrame)
