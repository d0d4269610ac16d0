"""Canonical serialisation and sha256 digest of result tables.

Two runs with the same inputs, parameters and seed must give the same digest. Tables are
written as CSV with rows sorted on their key columns, a fixed column order, Unix line
endings, empty cells for missing values and floats rounded to 12 significant digits (so the
digest does not depend on how a platform prints the last bit of a double).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import pandas as pd

#: Columns identifying a row of each result table, used to sort before hashing.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "scores": ("challenge", "cut"),
    "indicators": ("cut",),
    "contributions": ("challenge", "cut", "indicator"),
    "clusters": ("challenge", "cut"),
    "groups": ("challenge", "group_id", "cut"),
    "portfolio": ("cut",),
    "reference": ("indicator",),
}
FLOAT_FORMAT = "%.12g"


def canonical_csv(table: pd.DataFrame, keys: tuple[str, ...] = ()) -> str:
    """Return the canonical CSV text of a table.

    Parameters
    ----------
    table : pandas.DataFrame
        Any table; geometry columns, if present, are written as WKT by pandas' ``str``.
    keys : tuple of str
        Columns to sort rows by (those present in the table).

    Returns
    -------
    str
        CSV text with a header row.
    """
    sort_keys = [key for key in keys if key in table.columns]
    ordered = table.sort_values(sort_keys, kind="stable") if sort_keys else table
    return ordered.to_csv(index=False, lineterminator="\n", float_format=FLOAT_FORMAT, na_rep="")


def tables_digest(tables: Mapping[str, pd.DataFrame]) -> str:
    """Return the sha256 hex digest of several tables, in the mapping's order.

    Each table contributes a ``## name`` line followed by its canonical CSV.
    """
    digest = hashlib.sha256()
    for name, table in tables.items():
        digest.update(f"## {name}\n".encode())
        digest.update(canonical_csv(table, TABLE_KEYS.get(name, ())).encode("utf-8"))
    return digest.hexdigest()
