"""The SQL of the PostGIS store's table reads and writes, built with SQLAlchemy Core.

Identifiers (tables, columns, order) only ever come from the models; values are bound
parameters. Hand-written statements (OGC items and tiles, the state key, locks) are the
``.sql`` files of :mod:`layers.sql`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import psycopg
import shapely
from geoalchemy2 import Geometry
from psycopg import sql
from psycopg.types.json import Json
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    CursorResult,
    Float,
    Integer,
    func,
    select,
)
from sqlalchemy.sql import ColumnElement, Select

from layers.queries import ReadRequest
from layers.schema import SRID
from layers.sql import quoted
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


def plain_select(request: ReadRequest) -> tuple[str, dict[str, Any]] | None:
    """The SELECT of :func:`select_query` written out as text, for reads without a bbox.

    A new store (each ``geogaps load-file`` is a new process) compiles every SQLAlchemy
    statement afresh, which costs more than running the small reads a load makes (provenance,
    commune codes). Same columns, filters, order and page; None when the read needs the
    SQLAlchemy builder (a bbox, a ``None`` to compare with, codes that are not text).
    """
    if request.bbox is not None or any(v is None for v in request.equals.values()):
        return None
    if request.cuts is not None and not all(isinstance(c, str) for c in request.cuts):
        return None
    model = table_named(request.table)
    selected = ", ".join(
        'ST_AsBinary("geom") AS "geom"' if c == "geom" else quoted(model.c[c].name)
        for c in request.columns
    )
    conditions = []
    parameters: dict[str, Any] = {}
    for number, (name, value) in enumerate(request.equals.items()):
        conditions.append(f"{quoted(model.c[name].name)} = %(equals_{number})s")
        parameters[f"equals_{number}"] = value
    if request.cut_range is not None:
        conditions.append("cut >= %(cut_low)s AND cut < %(cut_high)s")
        parameters["cut_low"], parameters["cut_high"] = request.cut_range
    if request.cuts is not None:
        conditions.append("cut = ANY(%(cuts)s::text[])")
        parameters["cuts"] = list(request.cuts)
    query = f"SELECT {selected} FROM {quoted(model.name)}"
    if conditions:
        query += f" WHERE {' AND '.join(conditions)}"
    if request.order_pairs:
        query += " ORDER BY " + ", ".join(
            f"{quoted(model.c[name].name)} {'DESC' if descending else 'ASC'} NULLS LAST"
            for name, descending in request.order_pairs
        )
    if request.limit is not None:
        query += " LIMIT %(limit)s"
        parameters["limit"] = request.limit
    if request.offset:
        query += " OFFSET %(offset)s"
        parameters["offset"] = request.offset
    return query, parameters


def frame_of(result: CursorResult[Any]) -> pd.DataFrame:
    """A query's rows as a frame, built as ``pandas.read_sql`` builds it; ``geom`` decoded.

    ``pandas.read_sql`` asks the database whether the query is a table name first (one round
    trip more per read) and ``geopandas.read_postgis`` decodes the WKB row by row; the rows and
    types here are the same, and :func:`layers.stores.base.conform` types them as before.
    """
    # Plain tuples: pandas probes each SQLAlchemy Row for attributes, an exception per row.
    rows = [tuple(row) for row in result.fetchall()]
    frame = pd.DataFrame.from_records(rows, columns=list(result.keys()), coerce_float=True)
    if "geom" in frame:
        frame["geom"] = gpd.GeoSeries(
            shapely.from_wkb(frame["geom"].to_numpy()), index=frame.index, crs=f"EPSG:{SRID}"
        )
    return frame


def other_datasets_query(
    table_name: str,
    columns: Sequence[str],
    datasets: Sequence[str | None],
    cuts: Iterable[str] | None,
) -> tuple[str, dict[str, Any]]:
    """``SELECT DISTINCT columns ... WHERE dataset NOT IN datasets [AND cut IN cuts]``.

    The other datasets of the table are found first by a skip scan of the index every data
    table has on ``dataset`` (a handful of index probes), and their rows only are read: a
    table holding just the dataset being reloaded (29,256 localities) answers without reading
    one row, where filtering on ``cut`` alone read all of them. Written out rather than built
    with SQLAlchemy: each ``geogaps load-file`` is a new process, where compiling the statement
    costs more than running it; the codes travel as one array parameter.
    """
    table = quoted(table_named(table_name).name)
    names = ", ".join(quoted(table_named(table_name).c[c].name) for c in columns)
    excluded = [d for d in datasets if d is not None]
    parameters: dict[str, Any] = {"excluded": excluded}
    where = "dataset = ANY(ARRAY(SELECT dataset FROM present WHERE dataset IS NOT NULL "
    where += "AND dataset <> ALL(%(excluded)s::text[])))"
    if cuts is not None:
        where += " AND cut = ANY(%(cuts)s::text[])"
        parameters["cuts"] = sorted(set(cuts))
    query = (
        f"WITH RECURSIVE present AS (SELECT min(dataset) AS dataset FROM {table} UNION ALL "
        f"SELECT (SELECT min(dataset) FROM {table} WHERE dataset > present.dataset) "
        "FROM present WHERE present.dataset IS NOT NULL) "
        f"SELECT DISTINCT {names} FROM {table} WHERE {where} ORDER BY {names}"
    )
    return query, parameters


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
    with _driver(connection).cursor() as cursor, cursor.copy(statement) as copy:
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
    moves it, so every table is cleared). The statement is composed as text: a new process
    (each ``geogaps load-file``) would spend longer compiling it with SQLAlchemy than running it.
    """
    if not table_names:
        return 0
    deletes = sql.SQL(", ").join(
        sql.SQL("{} AS (DELETE FROM {} WHERE dataset = %(dataset)s RETURNING 1)").format(
            sql.Identifier(f"deleted_{number}"), sql.Identifier(table_named(name).name)
        )
        for number, name in enumerate(table_names)
    )
    counts = sql.SQL(" + ").join(
        sql.SQL("(SELECT count(*) FROM {})").format(sql.Identifier(f"deleted_{number}"))
        for number in range(len(table_names))
    )
    statement = sql.SQL("WITH {} SELECT {}").format(deletes, counts)
    with _driver(connection).cursor() as cursor:
        cursor.execute(statement, {"dataset": dataset})
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def insert_row(
    connection: Connection,
    table_name: str,
    values: dict[str, Any],
    conflict_keys: Sequence[str] = (),
) -> None:
    """Insert one row into ``table_name``; with ``conflict_keys``, update the row they match.

    Composed as text on the transaction's own psycopg connection for the reason given in
    :func:`delete_dataset_rows`. JSON columns are wrapped as SQLAlchemy's JSON type wraps them
    (``None`` included, which is stored as JSON ``null``).
    """
    table = table_named(table_name)
    names = list(values)
    parameters = {
        name: Json(value) if isinstance(table.c[name].type, JSON) else value
        for name, value in values.items()
    }
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table.name),
        sql.SQL(", ").join(sql.Identifier(table.c[name].name) for name in names),
        sql.SQL(", ").join(sql.Placeholder(name) for name in names),
    )
    if conflict_keys:
        updated = [name for name in names if name not in conflict_keys]
        statement += sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(
            sql.SQL(", ").join(sql.Identifier(table.c[key].name) for key in conflict_keys),
            sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name)) for name in updated
            ),
        )
    with _driver(connection).cursor() as cursor:
        cursor.execute(statement, parameters)


def _driver(connection: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under a SQLAlchemy one (same transaction)."""
    driver = connection.connection.driver_connection
    assert driver is not None
    return driver  # type: ignore[no-any-return]
