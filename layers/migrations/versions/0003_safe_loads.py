"""safe loads: load attempts, finite and in-range numbers on the data tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:00:00
"""

import sqlalchemy as sa
from alembic import op

from layers.constraints import check_constraint_sql, numeric_columns

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: The data tables of revision 0001 (tables added later bring their own constraints).
TABLES = (
    "territorial_codes",
    "communes",
    "urban_zones",
    "population",
    "water_sources",
    "apr_systems",
    "facilities",
    "huella_presence",
    "project_sites",
    "localities",
    "rural_classification",
    "poverty",
    "municipal_finance",
    "informal_settlements",
    "villages",
    "road_segments",
)


def _checked_columns() -> list[tuple[str, str]]:
    existing = sa.inspect(op.get_bind())
    pairs = []
    for table_name in TABLES:
        present = {c["name"] for c in existing.get_columns(table_name)}
        pairs += [(table_name, c) for c in numeric_columns(table_name) if c in present]
    return pairs


def upgrade() -> None:
    op.create_table(
        "load_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=True),
        sa.Column("rows_loaded", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('loaded', 'unchanged', 'refused', 'failed', 'removed')", name="ck_status"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_load_attempts_dataset"), "load_attempts", ["dataset"], unique=False)
    # Same limits as layers/constraints.py, checked by the embedded store on every write.
    # NOT VALID: enforced for every new row without failing on rows loaded before.
    for table_name, column in _checked_columns():
        op.execute(
            f'ALTER TABLE "{table_name}" ADD CONSTRAINT "ck_{table_name}_{column}_range" '
            f"CHECK ({check_constraint_sql(table_name, column)}) NOT VALID"
        )


def downgrade() -> None:
    for table_name, column in _checked_columns():
        op.execute(
            f'ALTER TABLE "{table_name}" DROP CONSTRAINT IF EXISTS "ck_{table_name}_{column}_range"'
        )
    op.drop_index(op.f("ix_load_attempts_dataset"), table_name="load_attempts")
    op.drop_table("load_attempts")
