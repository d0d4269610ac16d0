"""Naming conventions of the schema's tables, shared by the stores and the query builder.

Kept apart from :mod:`layers.stores.base` so that :mod:`layers.queries` can use them while the
stores use the query builder, without the two importing each other.
"""

from __future__ import annotations

from sqlalchemy import Table

from domain.errors import NotFoundError
from layers.schema import Base


def table_named(name: str) -> Table:
    """The SQLAlchemy table called ``name``; a NotFoundError lists the tables otherwise."""
    try:
        return Base.metadata.tables[name]
    except KeyError:
        known = ", ".join(sorted(Base.metadata.tables))
        raise NotFoundError(f"tabla desconocida {name!r}; las tablas son {known}") from None


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
