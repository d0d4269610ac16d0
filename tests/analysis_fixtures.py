"""Synthetic analysis inputs: a small, fully known territory for fast end-to-end tests.

A 6 x 5 grid of square communes (0.2 degrees a side) in two regions, plus an island commune
far off the coast (no neighbours) and a commune without polygon. Every table of
``AnalysisInputs`` is filled with the columns of ``layers/schema.py``; values are simple and
deterministic so a test can recompute them by hand.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Point, box

from analysis import ScoringParameters, compute_indicators, score_communes
from analysis.accessibility import run_accessibility
from analysis.inputs import AnalysisInputs
from analysis.result import ScoringResult

SIZE = 0.2
WEST, NORTH = -71.6, -33.0
COLUMNS, ROWS = 6, 5
ISLAND_CUT = "05201"
NO_POLYGON_CUT = "05999"
#: Communes with APR systems (the rest must get missing APR indicators, not zeros).
APR_CUTS = ("05101", "05102", "05103", "05106", "05107", "05108")
#: Commune whose whole polygon is an urban zone (sample falls back to the whole commune).
FULLY_URBAN_CUT = "13101"
#: Commune without municipal finance rows.
NO_FINANCE_CUT = "13110"
#: Dwellings of every commune; water counts below are shares of it.
DWELLINGS = 1000


def grid_cut(column: int, row: int) -> str:
    """CUT of the grid cell: region 05 in the three western columns, 13 in the others."""
    region = "05" if column < 3 else "13"
    number = (column % 3) * ROWS + row + 1
    return f"{region}1{number:02d}"


def cell(column: int, row: int) -> tuple[float, float, float, float]:
    """Bounds (west, south, east, north) of a grid cell."""
    west = WEST + column * SIZE
    north = NORTH - row * SIZE
    return west, north - SIZE, west + SIZE, north


def _multi(geometry: object) -> MultiPolygon:
    return MultiPolygon([geometry])


def build_synthetic_inputs() -> AnalysisInputs:
    """Build the synthetic inputs (deterministic)."""
    rng = np.random.default_rng(20240601)
    records = []
    for column in range(COLUMNS):
        for row in range(ROWS):
            cut = grid_cut(column, row)
            records.append((cut, column, row, _multi(box(*cell(column, row)))))
    island = _multi(box(-80.0, -33.8, -79.9, -33.7))
    records.append((ISLAND_CUT, -1, -1, island))
    records.append((NO_POLYGON_CUT, -1, -1, None))
    cuts = [r[0] for r in records]
    n = len(cuts)

    communes = gpd.GeoDataFrame(
        {
            "cut": cuts,
            "dataset": "synthetic",
            "name": [f"Comuna {cut}" for cut in cuts],
            "province_code": [cut[:3] for cut in cuts],
            "province_name": "Provincia",
            "region_code": [cut[:2] for cut in cuts],
            "region_name": [
                "Valparaíso" if cut.startswith("05") else "Metropolitana" for cut in cuts
            ],
            "area_km2": [np.nan if g is None else 400.0 for *_, g in records],
        },
        geometry=[g for *_, g in records],
        crs=4326,
    ).rename_geometry("geom")

    total = rng.integers(2_000, 60_000, size=n).astype(float)
    rural_share = rng.uniform(0.0, 0.9, size=n)
    rural_share[cuts.index(FULLY_URBAN_CUT)] = 0.0
    rural = np.round(total * rural_share)
    population = pd.concat(
        [
            pd.DataFrame(
                {
                    "dataset": "ine_proyecciones_urbana_rural_comuna",
                    "cut": cuts,
                    "year": 2024,
                    "area": area,
                    "population": values,
                }
            )
            for area, values in (("total", total), ("urbana", total - rural), ("rural", rural))
        ],
        ignore_index=True,
    )

    public = rng.integers(200, DWELLINGS, size=n)
    truck = rng.integers(0, (DWELLINGS - public) // 2 + 1)
    river = rng.integers(0, (DWELLINGS - public - truck) + 1)
    well = DWELLINGS - public - truck - river
    water_sources = pd.DataFrame(
        {
            "dataset": "censo2017_origen_agua",
            "cut": cuts,
            "year": 2017,
            "dwellings_public_network": public,
            "dwellings_well": well,
            "dwellings_water_truck": truck,
            "dwellings_river_spring": river,
            "dwellings_with_data": DWELLINGS,
            "pct_without_public_network": 100.0 * (DWELLINGS - public) / DWELLINGS,
        }
    )

    centre = {cut: (g.centroid.x, g.centroid.y) for cut, *_, g in records if g is not None}
    apr_rows = []
    for index, cut in enumerate(APR_CUTS):
        x, y = centre[cut]
        for offset in (-0.05, 0.05):
            apr_rows.append(
                {
                    "dataset": "apr_synthetic",
                    "name": f"APR {cut} {offset}",
                    "cut": cut,
                    "connections": 100.0,
                    "beneficiaries": 350.0 + 50 * index,
                    "status": None,
                    "network_status": "Insuficiente" if index % 2 else "Suficiente",
                    "organisation_status": "Óptimo",
                    "size_class": None,
                    "water_source_type": None,
                    "source": "synthetic",
                    "outside_declared_commune": False,
                    "geom": Point(x + offset, y + offset),
                }
            )
    apr_systems = gpd.GeoDataFrame(apr_rows, geometry="geom", crs=4326)

    facility_rows: list[dict[str, object]] = []

    def facility(cut: str, kind: str, level: str, x: float, y: float, **extra: object) -> None:
        facility_rows.append(
            {
                "dataset": "deis_synthetic",
                "source_id": str(len(facility_rows)),
                "name": f"{kind} {cut}",
                "category": extra.get("category", "salud"),
                "facility_type": kind,
                "level": level,
                "operating_status": extra.get("status", "Vigente en Operación Habitual"),
                "ownership": "Público",
                "cut": cut,
                "outside_declared_commune": False,
                "geom": Point(x, y),
            }
        )

    for cut, column, row, geometry in records:
        if geometry is None or column < 0:
            continue
        x, y = centre[cut]
        if (column + row) % 3 != 0:
            facility(cut, "Centro de Salud Familiar (CESFAM)", "Primario", x, y)
        if row % 2 == 0:
            facility(cut, "Posta de Salud Rural (PSR)", "Primario", x + 0.07, y - 0.07)
    for cut in ("05103", "13108", "13113"):
        x, y = centre[cut]
        facility(cut, "Hospital", "Terciario", x + 0.01, y)
    island_x, island_y = centre[ISLAND_CUT]
    facility(ISLAND_CUT, "Hospital", "Secundario", island_x, island_y)
    # Must be ignored: a closed post and a school.
    facility("05101", "Posta de Salud Rural (PSR)", "Primario", *centre["05101"], status="Cerrado")
    facility("05102", "Escuela", "No Aplica", *centre["05102"], category="educacion")
    facilities = gpd.GeoDataFrame(facility_rows, geometry="geom", crs=4326)

    locality_rows = []
    for index, cut in enumerate(cuts):
        for number in range(index % 7):
            locality_rows.append(
                (cut, f"Localidad {number}", "Localidad rural", "Caserío", 40.0, 12.0)
            )
        locality_rows.append((cut, "Indeterminada", "Localidad rural", "Indeterminada", 15.0, 5.0))
        locality_rows.append((cut, "Centro", "Urbano", "Ciudad", np.nan, np.nan))
    localities = pd.DataFrame(
        locality_rows,
        columns=["cut", "name", "locality_type", "subtype", "inhabitants", "dwellings"],
    ).assign(dataset="localidades_synthetic")

    rate = rng.uniform(0.05, 0.4, size=n)
    poverty = pd.DataFrame(
        {
            "dataset": "pobreza_synthetic",
            "cut": cuts,
            "year": 2022,
            "population": total,
            "poor_count": rate * total,
            "rate": rate,
            "ci_lower": rate - 0.04,
            "ci_upper": rate + 0.05,
            "measure": "multidimensional",
        }
    )
    # Income poverty: related to multidimensional poverty but not a copy of it (no extra
    # random draws, so the rest of the territory stays as it was).
    income_rate = 0.5 * rate + 0.1 * rural_share
    income_poverty = poverty.assign(
        dataset="pobreza_ingresos_synthetic",
        rate=income_rate,
        ci_lower=income_rate - 0.02,
        ci_upper=income_rate + 0.03,
        population=np.nan,
        poor_count=np.nan,
        measure="income",
    )
    poverty = pd.concat([poverty, income_poverty], ignore_index=True)

    income = rng.lognormal(mean=13.0, sigma=0.6, size=n)
    finance = pd.concat(
        [
            pd.DataFrame(
                {
                    "dataset": f"sinim_{year}",
                    "cut": cuts,
                    "year": year,
                    "municipality": [f"MUNICIPIO {cut}" for cut in cuts],
                    "income_total_mclp": income * total / 1000,
                    "spending_total_mclp": income * total / 1000,
                    "investment_mclp": 1000.0,
                    "income_per_capita_clp": income * (1.0 if year == 2023 else 0.9),
                    # Own permanent income, M$ per inhabitant: lower where rural.
                    "own_income_per_capita_mclp": income / 1000 * (1.2 - rural_share),
                    "spending_per_capita_clp": income,
                    "population": total,
                    "density_per_km2": total / 400,
                    "pct_rural": 100 * rural_share,
                }
            )
            for year in (2022, 2023)
        ],
        ignore_index=True,
    )
    finance = finance[finance["cut"] != NO_FINANCE_CUT].reset_index(drop=True)

    settlement_rows: list[dict[str, object]] = []
    for cut, households in (("05101", 120.0), ("05101", 30.0), ("13105", 400.0), ("13112", 50.0)):
        x, y = centre[cut]
        settlement_rows.append(
            {
                "dataset": "campamentos_synthetic",
                "source_id": str(len(settlement_rows)),
                "cut": cut,
                "name": f"Campamento {len(settlement_rows)}",
                "households": households,
                "hectares": 1.0,
                "geom": _multi(box(x - 0.01, y - 0.01, x + 0.01, y + 0.01)),
            }
        )
    informal_settlements = gpd.GeoDataFrame(settlement_rows, geometry="geom", crs=4326)

    zone_rows = []
    for cut, column, _row, geometry in records:
        if geometry is None or column < 0:
            continue
        x, y = centre[cut]
        if cut == FULLY_URBAN_CUT:
            zone = geometry
        elif column % 2 == 0:
            zone = _multi(box(x - 0.03, y - 0.03, x + 0.03, y + 0.03))
        else:
            continue
        zone_rows.append(
            {
                "geocode": f"{cut}001",
                "dataset": "zonas_synthetic",
                "cut": cut,
                "population_2017": 5000.0,
                "geom": zone,
            }
        )
    urban_zones = gpd.GeoDataFrame(zone_rows, geometry="geom", crs=4326)

    huella_presence = pd.DataFrame(
        {
            "dataset": "huella_synthetic",
            "cut": ["05101", "05101", "13105"],
            "intervention": ["mesa_convergencia", "other", "gore_apr_program"],
        }
    )
    project_sites = gpd.GeoDataFrame(
        {
            "dataset": "proyectos_synthetic",
            "project_id": ["P-1", "P-2", "P-3"],
            "cut": ["05102", "05102", "13103"],
            "name": ["Sede social", "Posta", "Camino"],
            "typology": ["Equipamiento", "Servicios_Básicos", "Infraestructura_Vial"],
            "stage": ["diseño", "ejecución", None],
            "total_investment_clp": [1_000_000.0, np.nan, 5_000_000.0],
            "private_contribution_clp": [100_000.0, np.nan, np.nan],
            "location_precision": ["commune", "exact", "commune"],
            "source_note": None,
            "outside_declared_commune": False,
        },
        geometry=[None, Point(*centre["05102"]), None],
        crs=4326,
    ).rename_geometry("geom")

    rural_classification = pd.DataFrame(
        {
            "dataset": "pndr_synthetic",
            "cut": cuts,
            "classification": ["Rural" if share > 0.5 else "Urbana" for share in rural_share],
            "commune_type": [3 if share > 0.5 else 1 for share in rural_share],
            "population_2024": total,
        }
    )

    inputs = AnalysisInputs(
        communes=communes,
        population=population,
        water_sources=water_sources,
        apr_systems=apr_systems,
        facilities=facilities,
        localities=localities,
        poverty=poverty,
        municipal_finance=finance,
        informal_settlements=informal_settlements,
        urban_zones=urban_zones,
        huella_presence=huella_presence,
        project_sites=project_sites,
        rural_classification=rural_classification,
    )
    # Travel times from the real pipeline on this territory (no land cover: every cell of
    # unknown class), stored as `geogaps accessibility` stores them.
    access = run_accessibility(inputs, resolution=2000)
    table = access.table.assign(dataset="accesibilidad_synthetic")
    return replace(inputs, accessibility=table)


# -- module fixtures: a test module imports them (as ``*_fixture``) to use them ----------------

#: Few draws and permutations: fast, yet every step of the scoring runs.
FAST: dict[str, Any] = {"draws": 120, "moran_permutations": 99}


@pytest.fixture(scope="module", name="inputs")
def inputs_fixture() -> AnalysisInputs:
    """The synthetic inputs, built once per module."""
    return build_synthetic_inputs()


@pytest.fixture(scope="module", name="indicators")
def indicators_fixture(inputs: AnalysisInputs) -> pd.DataFrame:
    """Raw indicators of the synthetic inputs."""
    return compute_indicators(inputs)


@pytest.fixture(scope="module", name="result")
def result_fixture(inputs: AnalysisInputs, indicators: pd.DataFrame) -> ScoringResult:
    """The synthetic territory scored with :data:`FAST` parameters."""
    return score_communes(inputs, ScoringParameters(**FAST), raw_indicators=indicators)
