"""Tables of the Mesas de Convergencia's workspace (revision 0007), on the schema's metadata.

Every entity of a Mesa is a row keyed by ``(mesa_id, id)`` with the same bookkeeping columns:
``version`` (raised by every change; a change based on an older version is refused),
``creado``, ``actualizado`` and ``retirado`` (nothing is deleted: a retired row keeps its
history). ``mesa_historial`` is append-only: who, when, which entity, before and after.
Field names are those of the API (Spanish), so the database, the JSON and the spreadsheets
speak one vocabulary.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from layers.schema import Base

#: Longest Mesa id (ids are made by the service: short random hexadecimal).
MESA_ID_LENGTH = 32


def _bookkeeping() -> list[Column[object]]:
    return [
        Column("version", Integer, nullable=False),
        Column("creado", DateTime(timezone=True), nullable=False),
        Column("actualizado", DateTime(timezone=True), nullable=False),
        Column("retirado", DateTime(timezone=True), nullable=True),
    ]


def _child(name: str, *columns: Column[object]) -> Table:
    """A table of rows belonging to one Mesa, keyed by ``(mesa_id, id)``."""
    return Table(
        name,
        Base.metadata,
        Column("mesa_id", String(MESA_ID_LENGTH), primary_key=True),
        Column("id", Integer, primary_key=True),
        *columns,
        *_bookkeeping(),
        ForeignKeyConstraint(["mesa_id"], ["mesas.mesa_id"]),
    )


MESAS = Table(
    "mesas",
    Base.metadata,
    Column("mesa_id", String(MESA_ID_LENGTH), primary_key=True),
    Column("nombre", Text, nullable=False),
    Column("fecha_inicio", Date, nullable=True),
    Column("fecha_termino", Date, nullable=True),
    #: Stored run the matrix's gaps are taken from (null: the newest of the communes' scope).
    Column("corrida", String(64), nullable=True),
    #: Participatory criteria of the matrix: ``[{"id", "nombre", "peso"}]``.
    Column("criterios", JSON, nullable=False),
    *_bookkeeping(),
)

MESA_COMUNAS = Table(
    "mesa_comunas",
    Base.metadata,
    Column("mesa_id", String(MESA_ID_LENGTH), primary_key=True),
    Column("cut", String(5), primary_key=True),
    ForeignKeyConstraint(["mesa_id"], ["mesas.mesa_id"]),
)

MIEMBROS = _child(
    "mesa_miembros",
    Column("nombre", Text, nullable=False),
    Column("tipo_actor", Text, nullable=False),
    Column("organizacion", Text, nullable=False),
    Column("rol", Text, nullable=False),
    #: sha256 of the member's token (the token itself is shown once and never stored).
    Column("token_hash", String(64), nullable=False),
)
MIEMBROS.append_constraint(UniqueConstraint("token_hash", name="uq_mesa_miembros_token_hash"))

MATRIZ = _child(
    "mesa_matriz",
    Column("necesidad", Text, nullable=False),
    Column("desafio", Text, nullable=True),
    Column("indicador", Text, nullable=True),
    Column("comuna", String(5), nullable=True),
    #: Data-driven gap copied from a named run when the row was made (score, tier, place...).
    Column("brecha", JSON, nullable=True),
    Column("puntajes", JSON, nullable=False),
    Column("recursos", Text, nullable=True),
)

INICIATIVAS = _child(
    "mesa_iniciativas",
    Column("nombre", Text, nullable=False),
    Column("tipologia", Text, nullable=False),
    Column("etapa", Text, nullable=False),
    Column("monto_publico_clp", BigInteger, nullable=True),
    Column("monto_privado_clp", BigInteger, nullable=True),
    Column("fuente_financiamiento", Text, nullable=True),
    Column("beneficiarios", Integer, nullable=True),
    Column("comuna", String(5), nullable=True),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("filas_matriz", JSON, nullable=False),
    #: ``<dataset>/<project_id>`` of a loaded portfolio the initiative was imported from.
    Column("origen", Text, nullable=True),
)

COMPROMISOS = _child(
    "mesa_compromisos",
    Column("responsable", Integer, nullable=False),
    Column("descripcion", Text, nullable=False),
    Column("vence", Date, nullable=False),
    Column("estado", Text, nullable=False),
    Column("iniciativa_id", Integer, nullable=True),
)

SEGUIMIENTO = _child(
    "mesa_seguimiento",
    Column("fecha", Date, nullable=False),
    Column("autor", Integer, nullable=False),
    Column("avance", Text, nullable=False),
    Column("nudos_criticos", Text, nullable=True),
    Column("soluciones", Text, nullable=True),
    Column("proximo_paso", Text, nullable=True),
    Column("compromiso_id", Integer, nullable=True),
    Column("iniciativa_id", Integer, nullable=True),
)

HITOS = _child(
    "mesa_hitos",
    Column("fecha", Date, nullable=False),
    Column("tipo", Text, nullable=False),
    Column("titulo", Text, nullable=False),
    Column("iniciativa_id", Integer, nullable=True),
)

HISTORIAL = Table(
    "mesa_historial",
    Base.metadata,
    Column("mesa_id", String(MESA_ID_LENGTH), primary_key=True),
    Column("id", Integer, primary_key=True),
    Column("en", DateTime(timezone=True), nullable=False),
    #: Member who wrote (null: the service's API key, which only creates Mesas).
    Column("miembro_id", Integer, nullable=True),
    Column("quien", Text, nullable=False),
    Column("entidad", Text, nullable=False),
    Column("entidad_id", Integer, nullable=True),
    Column("accion", Text, nullable=False),
    Column("antes", JSON, nullable=True),
    Column("despues", JSON, nullable=True),
    ForeignKeyConstraint(["mesa_id"], ["mesas.mesa_id"]),
)
Index("ix_mesa_historial_entidad", HISTORIAL.c.mesa_id, HISTORIAL.c.entidad, HISTORIAL.c.entidad_id)

#: Entity → its table (``mesa`` is the Mesa's own row).
ENTITY_TABLES: Final[dict[str, Table]] = {
    "mesa": MESAS,
    "miembro": MIEMBROS,
    "fila_matriz": MATRIZ,
    "iniciativa": INICIATIVAS,
    "compromiso": COMPROMISOS,
    "seguimiento": SEGUIMIENTO,
    "hito": HITOS,
}
#: Columns written by the store, never by a request.
BOOKKEEPING: Final = ("mesa_id", "id", "version", "creado", "actualizado", "retirado")
