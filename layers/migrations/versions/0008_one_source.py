"""one source per fact: retired datasets kept apart, 'retired' attempts, whole-number counts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OLD_STATUSES = "status IN ('loaded', 'unchanged', 'refused', 'failed', 'removed')"
_NEW_STATUSES = "status IN ('loaded', 'unchanged', 'refused', 'failed', 'removed', 'retired')"

#: Frozen copy of layers.constraints.INTEGER_COLUMNS for the columns stored as floats (an
#: integer column cannot hold a fraction anyway): a count of people, dwellings, households or
#: connections with a fractional part is a unit or typing error in the source.
WHOLE_NUMBER_COLUMNS: dict[str, tuple[str, ...]] = {
    "urban_zones": ("population_2017",),
    "population": ("population",),
    "apr_systems": ("connections", "beneficiaries"),
    "localities": ("inhabitants", "dwellings"),
    "rural_classification": ("population_2024",),
    "poverty": ("population",),
    "municipal_finance": ("population",),
    "informal_settlements": ("households",),
}


def upgrade() -> None:
    op.create_table(
        "retired_datasets",
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_by", sa.Text(), nullable=False),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "retired_at"),
    )
    op.drop_constraint("ck_status", "load_attempts", type_="check")
    op.create_check_constraint("ck_status", "load_attempts", _NEW_STATUSES)
    # NOT VALID: enforced for every new row without failing on rows loaded before.
    for table_name, columns in WHOLE_NUMBER_COLUMNS.items():
        for column in columns:
            op.execute(
                f'ALTER TABLE "{table_name}" ADD CONSTRAINT "ck_{table_name}_{column}_whole" '
                f"CHECK ({column} = trunc({column})) NOT VALID"
            )


def downgrade() -> None:
    for table_name, columns in WHOLE_NUMBER_COLUMNS.items():
        for column in columns:
            op.execute(
                f'ALTER TABLE "{table_name}" DROP CONSTRAINT IF EXISTS '
                f'"ck_{table_name}_{column}_whole"'
            )
    op.execute("DELETE FROM load_attempts WHERE status = 'retired'")
    op.drop_constraint("ck_status", "load_attempts", type_="check")
    op.create_check_constraint("ck_status", "load_attempts", _OLD_STATUSES)
    op.drop_table("retired_datasets")
