"""The Mesas' workspace in the embedded store: one JSON file, rewritten atomically under a lock.

The embedded store serves one local user; its Mesas live in ``<store>/mesas/mesas.json`` (every
table as a list of plain rows). A write holds ``<store>/mesas/.lock``, changes a copy in memory
and replaces the file with ``os.replace`` only when the whole write succeeded, so a reader sees
the file before or after a write, never half of one, and a refused write changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock
from sqlalchemy import Table

from domain.errors import NotFoundError
from layers.errors import StoreMissingError
from layers.mesas.base import Actor, MesaRecords, MesaWrite, by_id, entity_table, in_office
from layers.mesas.tables import HISTORIAL, MESA_COMUNAS, MESAS, MIEMBROS
from layers.stores.embedded_files import sync_folder, write_atomically, write_synced

FILE_NAME = "mesas.json"


def _of_mesa(data: dict[str, Any], table: Table, mesa_id: str) -> list[dict[str, Any]]:
    rows = data["tables"].get(table.name, [])
    return by_id(dict(row) for row in rows if row["mesa_id"] == mesa_id)


class EmbeddedMesaWrite(MesaWrite):
    """A write on the file's content in memory (saved by :meth:`EmbeddedMesaRecords.writing`)."""

    def __init__(self, data: dict[str, Any], mesa_id: str, actor: Actor) -> None:
        super().__init__(mesa_id, actor)
        self.data = data

    def _table(self, table: Table) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.data["tables"].setdefault(table.name, [])
        return rows

    def rows(self, entity: str) -> list[dict[str, Any]]:
        """Rows of ``entity`` as this write sees them."""
        return _of_mesa(self.data, entity_table(entity), self.mesa_id)

    def _insert_plain(self, table: Table, row: dict[str, Any]) -> None:
        self._table(table).append(dict(row))

    def _update_plain(self, table: Table, row: dict[str, Any], expected_version: int) -> bool:
        rows = self._table(table)
        for index, current in enumerate(rows):
            if current["mesa_id"] == self.mesa_id and current.get("id") == row.get("id"):
                if current["version"] != expected_version:
                    return False
                rows[index] = dict(row)
                return True
        return False

    def _next_id(self, table: Table) -> int:
        ids = [int(r["id"]) for r in self._table(table) if r["mesa_id"] == self.mesa_id]
        return max(ids, default=0) + 1

    def set_communes(self, cuts: Sequence[str]) -> None:
        """Record the Mesa's communes."""
        self._table(MESA_COMUNAS).extend({"mesa_id": self.mesa_id, "cut": cut} for cut in cuts)


class EmbeddedMesaRecords(MesaRecords):
    """Mesas in ``<store>/mesas/mesas.json``."""

    def __init__(self, store_root: Path) -> None:
        self.folder = Path(store_root) / "mesas"
        self.path = self.folder / FILE_NAME

    def _check_present(self) -> None:
        """A store folder moved away answers "unavailable", and is never recreated here."""
        if not self.folder.parent.is_dir():
            raise StoreMissingError(self.folder.parent)

    def _load(self) -> dict[str, Any]:
        self._check_present()
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"tables": {}}
        return data

    @contextmanager
    def writing(self, mesa_id: str, actor: Actor, *, new: bool = False) -> Iterator[MesaWrite]:
        """Hold the lock, change the content in memory, then replace the file atomically."""
        self._check_present()
        self.folder.mkdir(exist_ok=True)
        with FileLock(str(self.folder / ".lock")):
            data = self._load()
            if not new and not _of_mesa(data, entity_table("mesa"), mesa_id):
                raise NotFoundError(f"no existe la mesa {mesa_id!r}")
            yield EmbeddedMesaWrite(data, mesa_id, actor)
            content = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
            write_atomically(self.path, lambda path: write_synced(path, content))
            sync_folder(self.folder)

    def rows(self, mesa_id: str, entity: str) -> list[dict[str, Any]]:
        """Rows of ``entity`` in the Mesa, by id."""
        return _of_mesa(self._load(), entity_table(entity), mesa_id)

    def communes(self, mesa_id: str) -> list[str]:
        """The Mesa's CUT codes."""
        return sorted(str(r["cut"]) for r in _of_mesa(self._load(), MESA_COMUNAS, mesa_id))

    def mesas_of_communes(self, cuts: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The Mesas in office with a commune among ``cuts`` (one read of the file)."""
        tables = self._load()["tables"]
        communes: dict[str, list[str]] = {}
        for row in tables.get(MESA_COMUNAS.name, []):
            communes.setdefault(str(row["mesa_id"]), []).append(str(row["cut"]))
        return in_office(tables.get(MESAS.name, []), communes, cuts)

    def member_by_token_hash(self, token_hash: str) -> dict[str, Any] | None:
        """The member holding the token."""
        for row in self._load()["tables"].get(MIEMBROS.name, []):
            if row["token_hash"] == token_hash:
                return dict(row)
        return None

    def history(self, mesa_id: str) -> list[dict[str, Any]]:
        """The Mesa's history, oldest first."""
        return _of_mesa(self._load(), HISTORIAL, mesa_id)
