"""tile geometries stored uncompressed: every load rewrites them and they barely compress

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 06:20:00
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Coordinates in doubles do not compress (the 2,760 rows of the communes shrink by 4 %), but
    # with the geometry type's default storage (MAIN) every load first tries: about a fifth
    # of preparing them. EXTERNAL keeps large values out of line as before, uncompressed.
    # Rows already stored keep their form until the next load rewrites them.
    op.execute("ALTER TABLE tile_geometries ALTER COLUMN geom SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("ALTER TABLE tile_geometries ALTER COLUMN geom SET STORAGE MAIN")
