"""robust rankings: regional rank figures, composite support, income poverty, own income

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 02:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCORE_COLUMNS = (
    ("challenges_available", sa.Integer()),
    ("rank_region", sa.Integer()),
    ("tier_region", sa.Integer()),
    ("tier_label_region", sa.Text()),
    ("median_rank_region", sa.Float()),
    ("rank_p05_region", sa.Float()),
    ("rank_p95_region", sa.Float()),
    ("top_tier_share_region", sa.Float()),
)


def upgrade() -> None:
    for name, column_type in SCORE_COLUMNS:
        op.add_column("score_results", sa.Column(name, column_type, nullable=True))
    op.add_column(
        "poverty",
        sa.Column("measure", sa.Text(), nullable=False, server_default="multidimensional"),
    )
    op.add_column(
        "municipal_finance",
        sa.Column("own_income_per_capita_mclp", sa.Float(), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("municipal_finance", "own_income_per_capita_mclp")
    op.drop_column("poverty", "measure")
    for name, _ in reversed(SCORE_COLUMNS):
        op.drop_column("score_results", name)
