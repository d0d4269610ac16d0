"""mesas: a Mesa de Convergencia's matrix, initiatives, commitments, follow-up and history

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 00:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: FROZEN as of 0007 (literals, never layers/mesas/tables.py): this revision always does the
#: same thing. Tables of one Mesa's rows, with their own columns.
CHILD_TABLES: dict[str, tuple[tuple[str, sa.types.TypeEngine[object], bool], ...]] = {
    "mesa_miembros": (
        ("nombre", sa.Text(), False),
        ("tipo_actor", sa.Text(), False),
        ("organizacion", sa.Text(), False),
        ("rol", sa.Text(), False),
        ("token_hash", sa.String(64), False),
    ),
    "mesa_matriz": (
        ("necesidad", sa.Text(), False),
        ("desafio", sa.Text(), True),
        ("indicador", sa.Text(), True),
        ("comuna", sa.String(5), True),
        ("brecha", sa.JSON(), True),
        ("puntajes", sa.JSON(), False),
        ("recursos", sa.Text(), True),
    ),
    "mesa_iniciativas": (
        ("nombre", sa.Text(), False),
        ("tipologia", sa.Text(), False),
        ("etapa", sa.Text(), False),
        ("monto_publico_clp", sa.BigInteger(), True),
        ("monto_privado_clp", sa.BigInteger(), True),
        ("fuente_financiamiento", sa.Text(), True),
        ("beneficiarios", sa.Integer(), True),
        ("comuna", sa.String(5), True),
        ("lon", sa.Float(), True),
        ("lat", sa.Float(), True),
        ("filas_matriz", sa.JSON(), False),
        ("origen", sa.Text(), True),
    ),
    "mesa_compromisos": (
        ("responsable", sa.Integer(), False),
        ("descripcion", sa.Text(), False),
        ("vence", sa.Date(), False),
        ("estado", sa.Text(), False),
        ("iniciativa_id", sa.Integer(), True),
    ),
    "mesa_seguimiento": (
        ("fecha", sa.Date(), False),
        ("autor", sa.Integer(), False),
        ("avance", sa.Text(), False),
        ("nudos_criticos", sa.Text(), True),
        ("soluciones", sa.Text(), True),
        ("proximo_paso", sa.Text(), True),
        ("compromiso_id", sa.Integer(), True),
        ("iniciativa_id", sa.Integer(), True),
    ),
    "mesa_hitos": (
        ("fecha", sa.Date(), False),
        ("tipo", sa.Text(), False),
        ("titulo", sa.Text(), False),
        ("iniciativa_id", sa.Integer(), True),
    ),
}


def _bookkeeping() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("creado", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actualizado", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retirado", sa.DateTime(timezone=True), nullable=True),
    ]


def _mesa_key() -> sa.Column[object]:
    return sa.Column("mesa_id", sa.String(32), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "mesas",
        _mesa_key(),
        sa.Column("nombre", sa.Text(), nullable=False),
        sa.Column("fecha_inicio", sa.Date(), nullable=True),
        sa.Column("fecha_termino", sa.Date(), nullable=True),
        sa.Column("corrida", sa.String(64), nullable=True),
        sa.Column("criterios", sa.JSON(), nullable=False),
        *_bookkeeping(),
    )
    op.create_table(
        "mesa_comunas",
        _mesa_key(),
        sa.Column("cut", sa.String(5), primary_key=True),
        sa.ForeignKeyConstraint(["mesa_id"], ["mesas.mesa_id"]),
    )
    for name, columns in CHILD_TABLES.items():
        op.create_table(
            name,
            _mesa_key(),
            sa.Column("id", sa.Integer(), primary_key=True),
            *(sa.Column(c, t, nullable=n) for c, t, n in columns),
            *_bookkeeping(),
            sa.ForeignKeyConstraint(["mesa_id"], ["mesas.mesa_id"]),
        )
    op.create_unique_constraint("uq_mesa_miembros_token_hash", "mesa_miembros", ["token_hash"])
    op.create_table(
        "mesa_historial",
        _mesa_key(),
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("en", sa.DateTime(timezone=True), nullable=False),
        sa.Column("miembro_id", sa.Integer(), nullable=True),
        sa.Column("quien", sa.Text(), nullable=False),
        sa.Column("entidad", sa.Text(), nullable=False),
        sa.Column("entidad_id", sa.Integer(), nullable=True),
        sa.Column("accion", sa.Text(), nullable=False),
        sa.Column("antes", sa.JSON(), nullable=True),
        sa.Column("despues", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["mesa_id"], ["mesas.mesa_id"]),
    )
    op.create_index(
        "ix_mesa_historial_entidad", "mesa_historial", ["mesa_id", "entidad", "entidad_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_mesa_historial_entidad", table_name="mesa_historial")
    op.drop_table("mesa_historial")
    for name in reversed(CHILD_TABLES):
        op.drop_table(name)
    op.drop_table("mesa_comunas")
    op.drop_table("mesas")
