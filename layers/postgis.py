"""The PostGIS store: GeoAlchemy2 tables, Alembic migrations, COPY bulk loads in one transaction."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
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
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.sql import ColumnElement, Select

from layers.errors import LayerError, StoreWriteError
from layers.queries import ReadRequest
from layers.runs import (
    NATIONAL_SCOPE,
    RunConflictError,
    RunRecord,
    sha256_of,
    table_bytes,
    table_from_bytes,
)
from layers.schema import (
    DATA_TABLES,
    SRID,
    Base,
    DatasetProvenance,
    ScoreResult,
    ScoreRun,
    ScoreRunTable,
)
from layers.store import ANSWERS_TABLE, ATTEMPTS_TABLE, MAX_ANSWERS, Store, conform
from layers.tables import table_named
from layers.validation import INT32_RANGE

#: Keys of the advisory locks: one writer at a time, one migration at a time (any two
#: constants; they only have to differ from each other and from other applications' keys).
WRITE_LOCK = 0x6765_6F67_6170_7301  # "geogaps" + 1
MIGRATE_LOCK = 0x6765_6F67_6170_7302


#: A pooled connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S = 2.0


def ping_idle_connections(engine: Engine) -> None:
    """Ping a connection on checkout only when it sat idle in the pool.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip on every checkout, a third of a small
    request's time. Connections in steady use are known to be alive; one that sat idle (an
    outage may have dropped it) is pinged, and a dead one is swapped for a new connection
    before the request sees it. A connection that dies while in steady use fails one
    statement, which invalidates the pool (every older connection is replaced).
    """

    @event.listens_for(engine, "checkin")
    def _remember_use(dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_S:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            if not dbapi_connection.autocommit:
                dbapi_connection.rollback()
        except psycopg.Error as error:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(f"idle connection is gone: {error}") from error


def alembic_config(connection: Connection) -> Config:
    """Alembic configuration pointing at the packaged migrations and at ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("layers") / "migrations"))
    config.attributes["connection"] = connection
    return config


class PostgisStore(Store):
    """Store backed by a PostGIS database reached through SQLAlchemy and psycopg 3."""

    def __init__(
        self,
        url: str | None = None,
        engine: Engine | None = None,
        *,
        pool_size: int = 5,
        statement_timeout_ms: int | None = None,
        connect_timeout_s: int = 5,
    ) -> None:
        super().__init__()
        if engine is None:
            if url is None:
                raise ValueError("PostgisStore needs a database URL or an engine")
            options = {"connect_timeout": connect_timeout_s}
            if statement_timeout_ms:
                options["options"] = f"-c statement_timeout={int(statement_timeout_ms)}"  # type: ignore[assignment]
            # Connecting is lazy: a store (and a server) opens while the database is down and
            # works as soon as it is back; idle connections are pinged before use and
            # replaced when the database dropped them meanwhile.
            engine = create_engine(url, pool_size=pool_size, connect_args=options)
            ping_idle_connections(engine)
        self.engine = engine
        #: Reads run in autocommit: no transaction to roll back when the connection returns
        #: to the pool (one round trip less per request); writes use ``engine.begin()``.
        self.reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._transaction: Connection | None = None

    def __repr__(self) -> str:
        return f"PostgisStore({self.engine.url.render_as_string(hide_password=True)})"

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        with self.engine.begin() as connection:
            # Two processes starting on a fresh database must not both create the tables.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
            command.upgrade(alembic_config(connection), "head")

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    # -- writes: one transaction holding the advisory lock -----------------------------------

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Open the write transaction and take the store's advisory lock in it.

        ``pg_advisory_xact_lock`` waits for any other writer (another ``geogaps load``) to
        commit, and is released by this transaction's own commit or rollback, so a writer killed
        mid-load releases it with its connection. Writes made inside (replace, remove, attempts)
        join this transaction; an exception rolls all of them back.
        """
        if self._transaction is not None:
            yield
            return
        with self.engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
            self._transaction = connection
            try:
                yield
            finally:
                self._transaction = None

    @contextmanager
    def _writing(self, dataset: str) -> Iterator[Connection]:
        """The locked write transaction, with database refusals turned into a StoreWriteError."""
        try:
            with self.write_lock():
                assert self._transaction is not None
                yield self._transaction
        except (psycopg.Error, DBAPIError) as error:
            reason = str(getattr(error, "orig", None) or error).strip().replace("\n", "; ")
            raise StoreWriteError(
                f"el conjunto {dataset!r} no se cargó y no se cambió nada: la base de datos "
                f"rechazó una fila ({reason})"
            ) from error

    def replace_dataset(
        self,
        table_name: str,
        dataset: str,
        frame: pd.DataFrame,
        provenance: dict[str, Any],
        attempt: dict[str, Any] | None = None,
    ) -> None:
        """Replace the rows of ``dataset`` and its provenance, atomically.

        The deletes (from every data table: a dataset belongs to one table, so a change of kind
        moves it), the COPY, the provenance upsert and the attempt share one transaction: if any
        row fails (a constraint, a bad geometry), every table is left exactly as it was.
        """
        rows = conform(frame.assign(dataset=dataset), table_name)
        self.forget_reference(table_name)
        with self._writing(dataset) as connection:
            for name in DATA_TABLES:
                table = table_named(name)
                connection.execute(delete(table).where(table.c.dataset == dataset))
                self.forget_reference(name)
            _copy_rows(connection, table_name, rows)
            _upsert(
                connection,
                table_named(DatasetProvenance.__tablename__),
                provenance,
                ["dataset"],
            )
            if attempt is not None:
                connection.execute(table_named(ATTEMPTS_TABLE).insert().values(**attempt))

    def remove_dataset(self, dataset: str, attempt: dict[str, Any]) -> int:
        """Delete a dataset's rows and provenance in one transaction; return the rows deleted."""
        provenance = table_named(DatasetProvenance.__tablename__)
        with self._writing(dataset) as connection:
            known = connection.execute(
                select(provenance.c.dataset).where(provenance.c.dataset == dataset)
            ).first()
            if known is None:
                raise LayerError(
                    f"no hay ningún conjunto llamado {dataset!r}; "
                    "vea los nombres con geogaps status"
                )
            removed = 0
            for name in DATA_TABLES:
                table = table_named(name)
                result = connection.execute(delete(table).where(table.c.dataset == dataset))
                removed += int(result.rowcount or 0)
                self.forget_reference(name)
            connection.execute(delete(provenance).where(provenance.c.dataset == dataset))
            connection.execute(
                table_named(ATTEMPTS_TABLE).insert().values(**{**attempt, "rows_loaded": removed})
            )
            return removed

    def record_attempt(self, attempt: dict[str, Any]) -> None:
        """Append one row to the load attempts."""
        with self._writing(str(attempt.get("dataset"))) as connection:
            connection.execute(table_named(ATTEMPTS_TABLE).insert().values(**attempt))

    def save_run(
        self,
        record: RunRecord,
        results: pd.DataFrame,
        tables: Mapping[str, pd.DataFrame] | None = None,
    ) -> bool:
        """Store a run, its results and its tables in one transaction; never overwrite one."""
        runs = table_named(ScoreRun.__tablename__)
        stored_tables = table_named(ScoreRunTable.__tablename__)
        blobs = {name: table_bytes(frame) for name, frame in (tables or {}).items()}
        try:
            with self.engine.begin() as connection:
                existing = connection.execute(
                    select(runs.c.result_sha256).where(runs.c.run_id == record.run_id)
                ).scalar_one_or_none()
                if existing is not None:
                    return _same_run(record, existing)
                connection.execute(runs.insert().values(**record.row()))
                _copy_rows(connection, ScoreResult.__tablename__, conform(results, "score_results"))
                if blobs:
                    connection.execute(
                        stored_tables.insert(),
                        [
                            {
                                "run_id": record.run_id,
                                "name": name,
                                "sha256": sha256_of(content),
                                "content": content,
                            }
                            for name, content in blobs.items()
                        ],
                    )
        except IntegrityError:
            # Another process stored the same id between our check and our insert.
            return _same_run(record, self.run(record.run_id).result_sha256)
        return True

    # -- reads -----------------------------------------------------------------------------

    def _read(self, request: ReadRequest) -> pd.DataFrame:
        """Rows of ``table`` matching the filters, as ONE parameterised query on the indexes."""
        query = select_query(request)
        with self.reads.connect() as connection:
            if "geom" in request.columns:
                frame = gpd.read_postgis(query, connection, geom_col="geom", crs=f"EPSG:{SRID}")
            else:
                frame = pd.read_sql(query, connection)
        return conform(frame, request.table, columns=request.columns)

    def _count(self, request: ReadRequest) -> int:
        """Number of rows matching the filters (one ``count(*)`` query)."""
        model = table_named(request.table)
        query = select(func.count()).select_from(model).where(*where_clauses(request))
        with self.reads.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def run(self, run_id: str) -> RunRecord:
        """The stored run ``run_id``, read through the primary key."""
        runs = table_named(ScoreRun.__tablename__)
        with self.reads.connect() as connection:
            row = connection.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
        if row is None:
            raise LookupError(f"no run {run_id}")
        return RunRecord.from_row(row)

    def newest_run(self, scope: str = NATIONAL_SCOPE) -> RunRecord:
        """The newest run of ``scope``: one query on ``ix_score_runs_scope_created``."""
        runs = table_named(ScoreRun.__tablename__)
        query = (
            select(runs).where(runs.c.scope == scope).order_by(runs.c.created_at.desc()).limit(1)
        )
        with self.reads.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            raise LookupError(f"no score run stored for scope {scope!r}")
        return RunRecord.from_row(row)

    def runs(
        self, scope: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[RunRecord]:
        """Stored runs, newest first."""
        runs = table_named(ScoreRun.__tablename__)
        query = select(runs).order_by(runs.c.created_at.desc(), runs.c.run_id)
        if scope is not None:
            query = query.where(runs.c.scope == scope)
        query = query.offset(offset).limit(limit)
        with self.reads.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [RunRecord.from_row(row) for row in rows]

    def count_runs(self, scope: str | None = None) -> int:
        """Number of stored runs."""
        runs = table_named(ScoreRun.__tablename__)
        query = select(func.count()).select_from(runs)
        if scope is not None:
            query = query.where(runs.c.scope == scope)
        with self.reads.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def run_tables(
        self, run_id: str, names: Sequence[str] | None = None
    ) -> dict[str, pd.DataFrame]:
        """Result tables stored with a run, read by its primary key."""
        stored = table_named(ScoreRunTable.__tablename__)
        query = select(stored.c.name, stored.c.content).where(stored.c.run_id == run_id)
        if names is not None:
            query = query.where(stored.c.name.in_(list(names)))
        with self.reads.connect() as connection:
            rows = connection.execute(query).all()
        return {str(name): table_from_bytes(bytes(content)) for name, content in rows}

    def state_key(self) -> str:
        """A key that changes whenever a dataset is (re)loaded, computed by one scalar query."""
        query = text(
            "SELECT coalesce(md5(string_agg(dataset || ':' || sha256 || ':' || loaded_at::text, "
            "',' ORDER BY dataset)), '') FROM dataset_provenance"
        )
        with self.reads.connect() as connection:
            return str(connection.execute(query).scalar_one())

    def answer(self, state: str, key: str) -> bytes | None:
        """The shared answer under ``key`` for ``state``: one primary-key lookup."""
        answers = table_named(ANSWERS_TABLE)
        query = select(answers.c.content).where(answers.c.key == key, answers.c.state == state)
        with self.reads.connect() as connection:
            content = connection.execute(query).scalar_one_or_none()
        return None if content is None else bytes(content)

    def keep_answer(self, state: str, key: str, content: bytes) -> None:
        """Insert the answer (first writer wins) and prune stale and surplus ones."""
        answers = table_named(ANSWERS_TABLE)
        surplus = select(answers.c.key).order_by(answers.c.created_at.desc()).offset(MAX_ANSWERS)
        with self.engine.begin() as connection:
            connection.execute(
                insert(answers)
                .values(key=key, state=state, created_at=datetime.now(UTC), content=content)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            connection.execute(
                delete(answers).where((answers.c.state != state) | answers.c.key.in_(surplus))
            )

    def ping(self) -> None:
        """Run ``SELECT 1`` (raises the driver's error when the database is unreachable)."""
        with self.reads.connect() as connection:
            connection.execute(text("SELECT 1"))

    def explain(self, query: Any) -> str:
        """The query plan PostgreSQL chooses for ``query`` (tests and benchmarks)."""
        compiled = query.compile(self.engine, compile_kwargs={"literal_binds": True})
        with self.engine.connect() as connection:
            rows = connection.execute(text(f"EXPLAIN {compiled}")).all()
        return "\n".join(str(row[0]) for row in rows)

    def count_rows(self, table_name: str) -> int:
        """Number of rows in a table."""
        table = table_named(table_name)
        with self.reads.connect() as connection:
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


def _same_run(record: RunRecord, stored_sha256: str) -> bool:
    """False (nothing to do) when the stored run has the same results; an error otherwise."""
    if stored_sha256 == record.result_sha256:
        return False
    raise RunConflictError(
        f"run {record.run_id[:12]} is already stored with different results "
        f"(stored {stored_sha256[:12]}, new {record.result_sha256[:12]}); runs are never "
        "overwritten"
    )


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
