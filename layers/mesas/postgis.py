"""The Mesas' workspace in PostGIS: one transaction per write, holding the Mesa's row lock."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from domain.errors import NotFoundError
from layers.mesas.base import (
    Actor,
    MesaRecords,
    MesaWrite,
    entity_table,
    in_office,
    plain_row,
    typed_row,
)
from layers.mesas.tables import HISTORIAL, MESA_COMUNAS, MESAS, MIEMBROS


def _key(table: Any, mesa_id: str, row_id: int | None) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [table.c.mesa_id == mesa_id]
    if "id" in table.c and row_id is not None:
        clauses.append(table.c.id == row_id)
    return clauses


def _rows(connection: Connection, mesa_id: str, entity: str) -> list[dict[str, Any]]:
    table = entity_table(entity)
    query = select(table).where(table.c.mesa_id == mesa_id)
    if "id" in table.c:
        query = query.order_by(table.c.id)
    return [plain_row(row) for row in connection.execute(query).mappings()]


class PostgisMesaWrite(MesaWrite):
    """A write inside one transaction that holds ``SELECT ... FOR UPDATE`` on the Mesa."""

    def __init__(self, connection: Connection, mesa_id: str, actor: Actor) -> None:
        super().__init__(mesa_id, actor)
        self.connection = connection

    def rows(self, entity: str) -> list[dict[str, Any]]:
        """Rows of ``entity`` as this transaction sees them."""
        return _rows(self.connection, self.mesa_id, entity)

    def _insert_plain(self, table: Any, row: dict[str, Any]) -> None:
        self.connection.execute(table.insert().values(**typed_row(table, row)))

    def _update_plain(self, table: Any, row: dict[str, Any], expected_version: int) -> bool:
        statement = (
            update(table)
            .where(*_key(table, self.mesa_id, row.get("id")), table.c.version == expected_version)
            .values(**typed_row(table, row))
        )
        return int(self.connection.execute(statement).rowcount or 0) == 1

    def _next_id(self, table: Any) -> int:
        query = select(func.coalesce(func.max(table.c.id), 0) + 1).where(
            table.c.mesa_id == self.mesa_id
        )
        return int(self.connection.execute(query).scalar_one())

    def set_communes(self, cuts: Sequence[str]) -> None:
        """Insert the Mesa's communes."""
        self.connection.execute(
            MESA_COMUNAS.insert(), [{"mesa_id": self.mesa_id, "cut": cut} for cut in cuts]
        )


class PostgisMesaRecords(MesaRecords):
    """Mesas in the tables of revision 0007."""

    def __init__(self, engine: Engine, reads: Engine) -> None:
        self.engine = engine
        self.reads = reads

    @contextmanager
    def writing(self, mesa_id: str, actor: Actor, *, new: bool = False) -> Iterator[MesaWrite]:
        """A transaction holding the Mesa's row lock: writers of one Mesa take turns."""
        with self.engine.begin() as connection:
            if not new:
                locked = connection.execute(
                    select(MESAS.c.mesa_id).where(MESAS.c.mesa_id == mesa_id).with_for_update()
                ).first()
                if locked is None:
                    raise NotFoundError(f"no existe la mesa {mesa_id!r}")
            yield PostgisMesaWrite(connection, mesa_id, actor)

    def rows(self, mesa_id: str, entity: str) -> list[dict[str, Any]]:
        """Rows of ``entity`` in the Mesa, by id."""
        with self.reads.connect() as connection:
            return _rows(connection, mesa_id, entity)

    def communes(self, mesa_id: str) -> list[str]:
        """The Mesa's CUT codes."""
        query = (
            select(MESA_COMUNAS.c.cut)
            .where(MESA_COMUNAS.c.mesa_id == mesa_id)
            .order_by(MESA_COMUNAS.c.cut)
        )
        with self.reads.connect() as connection:
            return [str(cut) for cut in connection.execute(query).scalars()]

    def mesas_of_communes(self, cuts: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The Mesas in office with a commune among ``cuts`` (one query on the two tables)."""
        query = (
            select(MESAS.c.mesa_id, MESAS.c.nombre, MESAS.c.retirado, MESA_COMUNAS.c.cut)
            .join(MESA_COMUNAS, MESA_COMUNAS.c.mesa_id == MESAS.c.mesa_id)
            .where(MESAS.c.retirado.is_(None))
        )
        if cuts is not None:
            chosen = select(MESA_COMUNAS.c.mesa_id).where(MESA_COMUNAS.c.cut.in_(list(cuts)))
            query = query.where(MESAS.c.mesa_id.in_(chosen))
        with self.reads.connect() as connection:
            rows = [dict(row) for row in connection.execute(query).mappings()]
        communes: dict[str, list[str]] = {}
        for row in rows:
            communes.setdefault(str(row["mesa_id"]), []).append(str(row["cut"]))
        return in_office(rows, communes, cuts)

    def member_by_token_hash(self, token_hash: str) -> dict[str, Any] | None:
        """The member holding the token (one lookup on the unique index)."""
        query = select(MIEMBROS).where(MIEMBROS.c.token_hash == token_hash)
        with self.reads.connect() as connection:
            row = connection.execute(query).mappings().first()
        return None if row is None else plain_row(row)

    def history(self, mesa_id: str) -> list[dict[str, Any]]:
        """The Mesa's history, oldest first."""
        query = select(HISTORIAL).where(HISTORIAL.c.mesa_id == mesa_id).order_by(HISTORIAL.c.id)
        with self.reads.connect() as connection:
            return [plain_row(row) for row in connection.execute(query).mappings()]
