"""tile geometries: polygons prepared per zoom band at load time for the vector tiles

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 03:10:00
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from layers.features.prepared import prepare_tile_geometries

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table(
        "tile_geometries",
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("feature_key", sa.Text(), nullable=False),
        sa.Column("dataset", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="GEOMETRY",
                srid=3857,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("table_name", "band", "feature_key"),
    )
    op.create_geospatial_index(
        "idx_tile_geometries_geom",
        "tile_geometries",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_tile_geometries_dataset"), "tile_geometries", ["dataset"], unique=False
    )
    # Stores loaded before this revision: prepare the rows already there.
    connection = op.get_bind()
    datasets = connection.execute(sa.text("SELECT dataset FROM dataset_provenance")).scalars()
    prepare_tile_geometries(connection, list(datasets))


def downgrade() -> None:
    op.drop_index(op.f("ix_tile_geometries_dataset"), table_name="tile_geometries")
    op.drop_geospatial_index(
        "idx_tile_geometries_geom",
        table_name="tile_geometries",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("tile_geometries")
