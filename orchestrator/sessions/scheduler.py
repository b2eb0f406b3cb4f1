"""Finds due sessions and dispatches their executions.

`next_run_at` is durable in the database, so schedules survive restarts. A due session is
leased (`lease_owner`, `lease_expires_at`) by the orchestrator replica that runs it, renewed
while it runs and released after, so with several replicas on one database each run
happens once, and the sessions of a replica that died move to another within one lease
period. Different sessions run in parallel up to `max_parallel_executions` per replica.
A running session gets `run` executions on its schedule; an unwinding one gets its single
`unwind` execution.

It does not poll: it sleeps until just before the earliest due time (the earliest
`next_run_at` of a session nobody holds, LEAD_SECONDS early: the runner prepares a run while
it waits for its due time; or the earliest lease expiry of one another replica holds) or until a
committed change wakes it: a session started, resumed, unwound or stopped, an execution
finished, the kill switch thrown or lifted (store/changes.py: in process, and from other
replicas by PostgreSQL NOTIFY), or one of its own runs ending with room for another. Whatever
happens it looks again after `recheck_seconds`, so a lost notification costs latency, never
a run. Its statements run on the database's threads (`Database.run`), never on the event loop
that serves every sandbox; a pass writes in one transaction (releases, claims, renewals).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from orchestrator.config import SchedulerConfig
from orchestrator.executions.runner import ExecutionRunner
from orchestrator.metrics import SCHEDULER_LAG
from orchestrator.sessions.kill_switch import Halt, KillSwitch, stored_halt
from orchestrator.sessions.recovery import Recovery
from orchestrator.store import Database, ExecutionRow, SessionRow, changes, utcnow
from orchestrator.store.statuses import ExecutionStatus, SessionStatus

log = logging.getLogger("corral.scheduler")

# Committed event kinds that can make a session due or free room (see events.record's callers).
WAKE_KINDS = ("session", "execution", "platform", "suggestion")
ACTIVE = (SessionStatus.RUNNING, SessionStatus.UNWINDING)
# A session due now that the claim did not get (another replica's claim had it locked):
# look again this soon, not at once, so such a race cannot spin the loop.
RACE_SECONDS = 0.05
# A session is claimed this long before its due time, and its run is prepared meanwhile (its
# reads, the start's commit, its sockets) while the runner waits for the due time to hand the
# sandbox its execution: the scheduler's wake-up and that work are not on the way to `run()`.
LEAD_SECONDS = 0.05


class Scheduler:
    def __init__(self, db: Database, runner: ExecutionRunner, kill_switch: KillSwitch, recovery: Recovery, config: SchedulerConfig) -> None:
        self._db = db
        self._runner = runner
        self._kill_switch = kill_switch
        self._recovery = recovery
        self._recheck = config.recheck_seconds
        self._hub = changes.hub(db.engine)
        self._wake = self._hub.waiter(WAKE_KINDS)
        self._max_parallel = config.max_parallel_executions
        self._lease = timedelta(seconds=config.lease_seconds)
        self._renewed_at = 0.0
        self._in_flight: set[int] = set()
        # Sessions whose run ended, their leases released together at the next pass (one
        # statement for all of them instead of one transaction per run).
        self._finished: set[int] = set()
        self.passes = 0  # looks at the database so far (tests and benchmarks read it)
        self._abandoned: asyncio.Future[_Pass] | None = None
        self._looping: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()

    async def run_forever(self) -> None:
        self._looping = asyncio.current_task()
        self._hub.start()
        while True:
            self._wake.clear()  # before looking: a change committed while we look wakes the next wait
            try:
                delay = await self.look()
            except Exception:
                log.exception("scheduler pass failed")
                delay = min(self._recheck, 1.0)
            await changes.sleep_until_woken(self._wake, delay)

    async def look(self) -> float:
        """One pass: release the leases of finished runs, enforce the kill switch, dispatch
        what is due, renew leases. Returns how long to sleep if nothing wakes the scheduler
        first. Its statements run on a database thread, the writes in one commit."""
        self.passes += 1
        finished, self._finished = self._finished, set()
        room = self._max_parallel - len(self._in_flight)
        renewing = time.monotonic()
        renew = set(self._in_flight) if renewing - self._renewed_at >= self._lease.total_seconds() / 3 else set()
        switch_changes = self._kill_switch.changes
        claim = asyncio.ensure_future(self._db.run(lambda db: self._claim(db, finished, room, renew)))
        try:
            found = await asyncio.shield(claim)
        except BaseException as exc:
            self._finished |= finished  # retried at the next pass; the lease expires meanwhile at worst
            if isinstance(exc, asyncio.CancelledError):
                self._abandoned = claim  # its transaction runs on: shutdown gives back what it leased
            raise
        if renew:
            self._renewed_at = renewing
        # While the kill switch holds, nothing is dispatched and whatever still runs here
        # is killed (it may have been thrown by another orchestrator).
        halted = await self._kill_switch.apply(found.halt, switch_changes)
        if halted is None:
            for claimed in found.claimed:
                self._dispatch(claimed)
        elif found.claimed:  # claimed before a halt thrown here meanwhile: given back at the next pass
            self._finished |= {claimed.session_id for claimed in found.claimed}
            self._wake.set()
        delay = self._recheck
        if halted is None and len(self._in_flight) < self._max_parallel:
            due = await self._db.run(self._next_due)
            if due is not None:
                until = (due - utcnow()).total_seconds()
                # Inside the lead already (claimed at its next pass, a little late) or overdue.
                delay = min(delay, until - LEAD_SECONDS if until > LEAD_SECONDS else until if until > 0 else RACE_SECONDS)
        if self._in_flight:
            next_renewal = self._renewed_at + self._lease.total_seconds() / 3 - time.monotonic()
            delay = min(delay, max(next_renewal, RACE_SECONDS))
        return delay

    def _claim(self, db: Session, finished: set[int], room: int, renew: set[int]) -> _Pass:
        """On a database thread, one transaction: releases the leases of `finished` runs,
        reads the kill switch, leases up to `room` due sessions unless it holds, and renews the
        leases of `renew` (sessions running here)."""
        self._release(db, finished)
        halt = stored_halt(db)
        claimed = self._claim_due(db, room) if halt is None and room > 0 else []
        if renew:
            db.execute(
                update(SessionRow).where(SessionRow.id.in_(renew), SessionRow.lease_owner == self._db.replica_id)
                .values(lease_expires_at=utcnow() + self._lease).execution_options(synchronize_session=False)
            )
        db.commit()
        return _Pass(halt, claimed)

    def _next_due(self, db: Session) -> datetime | None:
        """When a session may next be claimed: the earliest `next_run_at` of an active
        session nobody holds (indexed per status), or the earliest lease expiry of one that
        another replica holds (it becomes claimable then if that replica died)."""
        now = utcnow()
        free = or_(SessionRow.lease_expires_at.is_(None), SessionRow.lease_expires_at < now)
        times = []
        for status in ACTIVE:
            times.append(db.scalar(
                select(SessionRow.next_run_at)
                .where(SessionRow.status == status, SessionRow.next_run_at.is_not(None), free)
                .order_by(SessionRow.next_run_at).limit(1)
            ))
        times.append(db.scalar(
            select(func.min(SessionRow.lease_expires_at))
            .where(SessionRow.lease_expires_at >= now, SessionRow.lease_owner != self._db.replica_id)
        ))
        return min((t for t in times if t is not None), default=None)

    def _dispatch(self, claimed: _Claimed) -> None:
        # Claimed ahead of its due time, a run is handed over on time: lag 0.
        SCHEDULER_LAG.observe(max(0.0, (utcnow() - claimed.due_at).total_seconds()))
        self._in_flight.add(claimed.session_id)
        task = asyncio.create_task(self._run(claimed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _claim_due(self, db: Session, limit: int) -> list[_Claimed]:
        """Leases up to `limit` sessions nobody holds that are due (or will be within
        LEAD_SECONDS), oldest due first, each with whether an execution of it is still recorded
        as running (its previous holder died with it).
        On PostgreSQL the candidates are locked with SKIP LOCKED, so replicas claiming at the
        same moment take different sessions instead of waiting on each other; SQLite has one
        writer at a time. The caller commits."""
        now = utcnow()
        free = or_(SessionRow.lease_expires_at.is_(None), SessionRow.lease_expires_at < now)
        # A paper session's fork is a child process of one replica: only that one runs it.
        here = or_(SessionRow.paper_fork_replica.is_(None), SessionRow.paper_fork_replica == self._db.replica_id)
        due = (
            select(SessionRow.id)
            .where(SessionRow.status.in_(ACTIVE), SessionRow.next_run_at <= now + timedelta(seconds=LEAD_SECONDS), free, here)
            .order_by(SessionRow.next_run_at).limit(limit).with_for_update(skip_locked=True)
        )
        claimed = db.execute(
            update(SessionRow).where(SessionRow.id.in_(due.scalar_subquery()), free)
            .values(lease_owner=self._db.replica_id, lease_expires_at=now + self._lease)
            .returning(SessionRow.id, SessionRow.status, SessionRow.next_run_at)
            .execution_options(synchronize_session=False)
        ).all()
        # One question for the whole batch, so the common case (nothing left running)
        # costs no statement of its own per run.
        orphaned = set(db.scalars(select(ExecutionRow.session_id).where(
            ExecutionRow.session_id.in_([session_id for session_id, _, _ in claimed]), ExecutionRow.status == ExecutionStatus.RUNNING,
        ))) if claimed else set()
        return [_Claimed(session_id, "unwind" if status == SessionStatus.UNWINDING else "run", session_id in orphaned, due_at)
                for session_id, status, due_at in claimed]

    async def _run(self, claimed: _Claimed) -> None:
        session_id = claimed.session_id
        try:
            # A run still recorded as running was its previous holder's, who died with it.
            if not (claimed.orphaned and await asyncio.to_thread(self._recovery.take_over_session, session_id)):
                await self._runner.execute(session_id, claimed.command, due_at=claimed.due_at)
        except Exception:
            log.exception("execution of session %s failed to run", session_id)
        finally:
            # Still leased to this replica until released: nobody else can claim it meanwhile.
            self._finished.add(session_id)
            self._in_flight.discard(session_id)
            self._wake.set()  # room for another, and this session's next run may be due

    async def shutdown(self, grace_seconds: float = 10.0) -> None:
        """After the runner killed the running sandboxes: each run records how it ended
        (`interrupted`, the shutdown's reason) within `grace_seconds`; what is left is cancelled
        (recovery closes it at the next start)."""
        if self._looping is not None:  # no pass after this (one under way ends first: what it took is known then)
            self._looping.cancel()
            await asyncio.gather(self._looping, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace_seconds)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._abandoned is not None:  # a pass cancelled while its claim ran: nobody runs what it leased
            with contextlib.suppress(Exception):
                self._finished |= {claimed.session_id for claimed in (await self._abandoned).claimed}
        if self._finished:
            finished, self._finished = self._finished, set()
            await self._db.run(lambda db: self._claim(db, finished, room=0, renew=set()))

    def _release(self, db: Session, finished: set[int]) -> None:
        """Frees the leases of sessions whose runs here ended (the caller commits)."""
        if finished:
            db.execute(
                update(SessionRow).where(SessionRow.id.in_(finished), SessionRow.lease_owner == self._db.replica_id)
                .values(lease_owner=None, lease_expires_at=None).execution_options(synchronize_session=False)
            )


@dataclass(frozen=True)
class _Pass:
    """What a pass's transaction found: the kill switch, and the sessions it leased."""

    halt: Halt | None
    claimed: list[_Claimed]


@dataclass(frozen=True)
class _Claimed:
    """A session a pass leased: the command its run is, whether a run of it is still recorded
    as running (its previous holder died), and when it is due (possibly a moment from now)."""

    session_id: int
    command: str
    orphaned: bool
    due_at: datetime
