"""Wake-ups on committed changes: what the scheduler and the event feed wait on instead of
polling the database.

Every change they care about records an event (`events.record`) in its transaction; `note`
keeps the event's kind on the SQLAlchemy session, and when that session commits the kinds
are announced:
- in this process, to the `asyncio.Event`s of the waiters (set from whichever thread
  committed, through the loop);
- on PostgreSQL, to every replica, by `NOTIFY` sent in the same transaction, so it is
  delivered on commit and never for a change that rolled back. Each replica LISTENs on one
  dedicated psycopg connection (`listen_forever`).
A notification can still be lost (the listening connection drops), so every waiter keeps a
bounded fallback re-check: a lost notification costs latency, never a missed change.
SQLite serves one orchestrator: in-process wake-ups are all it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import weakref
from collections.abc import Iterable

import psycopg
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger("corral.changes")

CHANNEL = "corral_changes"
_KINDS = "corral_change_kinds"  # key in Session.info: kinds noted in the open transaction
_EVERYTHING = frozenset({"*"})
# PostgreSQL caps a payload at 8000 bytes; ours are "<kind> <origin>", a few dozen.
_PAYLOAD_MAX = 128
_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)

# The hub of each engine this process serves (one per Database), found from a session's bind.
_hubs: weakref.WeakKeyDictionary[Engine, Changes] = weakref.WeakKeyDictionary()


def hub(engine: Engine) -> Changes:
    """The one `Changes` of `engine` in this process (made on first use)."""
    found = _hubs.get(engine)
    return found if found is not None else Changes(engine)


class Changes:
    """One per process and database (`hub`): announces committed kinds to waiters."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._listening: asyncio.Task | None = None
        self.listening = asyncio.Event()  # set while LISTEN is in place (PostgreSQL)
        # Our own NOTIFYs come back to our LISTEN connection: the origin tag skips them
        # (in-process waiters heard them already).
        self.origin = secrets.token_hex(4)
        self._waiters: list[tuple[asyncio.Event, frozenset[str] | None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        _hubs[engine] = self

    def start(self) -> None:
        """From the running loop: waiters live on it (commits in other threads reach them
        through it) and, on PostgreSQL, this process starts listening to other replicas."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._loop_thread, self._listening = loop, threading.get_ident(), None
        if self._listening is None and self._engine.dialect.name == "postgresql":
            self._listening = loop.create_task(self.listen_forever(), name="listen for changes")

    async def stop(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
            self._listening = None

    def waiter(self, kinds: Iterable[str] | None = None) -> asyncio.Event:
        """An event set whenever a change of one of `kinds` (None: any) commits, here or, on
        PostgreSQL, on another replica. The waiter clears it before it looks again."""
        wake = asyncio.Event()
        self._waiters.append((wake, frozenset(kinds) if kinds is not None else None))
        return wake

    def forget(self, wake: asyncio.Event) -> None:
        self._waiters = [(w, k) for w, k in self._waiters if w is not wake]

    def announce(self, kinds: Iterable[str]) -> None:
        """Thread-safe: wakes the waiters for `kinds` on the bound loop."""
        loop, kinds = self._loop, frozenset(kinds)
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self._wake(kinds)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
            loop.call_soon_threadsafe(self._wake, kinds)

    def _wake(self, kinds: frozenset[str]) -> None:
        for wake, wanted in self._waiters:
            if wanted is None or kinds is _EVERYTHING or kinds & wanted:
                wake.set()

    async def listen_forever(self) -> None:
        """PostgreSQL: hears other replicas' commits. Whenever it (re)connects it wakes every
        waiter, since what was committed while it was not listening was not heard."""
        url = make_url(self._engine.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    failures = 0
                    self.listening.set()
                    self._wake(_EVERYTHING)
                    async for notice in connection.notifies():
                        kind, _, origin = notice.payload[:_PAYLOAD_MAX].partition(" ")
                        if origin != self.origin:
                            self._wake(frozenset({kind}))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server restarted, the network dropped: listen again
                self.listening.clear()
                delay = _RETRY_SECONDS[min(failures, len(_RETRY_SECONDS) - 1)]
                failures += 1
                # The error's kind only: its text, like the DSN, may carry the database password.
                log.warning("listening for other replicas' changes stopped (%s); again in %.1f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)


async def sleep_until_woken(wake: asyncio.Event, seconds: float) -> None:
    """Returns when `wake` is set or after `seconds`, whichever comes first. Not
    `asyncio.wait_for`: on Python 3.11 it can swallow a cancellation that arrives as the event is
    set (the waiter then runs on after its task was cancelled: a scheduler claiming sessions after
    shutdown). `asyncio.timeout` tells its own cancellation from the caller's."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()


def note(db: Session, kind: str) -> None:
    """Called with a change of `kind` in `db`'s open transaction: announced once it commits."""
    noted = db.info.setdefault(_KINDS, set())
    if kind in noted:
        return
    noted.add(kind)
    bind = db.get_bind()
    if bind.dialect.name == "postgresql":
        hub = _hubs.get(bind) if isinstance(bind, Engine) else None
        payload = f"{kind} {hub.origin if hub is not None else ''}"
        # Same transaction: delivered on commit, dropped on rollback. No autoflush, so the
        # caller's pending rows are flushed when it decides, as before.
        with db.no_autoflush:
            db.execute(select(func.pg_notify(CHANNEL, payload)))


@event.listens_for(Session, "after_commit")
def _announce_committed(session: Session) -> None:
    kinds = session.info.pop(_KINDS, None)
    if not kinds:
        return
    bind = session.get_bind()
    hub = _hubs.get(bind) if isinstance(bind, Engine) else None
    if hub is not None:
        hub.announce(kinds)


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # A rolled-back transaction's kinds are not announced (after_commit took a committed one's).
    if transaction.parent is None:
        session.info.pop(_KINDS, None)
