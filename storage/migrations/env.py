"""Alembic environment: runs on the connection that `storage.catalogue.db.upgrade` hands
over (holding the migration lock), or, for the plain `alembic` CLI, on its own connection
under the same lock."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from storage.catalogue.db import hold_migration_lock
from storage.catalogue.models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # plain `alembic` CLI use: connect from the configured URL
    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as connection:
        hold_migration_lock(connection)
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
