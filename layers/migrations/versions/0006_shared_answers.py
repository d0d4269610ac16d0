"""shared answers: /gaps answers computed by one worker, served by all

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_answers",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        prefixes=["UNLOGGED"],
    )
    op.create_index("ix_api_answers_created", "api_answers", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_api_answers_created", table_name="api_answers")
    op.drop_table("api_answers")
