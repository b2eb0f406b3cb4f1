"""The change feed behind `WatchEvents`.

Domain code calls `record` inside the database transaction that makes a change; the
feed is the `events` table read in id order. Watching polls it (an indexed range query),
which works the same when several orchestrators share the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.store import Database, EventRow, utcnow

POLL_SECONDS = 0.25
BATCH = 500


def record(db: Session, kind: str, change: str, session_id: int | None, ref_id: int) -> None:
    """Adds an event to `db`'s transaction; the caller commits it with its change."""
    db.add(EventRow(kind=kind, change=change, session_id=session_id, ref_id=ref_id, occurred_at=utcnow()))


def latest_id(db_factory: Database) -> int:
    with db_factory.session() as db:
        return db.scalar(select(func.max(EventRow.id))) or 0


async def watch(database: Database, session_id: int | None, after: int) -> AsyncIterator[EventRow]:
    """Events with id > `after` (optionally of one session), then each new one as it comes."""
    cursor = after
    while True:
        with database.session() as db:
            query = select(EventRow).where(EventRow.id > cursor).order_by(EventRow.id).limit(BATCH)
            if session_id is not None:
                query = query.where(EventRow.session_id == session_id)
            rows = list(db.scalars(query))
        for row in rows:
            cursor = row.id
            yield row
        if len(rows) < BATCH:
            await asyncio.sleep(POLL_SECONDS)
