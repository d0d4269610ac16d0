"""accessibility: population-weighted travel time per commune and destination kind

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FLOAT_COLUMNS = (
    "population",
    "rural_population",
    "minutes_mean",
    "rural_minutes_mean",
    "rural_unreachable_share",
    "rural_share_beyond_30_minutes",
    "rural_share_beyond_60_minutes",
    "rural_share_beyond_120_minutes",
    "rural_beyond_30_minutes",
    "rural_beyond_60_minutes",
    "rural_beyond_120_minutes",
)


def upgrade() -> None:
    op.create_table(
        "accessibility",
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column("cut", sa.String(length=5), nullable=False),
        sa.Column("facility", sa.Text(), nullable=False),
        sa.Column("resolution_m", sa.Integer(), nullable=False),
        sa.Column("grid", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("destinations", sa.Integer(), nullable=False),
        sa.Column("population_year", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in FLOAT_COLUMNS),
        sa.PrimaryKeyConstraint("dataset", "cut"),
    )


def downgrade() -> None:
    op.drop_table("accessibility")
