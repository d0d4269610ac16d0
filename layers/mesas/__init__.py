"""The Mesas de Convergencia's workspace: its tables and its records in either store."""

from __future__ import annotations

from layers.mesas.base import Actor, MesaRecords, MesaWrite
from layers.mesas.embedded import EmbeddedMesaRecords
from layers.mesas.postgis import PostgisMesaRecords
from layers.stores import EmbeddedStore, PostgisStore, Store


def mesa_records(store: Store) -> MesaRecords:
    """The Mesas' records kept in ``store`` (PostGIS tables or the embedded folder's file)."""
    if isinstance(store, PostgisStore):
        return PostgisMesaRecords(store.engine, store.reads)
    if isinstance(store, EmbeddedStore):
        return EmbeddedMesaRecords(store.root)
    raise TypeError(f"no Mesa records for {type(store).__name__}")


__all__ = ["Actor", "MesaRecords", "MesaWrite", "mesa_records"]
