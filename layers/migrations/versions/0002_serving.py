"""serving: run scope, library versions, stored result tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 01:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "score_runs", sa.Column("scope", sa.Text(), nullable=False, server_default="nacional")
    )
    op.add_column("score_runs", sa.Column("versions", sa.JSON(), nullable=True))
    op.add_column("score_runs", sa.Column("ranked_counts", sa.JSON(), nullable=True))
    # Runs scored with --region carry that region as their scope.
    op.execute(
        "UPDATE score_runs SET scope = parameters::jsonb ->> 'region' "
        "WHERE parameters::jsonb ->> 'region' IS NOT NULL"
    )
    op.create_index(
        "ix_score_runs_scope_created",
        "score_runs",
        ["scope", sa.text("created_at DESC")],
    )
    op.add_column("score_results", sa.Column("name", sa.Text(), nullable=True))
    op.add_column("score_results", sa.Column("region_code", sa.String(length=2), nullable=True))
    op.create_table(
        "score_run_tables",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["score_runs.run_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("score_run_tables")
    op.drop_column("score_results", "region_code")
    op.drop_column("score_results", "name")
    op.drop_index("ix_score_runs_scope_created", table_name="score_runs")
    op.drop_column("score_runs", "ranked_counts")
    op.drop_column("score_runs", "versions")
    op.drop_column("score_runs", "scope")
