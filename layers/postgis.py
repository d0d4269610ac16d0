"""The PostGIS store: GeoAlchemy2 tables, Alembic migrations, COPY bulk loads in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import geopandas as gpd
import pandas as pd
import psycopg
import shapely
from alembic import command
from alembic.config import Config
from geoalchemy2 import Geometry
from psycopg import sql
from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Engine,
    Float,
    Integer,
    create_engine,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from layers.errors import StoreWriteError
from layers.schema import SRID, Base, DatasetProvenance, ScoreResult, ScoreRun
from layers.store import Store, conform, row_order, stored_columns, table_named
from layers.validation import INT32_RANGE


def alembic_config(connection: Connection) -> Config:
    """Alembic configuration pointing at the packaged migrations and at ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("layers") / "migrations"))
    config.attributes["connection"] = connection
    return config


class PostgisStore(Store):
    """Store backed by a PostGIS database reached through SQLAlchemy and psycopg 3."""

    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        super().__init__()
        if engine is None:
            if url is None:
                raise ValueError("PostgisStore needs a database URL or an engine")
            engine = create_engine(url, pool_pre_ping=True)
        self.engine = engine

    def __repr__(self) -> str:
        return f"PostgisStore({self.engine.url.render_as_string(hide_password=True)})"

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        with self.engine.begin() as connection:
            command.upgrade(alembic_config(connection), "heads")

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    # -- writes ----------------------------------------------------------------------------

    def replace_dataset(
        self, table_name: str, dataset: str, frame: pd.DataFrame, provenance: dict[str, Any]
    ) -> None:
        """Replace the rows of ``dataset`` in ``table_name`` and its provenance, atomically.

        The delete, the COPY and the provenance upsert share one transaction: if any row fails
        (a constraint, a bad geometry), the table is left exactly as it was.
        """
        table = table_named(table_name)
        rows = conform(frame.assign(dataset=dataset), table_name)
        self.forget_reference(table_name)
        try:
            with self.engine.begin() as connection:
                connection.execute(delete(table).where(table.c.dataset == dataset))
                _copy_rows(connection, table_name, rows)
                _upsert(
                    connection,
                    table_named(DatasetProvenance.__tablename__),
                    provenance,
                    ["dataset"],
                )
        except (psycopg.Error, DBAPIError) as error:
            reason = str(getattr(error, "orig", None) or error).strip().replace("\n", "; ")
            raise StoreWriteError(
                f"dataset {dataset!r} not loaded, nothing was changed: the database refused a "
                f"row ({reason})"
            ) from error

    def save_score_run(self, run: dict[str, Any], results: pd.DataFrame) -> None:
        """Store a score run and its per-commune results (replacing a run with the same id)."""
        with self.engine.begin() as connection:
            connection.execute(
                delete(table_named(ScoreRun.__tablename__)).where(ScoreRun.run_id == run["run_id"])
            )
            connection.execute(table_named(ScoreRun.__tablename__).insert().values(**run))
            _copy_rows(connection, ScoreResult.__tablename__, conform(results, "score_results"))

    # -- reads -----------------------------------------------------------------------------

    def read_table(self, table_name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Return a table with the columns of its model, ordered as the embedded store orders."""
        table = table_named(table_name)
        names = columns or stored_columns(table_name)
        order = [table.c[c] for c in row_order(table_name)]
        selected = [
            func.ST_AsBinary(table.c[c]).label(c) if c == "geom" else table.c[c] for c in names
        ]
        query = select(*selected).order_by(*order)
        with self.engine.connect() as connection:
            if "geom" in names:
                frame = gpd.read_postgis(query, connection, geom_col="geom", crs=f"EPSG:{SRID}")
            else:
                frame = pd.read_sql(query, connection)
        return conform(frame, table_name, columns=names)

    def read_score_run(self, run_id: str | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
        """Return a stored run (the newest when ``run_id`` is None) and its results."""
        runs = table_named(ScoreRun.__tablename__)
        with self.engine.connect() as connection:
            query = select(runs).order_by(runs.c.created_at.desc()).limit(1)
            if run_id is not None:
                query = select(runs).where(runs.c.run_id == run_id)
            row = connection.execute(query).mappings().first()
        if row is None:
            raise LookupError("no score run stored" if run_id is None else f"no run {run_id}")
        run = dict(row)
        results = self.read_table("score_results")
        return run, results[results["run_id"] == run["run_id"]].reset_index(drop=True)

    def count_rows(self, table_name: str) -> int:
        """Number of rows in a table."""
        table = table_named(table_name)
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection for read-only SQL (tests, status)."""
        with self.engine.connect() as connection:
            yield connection

    def truncate_all(self) -> None:
        """Empty every table (tests only)."""
        self._reference_cache.clear()
        names = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
        with self.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _copy_rows(connection: Connection, table_name: str, frame: pd.DataFrame) -> None:
    """Bulk-insert ``frame`` with COPY on the transaction's own psycopg connection."""
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
        if _binary_copy_type(table.c[column].type) == "int4":
            numbers = [v for v in values[column] if v is not None]
            if numbers and not (INT32_RANGE[0] <= min(numbers) and max(numbers) <= INT32_RANGE[1]):
                raise psycopg.DataError(f"a value of {column} is out of range for type integer")
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table_name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([_binary_copy_type(table.c[c].type) for c in columns])
        for row in zip(*(values[c] for c in columns), strict=True):
            copy.write_row(row)


def _binary_copy_type(column_type: Any) -> str:
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


def _upsert(connection: Connection, table: Any, values: dict[str, Any], keys: list[str]) -> None:
    statement = insert(table).values(**values)
    update = {k: statement.excluded[k] for k in values if k not in keys}
    connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=update))
