"""What both stores of the Mesas' workspace do: rows by Mesa, versioned writes, one history.

A write opens :meth:`MesaRecords.writing` (PostGIS: a transaction holding the Mesa's row lock;
embedded: the folder's file lock) and goes through :class:`MesaWrite`, whose ``insert`` and
``update`` are the only ways to change a row. Each of them appends exactly one history entry
in the same commit, and ``update`` applies only when the row is still at the version the
change was based on. The stores implement the few primitives underneath; the rules live here
once, so both behave alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Table

from domain.errors import NotFoundError, StaleVersionError
from domain.mesas import ENTITY_LABELS
from layers.mesas.tables import BOOKKEEPING, ENTITY_TABLES, HISTORIAL

#: Columns never copied into the history (a token's hash is a credential).
PRIVATE_COLUMNS = frozenset({"token_hash"})


@dataclass(frozen=True)
class Actor:
    """Who writes: a member of the Mesa, or the service's API key (``member_id`` None)."""

    member_id: int | None
    label: str


def plain(value: Any) -> Any:
    """A stored value as JSON has it: dates and times as ISO text (times in UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def plain_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A row with every value :func:`plain`."""
    return {str(key): plain(value) for key, value in row.items()}


def typed_row(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """A plain row with its ISO dates and times turned back into the column types."""
    typed: dict[str, Any] = {}
    for key, value in row.items():
        column_type = table.c[key].type
        if isinstance(value, str) and isinstance(column_type, DateTime):
            typed[key] = datetime.fromisoformat(value)
        elif isinstance(value, str) and isinstance(column_type, Date):
            typed[key] = date.fromisoformat(value)
        else:
            typed[key] = value
    return typed


def entity_table(entity: str) -> Table:
    """The table of an entity (``compromiso`` → ``mesa_compromisos``)."""
    try:
        return ENTITY_TABLES[entity]
    except KeyError:
        raise NotFoundError(f"entidad desconocida {entity!r}") from None


def _snapshot(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: v for k, v in row.items() if k not in PRIVATE_COLUMNS}


class MesaWrite(ABC):
    """One write of one Mesa: everything in it commits together, each change logged once."""

    def __init__(self, mesa_id: str, actor: Actor) -> None:
        self.mesa_id = mesa_id
        self.actor = actor
        self.now = datetime.now(UTC).isoformat()

    # -- primitives of a store -----------------------------------------------------------

    @abstractmethod
    def rows(self, entity: str) -> list[dict[str, Any]]:
        """Every row of ``entity`` in this Mesa (retired ones included), as plain rows."""

    @abstractmethod
    def _insert_plain(self, table: Table, row: dict[str, Any]) -> None:
        """Insert one plain row."""

    @abstractmethod
    def _update_plain(self, table: Table, row: dict[str, Any], expected_version: int) -> bool:
        """Replace the row keyed like ``row`` if it is still at ``expected_version``."""

    @abstractmethod
    def _next_id(self, table: Table) -> int:
        """The next id of ``table`` in this Mesa (the write holds the Mesa's lock)."""

    @abstractmethod
    def set_communes(self, cuts: Sequence[str]) -> None:
        """Record the Mesa's communes (once, when it is created)."""

    # -- the rules ---------------------------------------------------------------------

    def row(self, entity: str, row_id: int | None = None) -> dict[str, Any]:
        """One row of ``entity`` (the Mesa's own row when ``entity`` is ``mesa``)."""
        for row in self.rows(entity):
            if entity == "mesa" or row["id"] == row_id:
                return row
        raise NotFoundError(f"no existe {ENTITY_LABELS[entity]} {row_id} en la mesa")

    def insert(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Add a row (id, version 1, times set here) and log its creation."""
        table = entity_table(entity)
        row = {k: plain(v) for k, v in values.items() if k not in BOOKKEEPING}
        row["mesa_id"] = self.mesa_id
        if entity != "mesa":
            row["id"] = self._next_id(table)
        row.update(version=1, creado=self.now, actualizado=self.now, retirado=None)
        self._insert_plain(table, row)
        self._log(entity, row.get("id"), "crear", None, row)
        return row

    def update(
        self,
        entity: str,
        row_id: int | None,
        expected_version: int,
        changes: Mapping[str, Any],
        *,
        retire: bool = False,
    ) -> dict[str, Any]:
        """Change a row still at ``expected_version``, raise its version and log the change.

        Raises
        ------
        domain.errors.StaleVersionError
            Someone changed the row since ``expected_version`` (nothing is written).
        """
        table = entity_table(entity)
        before = self.row(entity, row_id)
        if before["version"] != expected_version:
            raise StaleVersionError(self._stale(entity, row_id, before["version"]))
        after = {**before, **{k: plain(v) for k, v in changes.items() if k not in BOOKKEEPING}}
        after.update(version=before["version"] + 1, actualizado=self.now)
        if retire:
            after["retirado"] = self.now
        if not self._update_plain(table, after, expected_version):
            raise StaleVersionError(self._stale(entity, row_id, None))
        self._log(entity, row_id, "retirar" if retire else "modificar", before, after)
        return after

    def _stale(self, entity: str, row_id: int | None, current: int | None) -> str:
        what = ENTITY_LABELS[entity] + ("" if row_id is None else f" {row_id}")
        now = "" if current is None else f" (ahora en la versión {current})"
        return (
            f"{what} cambió desde que lo leyó{now}: vuelva a leerlo y repita su cambio; "
            "no se sobrescribió el cambio de otra persona"
        )

    def _log(
        self,
        entity: str,
        row_id: int | None,
        action: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> None:
        self._insert_plain(
            HISTORIAL,
            {
                "mesa_id": self.mesa_id,
                "id": self._next_id(HISTORIAL),
                "en": self.now,
                "miembro_id": self.actor.member_id,
                "quien": self.actor.label,
                "entidad": entity,
                "entidad_id": row_id,
                "accion": action,
                "antes": _snapshot(before),
                "despues": _snapshot(after),
            },
        )


class MesaRecords(ABC):
    """The Mesas' rows in one store: plain reads, and writes through :class:`MesaWrite`."""

    @abstractmethod
    def writing(
        self, mesa_id: str, actor: Actor, *, new: bool = False
    ) -> AbstractContextManager[MesaWrite]:
        """A write of Mesa ``mesa_id`` holding its lock (``new``: the Mesa is being created).

        Raises
        ------
        domain.errors.NotFoundError
            No such Mesa (and not ``new``).
        """

    @abstractmethod
    def rows(self, mesa_id: str, entity: str) -> list[dict[str, Any]]:
        """Every row of ``entity`` in the Mesa (retired ones included), ordered by id."""

    @abstractmethod
    def communes(self, mesa_id: str) -> list[str]:
        """The Mesa's communes (CUT codes, sorted)."""

    @abstractmethod
    def member_by_token_hash(self, token_hash: str) -> dict[str, Any] | None:
        """The member holding a token, in whichever Mesa (None: nobody)."""

    @abstractmethod
    def history(self, mesa_id: str) -> list[dict[str, Any]]:
        """The Mesa's history, oldest first."""

    @abstractmethod
    def mesas_of_communes(self, cuts: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The Mesas in office with a commune among ``cuts`` (None: every Mesa in office).

        Each is ``{"mesa_id", "nombre", "comunas"}`` (all its communes, sorted), by name then
        id; a retired Mesa is left out.
        """

    def mesa(self, mesa_id: str) -> dict[str, Any]:
        """The Mesa's own row."""
        rows = self.rows(mesa_id, "mesa")
        if not rows:
            raise NotFoundError(f"no existe la mesa {mesa_id!r}")
        return rows[0]

    def row(self, mesa_id: str, entity: str, row_id: int) -> dict[str, Any]:
        """One row of ``entity`` in the Mesa."""
        for row in self.rows(mesa_id, entity):
            if row["id"] == row_id:
                return row
        raise NotFoundError(f"no existe {ENTITY_LABELS[entity]} {row_id} en la mesa")


def by_id(rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted by id (the Mesa's own row has none)."""
    return sorted(rows, key=lambda row: int(row.get("id") or 0))


def in_office(
    mesas: Iterable[Mapping[str, Any]],
    communes: Mapping[str, list[str]],
    cuts: Sequence[str] | None,
) -> list[dict[str, Any]]:
    """The Mesas not retired with a commune among ``cuts`` (see ``mesas_of_communes``).

    ``mesas`` are rows with ``mesa_id``, ``nombre`` and ``retirado`` (repeated rows of one Mesa
    count once); ``communes`` maps each Mesa to its CUT codes.
    """
    wanted = None if cuts is None else {str(cut) for cut in cuts}
    found: dict[str, dict[str, Any]] = {}
    for mesa in mesas:
        mesa_id = str(mesa["mesa_id"])
        own = sorted(set(communes.get(mesa_id, [])))
        if mesa.get("retirado") is not None or (wanted is not None and not wanted & set(own)):
            continue
        found[mesa_id] = {"mesa_id": mesa_id, "nombre": str(mesa["nombre"]), "comunas": own}
    return sorted(found.values(), key=lambda mesa: (mesa["nombre"], mesa["mesa_id"]))
