"""The change feed behind `WatchEvents`.

Domain code calls `record` inside the database transaction that makes a change; the feed
is the `events` table in id order. One `EventFeed` per process reads new rows once, when a
commit announces them (`changes`: in process, and from other replicas by PostgreSQL
NOTIFY), and hands them to every open stream's bounded queue. A stream that falls behind
its queue goes back to reading the table from its own cursor, so nothing is dropped; no
stream polls.

The feed's cursor (`high`) only moves over ids it knows are settled. On PostgreSQL an id is
taken at insert but visible at commit: a transaction can commit id 7 while id 6's is still
open. A missing id is a gap the feed does not step over until every transaction that was
running when the gap was seen has ended (`pg_snapshot_xmin` passed the snapshot's `xmax`
then), so a late commit is delivered in order instead of skipped; a gap that outlives
`GAP_MAX_SECONDS` (a stuck transaction) is passed with a warning. SQLite has one writer, so
ids commit in order and it has no such gaps.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import BigInteger, Text, cast, func, select
from sqlalchemy.orm import Session

from orchestrator.store import changes
from orchestrator.store.db import Database, utcnow
from orchestrator.store.models import EventRow

BATCH = 500
QUEUE_ROWS = 1000  # per stream; past it the stream reads the table instead
GAP_MAX_SECONDS = 30.0
GAP_RETRY_SECONDS = 0.05  # while a gap is open the feed looks again soon (a rollback sends nothing)

log = logging.getLogger("corral.events")


def record(db: Session, kind: str, change: str, session_id: int | None, ref_id: int) -> None:
    """Adds an event to `db`'s transaction; the caller commits it with its change, which
    wakes the feed and the scheduler."""
    db.add(EventRow(kind=kind, change=change, session_id=session_id, ref_id=ref_id, occurred_at=utcnow()))
    changes.note(db, kind)


def latest_id(db_factory: Database) -> int:
    with db_factory.session() as db:
        return db.scalar(select(func.max(EventRow.id))) or 0


def read_range(database: Database, after: int, upto: int, session_id: int | None, limit: int = BATCH) -> list[EventRow]:
    """Events with `after` < id <= `upto` (optionally of one session), in id order."""
    with database.session() as db:
        query = select(EventRow).where(EventRow.id > after, EventRow.id <= upto).order_by(EventRow.id).limit(limit)
        if session_id is not None:
            query = query.where(EventRow.session_id == session_id)
        return list(db.scalars(query))


@dataclass
class _Gap:
    first_missing: int
    seen_at: float
    # pg_snapshot_xmax when the gap was seen: once the oldest running transaction is at or
    # past it, every transaction that could hold the missing id has ended.
    guard: int


class EventFeed:
    def __init__(self, database: Database, recheck_seconds: float = 30.0, queue_rows: int = QUEUE_ROWS) -> None:
        self._db = database
        self._hub = changes.hub(database.engine)
        self._recheck = recheck_seconds
        self._queue_rows = queue_rows
        self._streams: set[_Stream] = set()
        self.overflows = 0  # streams that fell behind their queue and read the table instead
        self._gap: _Gap | None = None
        self._postgres = database.backend == "postgresql"
        self.high = latest_id(database)
        self._wake = self._hub.waiter(None)  # any committed event

    async def run_forever(self) -> None:
        self._hub.start()
        while True:
            self._wake.clear()
            try:
                more = self.advance()
            except Exception:
                log.exception("reading new events failed")
                more = False
            if more:
                await asyncio.sleep(0)  # a full batch: read on, letting streams send
                continue
            await changes.sleep_until_woken(self._wake, GAP_RETRY_SECONDS if self._gap else self._recheck)

    def advance(self) -> bool:
        """Reads what committed past `high`, hands it to the streams, moves `high`. True when
        a full batch came (there may be more)."""
        with self._db.session() as db:
            xmin = self._snapshot(db, "pg_snapshot_xmin") if self._gap is not None else 0
            rows = list(db.scalars(select(EventRow).where(EventRow.id > self.high).order_by(EventRow.id).limit(BATCH)))
            settled, expected = [], self.high + 1
            for row in rows:
                if row.id != expected and not self._gap_closed(db, expected, xmin):
                    break
                settled.append(row)
                expected = row.id + 1
        if settled:
            self._gap = None if self._gap is not None and settled[-1].id >= self._gap.first_missing else self._gap
            for stream in list(self._streams):
                stream.offer(settled)
            self.high = settled[-1].id
        return len(rows) == BATCH and len(settled) == len(rows)

    def _gap_closed(self, db: Session, first_missing: int, xmin: int) -> bool:
        if not self._postgres:
            return True  # one writer: an id missing now was rolled back
        now = time.monotonic()
        if self._gap is None or self._gap.first_missing != first_missing:
            self._gap = _Gap(first_missing, now, self._snapshot(db, "pg_snapshot_xmax"))
            return False
        if xmin >= self._gap.guard:
            return True  # every transaction that could still commit it has ended: it rolled back
        if now - self._gap.seen_at > GAP_MAX_SECONDS:
            log.warning("event %d has not committed in %.0f s; going past it", first_missing, GAP_MAX_SECONDS)
            return True
        return False

    @staticmethod
    def _snapshot(db: Session, part: str) -> int:
        # xid8 has no Python type in psycopg: read it through bigint.
        return int(db.scalar(select(cast(cast(getattr(func, part)(func.pg_current_snapshot()), Text), BigInteger))))

    def watch(self, session_id: int | None, after: int | None) -> AsyncIterator[EventRow]:
        """Events with id > `after` (default: from now on; optionally of one session), then
        each new one as it commits."""
        stream = _Stream(self, session_id, self.high if after is None else after)
        self._streams.add(stream)
        return stream.rows()

    def _close(self, stream: _Stream) -> None:
        self._streams.discard(stream)

    @property
    def open_streams(self) -> int:
        return len(self._streams)


class _Stream:
    def __init__(self, feed: EventFeed, session_id: int | None, after: int) -> None:
        self._feed = feed
        self._session_id = session_id
        self._cursor = after
        self._queue: deque[EventRow] = deque()
        self._overflowed = False
        self._ready = asyncio.Event()

    def offer(self, rows: list[EventRow]) -> None:
        """From the feed: new settled rows. Never blocks; a full queue is dropped and the
        stream reads the table from its cursor instead."""
        if self._overflowed:
            return
        mine = rows if self._session_id is None else [row for row in rows if row.session_id == self._session_id]
        if len(self._queue) + len(mine) > self._feed._queue_rows:
            self._overflowed = True
            self._feed.overflows += 1
            self._queue.clear()
        else:
            self._queue.extend(mine)
        self._ready.set()

    async def rows(self) -> AsyncIterator[EventRow]:
        try:
            while True:
                # Registered with the feed before reading: what the feed settles from now on
                # is queued; what it settled before is in the table up to `high`.
                self._overflowed = False
                self._queue.clear()
                async for row in self._catch_up():
                    yield row
                while not self._overflowed:
                    while self._queue and not self._overflowed:
                        row = self._queue.popleft()
                        if row.id > self._cursor:
                            self._cursor = row.id
                            yield row
                    if self._overflowed:
                        break
                    self._ready.clear()
                    await self._ready.wait()
        finally:
            self._feed._close(self)

    async def _catch_up(self) -> AsyncIterator[EventRow]:
        while self._cursor < (high := self._feed.high):
            batch = read_range(self._feed._db, self._cursor, high, self._session_id)
            for row in batch:
                self._cursor = row.id
                yield row
            if len(batch) < BATCH:
                self._cursor = max(self._cursor, high)  # none of this session's up to `high`
            await asyncio.sleep(0)
