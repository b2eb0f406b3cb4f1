"""The migrations are the schema: an empty database migrated to head has exactly the
tables the models declare (a model change without its migration fails here), and a
database from an unknown (newer) revision or from before migrations is refused."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from orchestrator.store import Database
from orchestrator.store.db import SchemaMismatch
from orchestrator.store.models import Base


def test_migrated_schema_equals_the_models(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'o.db'}")
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert differences == [], f"models changed without a migration: {differences}"


def test_migrating_again_is_a_no_op(tmp_path):
    url = f"sqlite:///{tmp_path / 'o.db'}"
    Database(url)
    Database(url)


def test_a_database_from_a_newer_corral_is_refused(tmp_path):
    path = tmp_path / "o.db"
    Database(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaMismatch, match="revision 9999, which this Corral does not know"):
        Database(f"sqlite:///{path}")


def test_a_database_from_before_migrations_is_refused(tmp_path):
    path = tmp_path / "o.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY)")
    with pytest.raises(SchemaMismatch, match="from before schema migrations"):
        Database(f"sqlite:///{path}")
