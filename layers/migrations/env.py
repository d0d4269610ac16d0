"""Alembic environment: migrations run on the connection ``layers.stores.postgis`` hands over."""

from alembic import context
from geoalchemy2 import alembic_helpers

import layers.mesas.tables  # registers the Mesas tables on the metadata
from layers.schema import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `geogaps db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=alembic_helpers.include_object,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
)
with context.begin_transaction():
    context.run_migrations()
