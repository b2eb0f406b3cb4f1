"""Database set-up: an engine and a session factory. SQLite file by default."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.store.models import SCHEMA_VERSION, Base, SettingRow


class SchemaMismatch(RuntimeError):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Database:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._check_schema_version()

    def _check_schema_version(self) -> None:
        with self.session() as db:
            row = db.get(SettingRow, "schema_version")
            if row is None:
                db.add(SettingRow(key="schema_version", value=SCHEMA_VERSION))
                try:
                    db.commit()
                except IntegrityError:  # another orchestrator made it first
                    db.rollback()
                row = db.get(SettingRow, "schema_version")
        if row.value != SCHEMA_VERSION:
            raise SchemaMismatch(
                f"the database was made by a Corral with schema version {row.value}; this one needs {SCHEMA_VERSION}. "
                "There are no migrations yet: move the database aside (or point database_url elsewhere) to start fresh"
            )

    def session(self) -> Session:
        return self._sessions()

    def installation_id(self) -> str:
        """A random id made once per database: every orchestrator sharing the database
        shares it, and no other installation has it."""
        with self.session() as db:
            row = db.get(SettingRow, "installation_id")
            if row is None:
                db.add(SettingRow(key="installation_id", value=uuid.uuid4().hex))
                try:
                    db.commit()
                except IntegrityError:  # another orchestrator made it first
                    db.rollback()
                row = db.get(SettingRow, "installation_id")
            return row.value


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the frontend API read while an execution writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
