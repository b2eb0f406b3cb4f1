"""The change feed behind `WatchEvents`.

Domain code calls `record` inside the database transaction that makes a change; the feed
is the `events` table in id order. One `EventFeed` per process reads new rows once, when a
commit announces them (`changes`: in process, and from other replicas by PostgreSQL
NOTIFY), and hands them to every open stream's bounded queue. A stream that falls behind
its queue goes back to reading the table from its own cursor, so nothing is dropped; no
stream polls.

The feed's cursor (`high`) only moves over ids that are final: committed, or never to be.
On PostgreSQL an id is taken at insert but visible at commit, so with two writers (two
replicas, or two transactions in one) id 7 can commit while id 6's transaction is still
open. Stepping over 6 would lose it for good: every cursor past 7 is past 6. The feed
instead waits at a missing id until the database's transaction horizon has passed it: it
takes an xid of its own (`pg_current_xact_id`) after seeing the gap, and once the oldest
running transaction (`pg_snapshot_xmin`) is younger than that xid, every transaction that
could hold an id it saw missing has ended, so the id is committed (and read) or rolled
back. This needs the event's transaction to have its xid before it takes the id (the id's
default, migration 0009) and ids handed out in request order (the sequence's CACHE 1).
It waits as long as that takes: a long-open transaction delays delivery, it never makes
the feed skip (a warning names the wait after `WAIT_WARN_SECONDS`). It is the "deliver
below the oldest in-flight transaction" technique applied to id gaps, not to every row:
filtering rows by their own xid would let a row of an older xid but a higher id pass
before an open transaction's lower id, and ids are the cursor clients resume from.
The same wait covers the feed's start: ids below the highest one it first sees may still
be in flight, so streams start once that horizon has passed.
SQLite has one writer at a time, so ids commit in order and a missing id is final there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial

from sqlalchemy import BigInteger, Text, cast, func, insert, select
from sqlalchemy.orm import Session

from orchestrator.store import changes, notification_outbox
from orchestrator.store.db import Database, utcnow
from orchestrator.store.models import EventRow

BATCH = 500
QUEUE_ROWS = 1000  # per stream; past it the stream reads the table instead
WAIT_WARN_SECONDS = 30.0
WAIT_RETRY_SECONDS = 0.05  # while ids are unsettled the feed looks again soon (a rollback sends nothing)
WAIT_RETRY_MAX_SECONDS = 1.0
HEARTBEAT_SECONDS = (1, 3600)  # the range a watcher may ask for

log = logging.getLogger("corral.events")


# Changes that make no session due and free no room, announced under a kind of their own so
# that they wake the feed but not the schedulers waiting on their kind: every run's start
# would otherwise cost each replica's scheduler a pass of its own, on the hand-over path.
QUIET = {("execution", "started"): "execution-started"}


# Built once and run on the session's connection: a transaction records three events, and
# the ORM's unit of work (and building a statement) cost more CPU than the insert itself.
# Each insert runs when `record` is called, so a transaction's events take ids in call order.
_INSERT = insert(EventRow.__table__)
_INSERT_RETURNING_ID = _INSERT.returning(EventRow.__table__.c.id)


def record(db: Session, kind: str, change: str, session_id: int | None, ref_id: int, actor: str = "") -> None:
    """Adds an event to `db`'s transaction; the caller commits it with its change, which
    wakes the feed and (but for the QUIET changes) the scheduler. An event that notifies
    queues its deliveries in the same transaction (store/notification_outbox.py). `actor`:
    the principal whose API call made the change; "" for the platform's own."""
    values = {"kind": kind, "change": change, "session_id": session_id, "ref_id": ref_id, "occurred_at": utcnow()}
    event_type, subscription_ids = notification_outbox.subscribers(db, kind, change, session_id, ref_id)
    if subscription_ids:
        assert event_type is not None
        event_id = db.connection().execute(_INSERT_RETURNING_ID, {**values, "actor": actor}).scalar_one()
        notification_outbox.enqueue(db, event_id, event_type, subscription_ids, **values)
    else:
        db.connection().execute(_INSERT, {**values, "actor": actor})
    changes.note(db, QUIET.get((kind, change), kind))


def head_id(db: Session) -> int:
    """The highest event id this database has handed out: a resume cursor past it was not
    given by this database (another one, or a backup restored since)."""
    committed = db.scalar(select(func.max(EventRow.id))) or 0
    if db.get_bind().dialect.name != "postgresql":
        return committed  # SQLite reuses ids only once every event is gone: a cursor past them is stale
    # Retention may have removed every event; the sequence still knows how far ids went.
    taken = db.scalar(select(func.pg_sequence_last_value(func.pg_get_serial_sequence("events", "id"))))
    return max(committed, taken or 0)


def read_range(db: Session, after: int, upto: int, session_id: int | None, limit: int = BATCH) -> list[EventRow]:
    """Events with `after` < id <= `upto` (optionally of one session), in id order."""
    query = select(EventRow).where(EventRow.id > after, EventRow.id <= upto).order_by(EventRow.id).limit(limit)
    if session_id is not None:
        query = query.where(EventRow.session_id == session_id)
    return list(db.scalars(query))


@dataclass
class _Unsettled:
    """Ids up to `through` (the highest seen committed) of which some were missing: their
    transactions may still commit. Every one of them had its xid before `guard` was taken."""

    through: int
    guard: int
    since: float
    warned: bool = False


@dataclass(frozen=True)
class Position:
    """Not an event: where a stream stands. Every event up to `after` that the stream selects
    has been sent, so resuming after it is exact; `caught_up` marks the end of the replay."""

    after: int
    caught_up: bool


class EventFeed:
    def __init__(self, database: Database, recheck_seconds: float = 30.0, queue_rows: int = QUEUE_ROWS) -> None:
        self._db = database
        self._hub = changes.hub(database.engine)
        self._recheck = recheck_seconds
        self._queue_rows = queue_rows
        self._streams: set[_Stream] = set()
        self.overflows = 0  # streams that fell behind their queue and read the table instead
        self._postgres = database.backend == "postgresql"
        # Streams read the table up to `high` only once everything up to it is final.
        self.started = asyncio.Event()
        with database.session() as db:
            self.high = db.scalar(select(func.max(EventRow.id))) or 0
            self._unsettled = self._unsettled_through(db, self.high) if self._postgres and self.high else None
        if self._unsettled is None:
            self.started.set()
        self._wake = self._hub.waiter(None)  # any committed event

    async def run_forever(self) -> None:
        self._hub.start()
        while True:
            self._wake.clear()
            try:
                more = await self.advance()
            except Exception:
                log.exception("reading new events failed")
                more = False
            if more:
                await asyncio.sleep(0)  # a full batch: read on, letting streams send
                continue
            await changes.sleep_until_woken(self._wake, self._retry_seconds())

    async def advance(self) -> bool:
        """Reads what committed past `high` (on the database's threads: a read waiting for the
        database must not stall the loop), hands what is final to the streams, moves `high`.
        True when a full batch came (there may be more)."""
        settled, full, horizon_passed = await self._db.run(self._read_settled)
        if horizon_passed:
            self.started.set()
        if settled:
            for stream in list(self._streams):
                stream.offer(settled)
            self.high = settled[-1].id
        return full

    def _read_settled(self, db: Session) -> tuple[list[EventRow], bool, bool]:
        """(the rows past `high` that are final, whether a full batch came, whether an unsettled
        wait just ended). Only the feed's own task calls it, one read at a time."""
        final_through = self.high  # ids missing up to here will never come
        horizon_passed = False
        if self._unsettled is not None:
            if not self._horizon_passed(db, self._unsettled):
                return [], False, False
            final_through, self._unsettled, horizon_passed = self._unsettled.through, None, True
        rows = list(db.scalars(select(EventRow).where(EventRow.id > self.high).order_by(EventRow.id).limit(BATCH)))
        settled, expected = [], self.high + 1
        for row in rows:
            if row.id > max(expected, final_through + 1) and self._postgres:
                # A missing id below a committed one: its transaction may still commit.
                self._unsettled = self._unsettled_through(db, rows[-1].id)
                break
            settled.append(row)
            expected = row.id + 1
        return settled, len(rows) == BATCH and len(settled) == len(rows), horizon_passed

    def _retry_seconds(self) -> float:
        if self._unsettled is None:
            return self._recheck  # a commit wakes the feed; this is only the fallback
        # Unsettled ids: a rollback, or another transaction ending, announces nothing. Soon at
        # first (out-of-order commits settle in milliseconds), less often behind a long one.
        waited = time.monotonic() - self._unsettled.since
        return min(WAIT_RETRY_MAX_SECONDS, max(WAIT_RETRY_SECONDS, waited / 10))

    def _unsettled_through(self, db: Session, through: int) -> _Unsettled:
        # An xid of the feed's own, taken after `through` was seen: xids grow, so every
        # transaction that took an id up to `through` had its xid before this one. Gaps are
        # rare (two writers committing out of order, a rollback), so the xid is cheap.
        return _Unsettled(through, self._xid(db, func.pg_current_xact_id()), time.monotonic())

    def _horizon_passed(self, db: Session, unsettled: _Unsettled) -> bool:
        if self._xid(db, func.pg_snapshot_xmin(func.pg_current_snapshot())) > unsettled.guard:
            return True  # every transaction that could hold a missing id has ended
        waited = time.monotonic() - unsettled.since
        if waited > WAIT_WARN_SECONDS and not unsettled.warned:
            unsettled.warned = True
            log.warning("event delivery has waited %.0f s for a transaction that may hold an event id below %d to end "
                        "(an open transaction holds it back; nothing is skipped)", waited, unsettled.through)
        return False

    @staticmethod
    def _xid(db: Session, expression) -> int:
        # xid8 has no Python type in psycopg: read it through bigint.
        return int(db.scalar(select(cast(cast(expression, Text), BigInteger))))

    def watch(self, session_id: int | None, after: int | None, heartbeat_seconds: float | None = None) -> AsyncIterator[EventRow | Position]:
        """Events with id > `after` (default: from now on; optionally of one session), then
        each new one as it commits. With `heartbeat_seconds`, also a `Position` when the replay
        is done and on an idle stream every `heartbeat_seconds`."""
        stream = _Stream(self, session_id, self.high if after is None else after, heartbeat_seconds)
        self._streams.add(stream)
        return stream.rows()

    def _close(self, stream: _Stream) -> None:
        self._streams.discard(stream)

    @property
    def open_streams(self) -> int:
        return len(self._streams)


class _Stream:
    def __init__(self, feed: EventFeed, session_id: int | None, after: int, heartbeat_seconds: float | None) -> None:
        self._feed = feed
        self._session_id = session_id
        self._cursor = after
        self._heartbeat = heartbeat_seconds
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
        elif mine:
            self._queue.extend(mine)
        else:
            return  # nothing for this stream: it stays idle (and gets its heartbeat)
        self._ready.set()

    async def rows(self) -> AsyncIterator[EventRow | Position]:
        try:
            await self._feed.started.wait()
            replayed = False
            while True:
                # Registered with the feed before reading: what the feed settles from now on
                # is queued; what it settled before is in the table up to `high`.
                self._overflowed = False
                self._queue.clear()
                async for row in self._catch_up():
                    yield row
                if self._heartbeat and not replayed:
                    replayed = True
                    yield Position(self._cursor, caught_up=True)
                while not self._overflowed:
                    while self._queue and not self._overflowed:
                        row = self._queue.popleft()
                        if row.id > self._cursor:
                            self._cursor = row.id
                            yield row
                    if self._overflowed:
                        break
                    self._ready.clear()
                    if not self._heartbeat:
                        await self._ready.wait()
                        continue
                    await changes.sleep_until_woken(self._ready, self._heartbeat)
                    if not self._ready.is_set():
                        # Idle: every row the feed settled was offered here and sent.
                        self._cursor = max(self._cursor, self._feed.high)
                        yield Position(self._cursor, caught_up=False)
        finally:
            self._feed._close(self)

    async def _catch_up(self) -> AsyncIterator[EventRow]:
        while self._cursor < (high := self._feed.high):
            # On the database's threads: a replay of a long history must not stall the loop.
            batch = await self._feed._db.run(partial(read_range, after=self._cursor, upto=high, session_id=self._session_id))
            for row in batch:
                self._cursor = row.id
                yield row
            if len(batch) < BATCH:
                self._cursor = max(self._cursor, high)  # none of this session's up to `high`
