"""What every store offers, and the column conventions they share.

Two stores hold the same tables: :class:`layers.postgis.PostgisStore` and
:class:`layers.embedded.EmbeddedStore`. Both return every table through :func:`conform`, so the
same load gives the same frames back from either.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, Table

from layers.schema import SRID, Base

PROVENANCE_TABLE = "dataset_provenance"


def table_named(name: str) -> Table:
    """The SQLAlchemy table called ``name``; a ValueError lists the tables otherwise."""
    try:
        return Base.metadata.tables[name]
    except KeyError:
        known = ", ".join(sorted(Base.metadata.tables))
        raise ValueError(f"unknown table {name!r}; tables are {known}") from None


def stored_columns(table_name: str) -> list[str]:
    """Columns a store writes and returns: all but auto-incremented surrogate keys."""
    table = table_named(table_name)
    return [c.name for c in table.columns if not (c.primary_key and c.name == "id")]


def row_order(table_name: str) -> list[str]:
    """Columns that order a table's rows the same way in every store.

    Tables keyed by a surrogate ``id`` keep the source order within each dataset.
    """
    table = table_named(table_name)
    keys = [c.name for c in table.primary_key.columns]
    if keys == ["id"]:
        return ["dataset", "id"]
    return (["dataset"] if "dataset" in table.c and "dataset" not in keys else []) + keys


def conform(frame: pd.DataFrame, table_name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Select and type the columns of ``table_name`` the same way in every store.

    Text stays ``object`` with None for missing, integers become nullable ``Int64``, floats
    ``float64``, booleans ``bool``, JSON a dict, and ``geom`` a GeoSeries in EPSG:4326.
    """
    table = table_named(table_name)
    names = columns or stored_columns(table_name)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValueError(f"{table_name}: frame lacks column(s) {', '.join(missing)}")
    out = pd.DataFrame(index=range(len(frame)))
    for name in names:
        column_type = table.c[name].type
        values = frame[name].reset_index(drop=True)
        if name == "geom":
            continue
        if isinstance(column_type, Boolean):
            out[name] = values.fillna(False).astype(bool)
        elif isinstance(column_type, Integer):
            out[name] = pd.to_numeric(values).round().astype("Int64")
        elif isinstance(column_type, Float):
            out[name] = pd.to_numeric(values).astype("float64")
        elif isinstance(column_type, DateTime):
            out[name] = pd.to_datetime(values, utc=True)
        elif isinstance(column_type, JSON):
            out[name] = values.map(lambda v: json.loads(v) if isinstance(v, str) else v)
        else:
            out[name] = values.astype(object).where(values.notna(), None)
    if "geom" in names:
        geometry = gpd.GeoSeries(frame["geom"].reset_index(drop=True).array, crs=f"EPSG:{SRID}")
        out["geom"] = geometry
        return gpd.GeoDataFrame(out[names], geometry="geom", crs=f"EPSG:{SRID}")
    return out[names]


class Store(ABC):
    """A place where datasets are loaded and read back."""

    def __init__(self) -> None:
        self._reference_cache: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = {}

    def migrate(self) -> None:  # noqa: B027 - only PostGIS has a schema to migrate
        """Prepare the store's schema (no-op for stores without one)."""

    def close(self) -> None:  # noqa: B027 - only PostGIS holds connections
        """Release resources."""

    @abstractmethod
    def replace_dataset(
        self, table_name: str, dataset: str, frame: pd.DataFrame, provenance: dict[str, Any]
    ) -> None:
        """Atomically replace ``dataset``'s rows in ``table_name`` and record its provenance."""

    @abstractmethod
    def read_table(self, table_name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Return all rows of a table (a GeoDataFrame when it has a geometry)."""

    @abstractmethod
    def save_score_run(self, run: dict[str, Any], results: pd.DataFrame) -> None:
        """Store one score run and its results."""

    @abstractmethod
    def read_score_run(self, run_id: str | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
        """Return a stored run (the newest when ``run_id`` is None) and its results."""

    def provenance(self) -> pd.DataFrame:
        """Provenance of every loaded dataset, one row each."""
        return self.read_table(PROVENANCE_TABLE)

    def provenance_of(self, dataset: str) -> dict[str, Any] | None:
        """The provenance row of one dataset, or None if it was never loaded."""
        provenance = self.provenance()
        rows = provenance[provenance["dataset"] == dataset]
        return None if rows.empty else {str(k): v for k, v in rows.iloc[0].items()}

    def dataset_sha256(self, dataset: str) -> str | None:
        """sha256 of the file a dataset was last loaded from, or None if never loaded."""
        previous = self.provenance_of(dataset)
        return None if previous is None else str(previous["sha256"])

    def known_cuts(self) -> set[str]:
        """Commune codes of the official code list and of the loaded boundaries."""
        codes = self.read_reference("territorial_codes", ["cut"])["cut"]
        communes = self.read_reference("communes", ["cut"])["cut"]
        return set(codes) | set(communes)

    def read_reference(self, table_name: str, columns: list[str]) -> pd.DataFrame:
        """Read a table that validation consults again and again (codes, commune outlines).

        The copy is kept until this store replaces a dataset of that table, so loading a whole
        folder reads the 345 commune polygons once instead of once per spatial dataset.
        """
        key = (table_name, tuple(columns))
        if key not in self._reference_cache:
            self._reference_cache[key] = self.read_table(table_name, columns)
        return self._reference_cache[key]

    def forget_reference(self, table_name: str) -> None:
        """Drop cached copies of ``table_name`` (called after its rows change)."""
        for key in [k for k in self._reference_cache if k[0] == table_name]:
            del self._reference_cache[key]
