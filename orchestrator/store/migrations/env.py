"""Alembic's entry point: migrations run on the connection `Database` hands over
(config.attributes["connection"]), or on `sqlalchemy.url` when run from the alembic CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from orchestrator.store.models import Base


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # `alembic -x url=... revision --autogenerate`, for developers
        url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
        with create_engine(url).connect() as connection:
            _migrate(connection)
            connection.commit()
        return
    _migrate(connection)


def _migrate(connection) -> None:
    # render_as_batch: SQLite alters tables by copying them; PostgreSQL alters in place.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run()
