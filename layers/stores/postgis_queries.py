"""The SQL of the PostGIS store's table reads and writes, built with SQLAlchemy Core.

Identifiers (tables, columns, order) only ever come from the models; values are bound
parameters. Hand-written statements (OGC items and tiles, the state key, locks) are the
``.sql`` files of :mod:`layers.sql`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import psycopg
import shapely
from geoalchemy2 import Geometry
from psycopg import sql
from sqlalchemy import BigInteger, Boolean, Connection, Float, Integer, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql import ColumnElement, Select

from layers.queries import ReadRequest
from layers.schema import SRID
from layers.tables import table_named
from layers.validation import INT32_RANGE


def where_clauses(request: ReadRequest) -> list[ColumnElement[bool]]:
    """SQL conditions of a read, every value a bound parameter.

    Region is a CUT range (``cut >= '04000' AND cut < '05000'``) so that the btree index on
    ``cut`` (or a primary key starting with it) serves it; bbox is ``&&`` on the GiST index
    followed by the exact ``ST_Intersects``.
    """
    model = table_named(request.table)
    clauses: list[ColumnElement[bool]] = []
    for name, value in request.equals.items():
        clauses.append(model.c[name] == value)
    if request.cut_range is not None:
        low, high = request.cut_range
        clauses.append(model.c.cut >= low)
        clauses.append(model.c.cut < high)
    if request.cuts is not None:
        clauses.append(model.c.cut.in_(list(request.cuts)))
    if request.bbox is not None:
        envelope = func.ST_MakeEnvelope(*request.bbox, SRID)
        clauses.append(model.c.geom.op("&&")(envelope))
        clauses.append(func.ST_Intersects(model.c.geom, envelope))
    return clauses


def select_query(request: ReadRequest) -> Select[Any]:
    """The SELECT of a read: allow-listed columns, bound filters, sort and page."""
    model = table_named(request.table)
    selected = [
        func.ST_AsBinary(model.c[c]).label(c) if c == "geom" else model.c[c]
        for c in request.columns
    ]
    order = [
        model.c[name].desc().nulls_last() if descending else model.c[name].asc().nulls_last()
        for name, descending in request.order_pairs
    ]
    query = select(*selected).where(*where_clauses(request)).order_by(*order)
    if request.offset:
        query = query.offset(request.offset)
    if request.limit is not None:
        query = query.limit(request.limit)
    return query


def copy_rows(connection: Connection, table_name: str, frame: pd.DataFrame) -> None:
    """Bulk-insert ``frame`` with binary COPY on the transaction's own psycopg connection."""
    if frame.empty:
        return
    columns = list(frame.columns)
    values: dict[str, list[Any]] = {}
    for column in columns:
        series = frame[column]
        if column == "geom":
            geoms = shapely.set_srid(
                series.array.to_numpy() if hasattr(series, "array") else series.to_numpy(), SRID
            )
            values[column] = list(shapely.to_wkb(geoms, include_srid=True))
        else:
            values[column] = series.astype(object).where(series.notna(), None).tolist()
    table = table_named(table_name)
    for column in columns:
        # psycopg's binary int4 dumper wraps large values around; refuse them instead.
        if binary_copy_type(table.c[column].type) == "int4":
            numbers = [v for v in values[column] if v is not None]
            if numbers and not (INT32_RANGE[0] <= min(numbers) and max(numbers) <= INT32_RANGE[1]):
                raise psycopg.DataError(f"a value of {column} is out of range for type integer")
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table_name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([binary_copy_type(table.c[c].type) for c in columns])
        for row in zip(*(values[c] for c in columns), strict=True):
            copy.write_row(row)


def binary_copy_type(column_type: Any) -> str:
    """PostgreSQL type whose binary format a COPY column is sent in.

    Geometries go as raw EWKB declared ``bytea``: binary COPY hands the bytes to PostGIS's own
    ``geometry_recv``, which reads EWKB, so nothing is hex-encoded on either side.
    """
    if isinstance(column_type, Geometry):
        return "bytea"
    for sqlalchemy_type, postgres_type in _BINARY_TYPES:
        if isinstance(column_type, sqlalchemy_type):
            return postgres_type
    return "text"


_BINARY_TYPES = ((Boolean, "bool"), (BigInteger, "int8"), (Integer, "int4"), (Float, "float8"))


def delete_dataset_rows(connection: Connection, table_names: Sequence[str], dataset: str) -> int:
    """Delete ``dataset``'s rows from every table in ONE statement; return how many went.

    Each DELETE is a data-modifying CTE counted in the final SELECT, so a load pays one round
    trip instead of one per data table (a dataset lives in one table, but a change of kind
    moves it, so every table is cleared).
    """
    counts = []
    for number, name in enumerate(table_names):
        table = table_named(name)
        deleted = (delete(table).where(table.c.dataset == dataset).returning(table.c.dataset)).cte(
            f"deleted_{number}"
        )
        counts.append(select(func.count()).select_from(deleted).scalar_subquery())
    if not counts:
        return 0
    return int(sum(connection.execute(select(*counts)).one()))


def upsert(connection: Connection, table: Any, values: dict[str, Any], keys: list[str]) -> None:
    """Insert ``values`` into ``table``, or update the row with the same ``keys``."""
    statement = insert(table).values(**values)
    update = {k: statement.excluded[k] for k in values if k not in keys}
    connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=update))
