"""Connections of the PostGIS store: the engine, its idle-connection pings, locks, migrations."""

from __future__ import annotations

import time
from importlib import resources
from typing import Any

import psycopg
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

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


def create_store_engine(
    url: str, *, pool_size: int, statement_timeout_ms: int | None, connect_timeout_s: int
) -> Engine:
    """The store's engine: lazy connections, pinged before use when they sat idle.

    Connecting is lazy: a store (and a server) opens while the database is down and works as
    soon as it is back; idle connections are pinged before use and replaced when the database
    dropped them meanwhile.
    """
    options: dict[str, Any] = {"connect_timeout": connect_timeout_s}
    if statement_timeout_ms:
        options["options"] = f"-c statement_timeout={int(statement_timeout_ms)}"
    # No column is an hstore: skip the type lookup SQLAlchemy makes on a new engine's first
    # connection (one round trip of every ``geogaps load-file``).
    engine = create_engine(url, pool_size=pool_size, connect_args=options, use_native_hstore=False)
    ping_idle_connections(engine)
    return engine
