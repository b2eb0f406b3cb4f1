"""The agent's SQLite reads, on the event loop, through one connection kept open per database.

On the loop: in WAL mode a reader never waits for a writer, and an indexed read costs less
than the hop to a database thread and back. Through a kept connection: checking one out of
the pool and back in (with its reset) cost as much CPU as the read itself (issue 17). Each
read's transaction ends with it, so the connection never holds a snapshot between calls.
Only the loop's thread uses it; a read from another thread gets a connection of its own.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection

from orchestrator.store import Database

T = TypeVar("T")
# Per database: the thread that owns the kept connection, and the connection.
_KEPT: weakref.WeakKeyDictionary[Database, tuple[int, Connection]] = weakref.WeakKeyDictionary()


def read(db: Database, work: Callable[[Connection], T]) -> T:
    """`work(connection)`, then the connection's transaction ended (a read: nothing to keep)."""
    thread = threading.get_ident()
    kept = _KEPT.get(db)
    if kept is None or kept[1].closed:
        kept = _KEPT[db] = (thread, db.engine.connect())
    if kept[0] != thread:
        with db.engine.connect() as connection:
            return work(connection)
    connection = kept[1]
    try:
        return work(connection)
    finally:
        connection.rollback()
