"""The PostGIS store: GeoAlchemy2 tables, Alembic migrations, COPY bulk loads in one transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import psycopg
from alembic import command
from sqlalchemy import Connection, Engine, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, IntegrityError

from layers.errors import LayerError, StoreWriteError, UnknownRunError
from layers.features.postgis import PostgisFeatures
from layers.features.prepared import prepare_tile_geometries
from layers.features.source import FeatureSource
from layers.queries import ReadRequest
from layers.runs import (
    NATIONAL_SCOPE,
    RunRecord,
    same_run,
    sha256_of,
    table_bytes,
    table_from_bytes,
)
from layers.schema import (
    DATA_TABLES,
    Base,
    DatasetProvenance,
    ScoreResult,
    ScoreRun,
    ScoreRunTable,
)
from layers.sql import quoted, statement
from layers.stores.base import (
    ANSWERS_TABLE,
    ATTEMPTS_TABLE,
    MAX_ANSWERS,
    RETIRED_TABLE,
    Store,
    conform,
    retired_attempt,
)
from layers.stores.postgis_connections import (
    MIGRATE_LOCK,
    WRITE_LOCK,
    alembic_config,
    create_store_engine,
)
from layers.stores.postgis_queries import (
    copy_rows,
    delete_dataset_rows,
    frame_of,
    insert_row,
    other_datasets_query,
    plain_select,
    select_query,
    where_clauses,
)
from layers.tables import table_named


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
            engine = create_store_engine(
                url,
                pool_size=pool_size,
                statement_timeout_ms=statement_timeout_ms,
                connect_timeout_s=connect_timeout_s,
            )
        self.engine = engine
        #: Reads run in autocommit: no transaction to roll back when the connection returns
        #: to the pool (one round trip less per request); writes use ``engine.begin()``.
        self.reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._transaction: Connection | None = None
        #: The thread that opened ``_transaction``: only its own reads may share it.
        self._transaction_thread: int | None = None

    def __repr__(self) -> str:
        return f"PostgisStore({self.engine.url.render_as_string(hide_password=True)})"

    def feature_source(self) -> FeatureSource:
        """OGC items and tiles as single SQL statements on the read (autocommit) engine."""
        return PostgisFeatures(self.reads)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        with self.engine.begin() as connection:
            # Two processes starting on a fresh database must not both create the tables.
            connection.execute(statement("advisory_lock"), {"key": MIGRATE_LOCK})
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
            connection.execute(statement("advisory_lock"), {"key": WRITE_LOCK})
            self._transaction = connection
            self._transaction_thread = threading.get_ident()
            try:
                yield
            finally:
                self._transaction = None
                self._transaction_thread = None

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """The connection a read runs on.

        Inside the write lock, the writer thread reads on its own transaction: what a load
        checks is what it replaces, and a load needs one connection instead of two. Any other
        thread (a server answering while a load runs) reads on an autocommit connection.
        """
        if self._transaction is not None and self._transaction_thread == threading.get_ident():
            yield self._transaction
            return
        with self.reads.connect() as connection:
            yield connection

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
        replaces: str | None = None,
    ) -> None:
        """Replace the rows of ``dataset`` and its provenance, atomically.

        The deletes (from every data table: a dataset belongs to one table, so a change of kind
        moves it), the retirement of ``replaces``, the COPY, the provenance upsert and the
        attempt share one transaction: if any row fails (a constraint, a bad geometry), every
        table is left exactly as it was.
        """
        rows = conform(frame.assign(dataset=dataset), table_name)
        self.forget_reference(table_name)
        with self._writing(dataset) as connection:
            if replaces is not None:
                self._retire(connection, replaces, dataset, provenance["loaded_at"])
            delete_dataset_rows(connection, list(DATA_TABLES), dataset)
            for name in DATA_TABLES:
                self.forget_reference(name)
            copy_rows(connection, table_name, rows)
            prepare_tile_geometries(connection, (dataset, replaces))
            insert_row(connection, DatasetProvenance.__tablename__, provenance, ["dataset"])
            if attempt is not None:
                insert_row(connection, ATTEMPTS_TABLE, attempt)

    def _retire(self, connection: Connection, old: str, by: str, at: datetime) -> None:
        """Move dataset ``old`` to the retired datasets inside the open write transaction."""
        table_name, record = self.retirement(old, by, at)
        table = table_named(table_name)
        connection.execute(delete(table).where(table.c.dataset == old))
        self.forget_reference(table_name)
        provenance = table_named(DatasetProvenance.__tablename__)
        connection.execute(delete(provenance).where(provenance.c.dataset == old))
        insert_row(connection, RETIRED_TABLE, record)
        insert_row(connection, ATTEMPTS_TABLE, retired_attempt(record, at))

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
            removed = delete_dataset_rows(connection, list(DATA_TABLES), dataset)
            for name in DATA_TABLES:
                self.forget_reference(name)
            prepare_tile_geometries(connection, (dataset,))
            connection.execute(delete(provenance).where(provenance.c.dataset == dataset))
            insert_row(connection, ATTEMPTS_TABLE, {**attempt, "rows_loaded": removed})
            return removed

    def record_attempt(self, attempt: dict[str, Any]) -> None:
        """Append one row to the load attempts."""
        with self._writing(str(attempt.get("dataset"))) as connection:
            insert_row(connection, ATTEMPTS_TABLE, attempt)

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
                    return same_run(record, existing)
                connection.execute(runs.insert().values(**record.row()))
                copy_rows(connection, ScoreResult.__tablename__, conform(results, "score_results"))
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
            return same_run(record, self.run(record.run_id).result_sha256)
        return True

    # -- reads -----------------------------------------------------------------------------

    def _read(self, request: ReadRequest) -> pd.DataFrame:
        """Rows of ``table`` matching the filters, as ONE parameterised query on the indexes."""
        plain = plain_select(request)
        with self._reading() as connection:
            if plain is None:
                frame = frame_of(connection.execute(select_query(request)))
            else:
                frame = frame_of(connection.exec_driver_sql(*plain))
        return conform(frame, request.table, columns=request.columns)

    def rows_of_other_datasets(
        self,
        table_name: str,
        columns: Sequence[str],
        datasets: Sequence[str | None],
        cuts: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """``SELECT DISTINCT dataset, columns ... WHERE dataset NOT IN datasets``: one query.

        The check of a load against the other datasets of its table receives a few hundred
        distinct facts instead of every row of the table; only the other datasets' rows are
        read (see :func:`~layers.stores.postgis_queries.other_datasets_query`), and with
        ``cuts`` a file of one commune reads that commune's facts only.
        """
        names = ["dataset", *columns]
        query, parameters = other_datasets_query(table_name, names, datasets, cuts)
        with self._reading() as connection:
            frame = frame_of(connection.exec_driver_sql(query, parameters))
        return conform(frame, table_name, columns=names)

    def _count(self, request: ReadRequest) -> int:
        """Number of rows matching the filters (one ``count(*)`` query)."""
        model = table_named(request.table)
        query = select(func.count()).select_from(model).where(*where_clauses(request))
        with self._reading() as connection:
            return int(connection.execute(query).scalar_one())

    def run(self, run_id: str) -> RunRecord:
        """The stored run ``run_id``, read through the primary key."""
        runs = table_named(ScoreRun.__tablename__)
        with self.reads.connect() as connection:
            row = connection.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
        if row is None:
            raise UnknownRunError(f"no hay corrida {run_id}")
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
            raise UnknownRunError(f"no hay corridas guardadas del ámbito {scope!r}")
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
        with self.reads.connect() as connection:
            return str(connection.execute(statement("state_key")).scalar_one())

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
        names = ", ".join(quoted(t.name) for t in reversed(Base.metadata.sorted_tables))
        with self.engine.begin() as connection:
            connection.execute(statement("truncate", tables=names))
