"""Keys and value ranges every store enforces on the data tables.

The ranges are documented limits, not statistics: a value outside them is a typing error or a
unit mistake in the source (a count of people beyond Chile's population, a share above 100 %).
Validation rejects such rows before anything is written; PostGIS enforces the same limits with
CHECK constraints (migration 0003) and the embedded store checks them again on every write, so a
row that slipped past validation is refused by either store with the same reason.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sqlalchemy import Float, Integer, Table

from layers.schema import DATA_TABLES, Base

PEOPLE = (0.0, 25_000_000.0)  # Chile has about 20 million inhabitants
DWELLINGS = (0.0, 10_000_000.0)
PERCENT = (0.0, 100.0)
SHARE = (0.0, 1.0)
YEAR = (1900.0, 2100.0)
MONEY_CLP = (0.0, 1e15)
MONEY_THOUSANDS_CLP = (0.0, 1e12)

#: table → column → (lowest, highest) allowed value, both included.
COLUMN_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "communes": {"area_km2": (0.0, 2_000_000.0)},
    "urban_zones": {"population_2017": PEOPLE},
    "population": {"year": YEAR, "population": PEOPLE},
    "water_sources": {
        "year": YEAR,
        "dwellings_public_network": DWELLINGS,
        "dwellings_well": DWELLINGS,
        "dwellings_water_truck": DWELLINGS,
        "dwellings_river_spring": DWELLINGS,
        "dwellings_with_data": DWELLINGS,
        "pct_without_public_network": PERCENT,
    },
    "apr_systems": {"connections": (0.0, 1_000_000.0), "beneficiaries": PEOPLE},
    "project_sites": {
        "total_investment_clp": MONEY_CLP,
        "private_contribution_clp": MONEY_CLP,
    },
    "localities": {"inhabitants": PEOPLE, "dwellings": DWELLINGS},
    "rural_classification": {"commune_type": (1.0, 3.0), "population_2024": PEOPLE},
    "poverty": {
        "year": YEAR,
        "population": PEOPLE,
        "poor_count": PEOPLE,
        "rate": SHARE,
        "ci_lower": SHARE,
        "ci_upper": SHARE,
    },
    "municipal_finance": {
        "year": YEAR,
        "income_total_mclp": MONEY_THOUSANDS_CLP,
        "spending_total_mclp": MONEY_THOUSANDS_CLP,
        "investment_mclp": MONEY_THOUSANDS_CLP,
        "income_per_capita_clp": (0.0, 1e10),
        "spending_per_capita_clp": (0.0, 1e10),
        "population": PEOPLE,
        "density_per_km2": (0.0, 100_000.0),
        "pct_rural": PERCENT,
    },
    "informal_settlements": {"households": DWELLINGS, "hectares": (0.0, 1_000_000.0)},
    "road_segments": {"length_m": (0.0, 10_000_000.0), "walking_hours": (0.0, 10_000.0)},
}


#: table → columns that count whole things (people, dwellings, households, APR connections,
#: years, a class number): a fractional value there is a typing or unit error in the source.
#: Estimates that are legitimately fractional (poverty's ``poor_count``) are not listed.
INTEGER_COLUMNS: dict[str, tuple[str, ...]] = {
    "urban_zones": ("population_2017",),
    "population": ("year", "population"),
    "water_sources": (
        "year",
        "dwellings_public_network",
        "dwellings_well",
        "dwellings_water_truck",
        "dwellings_river_spring",
        "dwellings_with_data",
    ),
    "apr_systems": ("connections", "beneficiaries"),
    "localities": ("inhabitants", "dwellings"),
    "rural_classification": ("commune_type", "population_2024"),
    "poverty": ("year", "population"),
    "municipal_finance": ("year", "population"),
    "informal_settlements": ("households",),
}


#: table → (lower bound, estimate, upper bound) columns of a published interval: every row must
#: hold 0 ≤ lower ≤ estimate ≤ upper ≤ 1 (each column's own range is in COLUMN_RANGES). A
#: missing bound stays missing and is not checked.
INTERVALS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "poverty": (("ci_lower", "rate", "ci_upper"),),
}


#: table → columns that, with the commune (``cut``), name one fact: two active datasets may not
#: both supply it ("one source per fact"). Commune indicator tables are covered by year (and
#: poverty by measure); point layers by the commune of their points (and facilities by
#: category), since a second layer of the same systems counts them twice. Tables left out:
#: codes, boundaries and urban zones (their key is unique across datasets already), population
#: (census counts and projections of one year are different facts, and the catalogue names the
#: one series the score reads), Huella Local presence (a list, not a figure), demo layers and
#: accessibility (one dataset per destination and resolution, chosen by the score).
FACT_SCOPES: dict[str, tuple[str, ...]] = {
    "water_sources": ("year",),
    "poverty": ("measure", "year"),
    "municipal_finance": ("year",),
    "rural_classification": (),
    "apr_systems": (),
    "facilities": ("category",),
    "informal_settlements": (),
    "localities": (),
    "project_sites": (),
}


def table_named(name: str) -> Table:
    """The SQLAlchemy table of a data table."""
    return Base.metadata.tables[DATA_TABLES[name].__tablename__]


def numeric_columns(table_name: str) -> list[str]:
    """Number columns of a data table (surrogate ids left out)."""
    table = table_named(table_name)
    return [c.name for c in table.columns if isinstance(c.type, Integer | Float) and c.name != "id"]


def range_of(table_name: str, column: str) -> tuple[float, float]:
    """Documented range of a column; any finite number when none is documented."""
    return COLUMN_RANGES.get(table_name, {}).get(column, (-math.inf, math.inf))


def unique_keys(table_name: str) -> list[str]:
    """Columns whose values identify one row of the table (its primary key, ids left out)."""
    table = table_named(table_name)
    keys = [c.name for c in table.primary_key.columns]
    return [] if keys == ["id"] else keys


def check_constraint_sql(table_name: str, column: str) -> str:
    """SQL of the CHECK constraint for one number column: finite and within its range.

    PostgreSQL orders NaN above every number, Infinity included, so ``< 'Infinity'`` also
    refuses NaN. NULL passes, as for every CHECK.
    """
    low, high = range_of(table_name, column)
    parts = [
        f"{column} > '-Infinity'::float8" if math.isinf(low) else f"{column} >= {low!r}",
        f"{column} < 'Infinity'::float8" if math.isinf(high) else f"{column} <= {high!r}",
    ]
    return " AND ".join(parts)


def violations(table_name: str, rows: pd.DataFrame) -> list[str]:
    """Reasons why ``rows`` (a whole table after a write) break its keys or ranges.

    Returns an empty list when the rows are acceptable. Used by the embedded store, which has
    no database to enforce them.
    """
    if table_name not in DATA_TABLES:
        return []
    found: list[str] = []
    keys = unique_keys(table_name)
    if keys and not rows.empty:
        repeated = rows[rows.duplicated(subset=keys, keep=False)]
        if not repeated.empty:
            first = repeated.iloc[0]
            value = ", ".join(f"{k} = {first[k]}" for k in keys)
            owners = sorted(set(repeated["dataset"].astype(str))) if "dataset" in rows else []
            found.append(
                f"clave repetida en {table_name} ({value}), presente en "
                f"{', '.join(owners) or 'el mismo conjunto'}"
            )
    for column in [c for c in INTEGER_COLUMNS.get(table_name, ()) if c in rows]:
        values = pd.to_numeric(rows[column], errors="coerce").astype(float).to_numpy()
        fractional = values[np.isfinite(values) & (values != np.trunc(values))]
        if fractional.size:
            found.append(f"{table_name}.{column} = {fractional[0]!r} no es un número entero")
    for column in numeric_columns(table_name):
        if column not in rows:
            continue
        values = pd.to_numeric(rows[column], errors="coerce").astype(float).to_numpy()
        present = values[~np.isnan(values)]
        low, high = range_of(table_name, column)
        bad = present[~np.isfinite(present) | (present < low) | (present > high)]
        if bad.size:
            found.append(
                f"{table_name}.{column} = {bad[0]!r} está fuera del rango permitido "
                f"[{low:g}, {high:g}]"
            )
    return found
