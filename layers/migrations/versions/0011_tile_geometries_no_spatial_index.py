"""tile geometries without a spatial index: tiles find them by primary key

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 06:40:00
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A tile joins the rows of the communes that meet it (found by their own table's index) to
    # their prepared geometry by (table_name, band, feature_key): the GiST index on geom was
    # never read, and every communes load rebuilt 2,760 entries of it (about 10 ms).
    op.drop_geospatial_index(
        "idx_tile_geometries_geom",
        table_name="tile_geometries",
        postgresql_using="gist",
        column_name="geom",
    )


def downgrade() -> None:
    op.create_geospatial_index(
        "idx_tile_geometries_geom",
        "tile_geometries",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
