"""Database set-up: an engine, a session factory, and the schema brought up to date with
the migrations in `migrations/` (Alembic). SQLite file by default; PostgreSQL by URL
(`postgresql+psycopg://user:password@host/db`), shared by several orchestrators."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.store.models import SettingRow

MIGRATIONS = Path(__file__).parent / "migrations"
# Held while one orchestrator migrates, so replicas starting together take turns.
MIGRATION_LOCK_ID = 0x636F7272616C  # "corral"
# Threads that run database work off the event loop (`Database.run`): a commit waits for its
# fsync, and the loop serves every sandbox's SDK calls meanwhile. Fewer than the engine's
# pool, so a burst of work waits for a thread rather than for a connection while holding one.
WORKER_THREADS = 4
T = TypeVar("T")


class SchemaMismatch(RuntimeError):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Database:
    """The database, as one orchestrator replica (`replica_id`) works on it: rows that
    record in-flight work (executions, transactions, approvals) carry the replica's id."""

    def __init__(self, url: str, replica_id: str | None = None) -> None:
        self.replica_id = replica_id or socket.gethostname()
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        if self.backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if self.backend == "sqlite":
            self.engine = create_engine(url)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._workers = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="corral-db")
        self._migrate()

    def _migrate(self) -> None:
        """Brings the schema to this code's newest revision; refuses a database made by a
        newer Corral (it would not know its tables) or by one from before migrations."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        script = ScriptDirectory.from_config(config)
        with self.engine.begin() as connection:
            if self.backend == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            current = MigrationContext.configure(connection).get_current_revision()
            if not _known(script, current):
                raise SchemaMismatch(
                    f"the database is at schema revision {current}, which this Corral does not know (it is newer); "
                    "run the newer Corral, or point database_url at another database"
                )
            if current is None and inspect(connection).has_table("sessions"):
                raise SchemaMismatch(
                    "the database was made by a Corral from before schema migrations; move it aside (or point "
                    "database_url elsewhere) to start fresh"
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def session(self) -> Session:
        return self._sessions()

    async def run(self, work: Callable[[Session], T]) -> T:
        """Runs `work` with a session of its own on one of the database's threads, so that its
        statements and its commit's fsync do not stall the event loop. `work` must not touch
        event-loop state; what it returns is detached (sessions do not expire on commit)."""

        def in_session() -> T:
            with self.session() as db:
                return work(db)

        return await asyncio.get_running_loop().run_in_executor(self._workers, in_session)

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


def _known(script: ScriptDirectory, revision: str | None) -> bool:
    try:
        return revision is None or script.get_revision(revision) is not None
    except Exception:  # alembic raises when it has never heard of the revision
        return False


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the frontend API read while an execution writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()

