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
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
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
# Agent memory writes commit without waiting for the disk, on a connection of their own
# (SQLite's `synchronous` and PostgreSQL's `synchronous_commit` are per connection): a
# process crash loses none of them, an OS crash (or, on PostgreSQL, a database server crash)
# at most the last ones before any later durable commit. The argument is in
# docs/operators.md, "Agent memory and crashes".
_SQLITE_RELAXED_SYNC = "PRAGMA synchronous=NORMAL"
_POSTGRES_RELAXED_SYNC = "SET LOCAL synchronous_commit = off"


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
        # The engine of memory writes: one connection that commits without waiting for the disk
        # (`_SQLITE_RELAXED_SYNC`, `_POSTGRES_RELAXED_SYNC`), and one thread for it: memory writes
        # commit one group at a time anyway (executions.group_commit), in the order they arrived.
        self.memory_engine = _memory_engine(url, self.backend)
        self._memory_writer = ThreadPoolExecutor(1, thread_name_prefix="corral-db-memory")

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

    async def run_memory_write(self, work: Callable[[Connection], T]) -> T:
        """Runs `work` on the memory-write connection, on its own thread (see `memory_engine`);
        `work` commits. Only for agent memory: everything else commits durably (`run`)."""

        def on_the_connection() -> T:
            with self.memory_engine.connect() as connection:
                return work(connection)

        return await asyncio.get_running_loop().run_in_executor(self._memory_writer, on_the_connection)

    def dispose(self) -> None:
        """Closes every pooled connection (both engines)."""
        self.engine.dispose()
        self.memory_engine.dispose()

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


def _memory_engine(url: str, backend: str) -> Engine:
    if backend == "sqlite":
        if make_url(url).database in (None, "", ":memory:"):  # a second connection would open a second, empty database
            raise ValueError(f"database_url {url!r} is an in-memory SQLite database; give it a file (sqlite:///PATH)")
        engine = create_engine(url, pool_size=1, max_overflow=0)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", _sqlite_relaxed_sync)
        event.listen(engine, "begin", _sqlite_begin_immediate)
    else:
        engine = create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        event.listen(engine, "begin", _postgres_relaxed_sync)
    return engine


def _sqlite_relaxed_sync(dbapi_connection, _record) -> None:
    dbapi_connection.execute(_SQLITE_RELAXED_SYNC)
    # Transactions begin where SQLAlchemy says (below), not at the driver's first write.
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: Connection) -> None:
    """A memory write's transaction takes the write lock as it begins, so the session's status
    it reads first cannot change before it commits (a stop waits for it, or it sees the stop)."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _postgres_relaxed_sync(connection: Connection) -> None:
    """Per transaction (SET LOCAL), as it begins: the setting never outlives the transaction,
    also through a connection pooler that hands the connection on."""
    with connection.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]  # a live connection at "begin"
        cursor.execute(_POSTGRES_RELAXED_SYNC)

