"""Finds due sessions and dispatches their executions.

`next_run_at` is durable in the database, so schedules survive restarts. A due session is
leased (`lease_owner`, `lease_expires_at`) by the orchestrator replica that runs it, renewed
while it runs and released after, so with several replicas on one database each run
happens once, and the sessions of a replica that died move to another within one lease
period. Different sessions run in parallel up to `max_parallel_executions` per replica.
A running session gets `run` executions on its schedule; an unwinding one gets its single
`unwind` execution.

It does not poll: it sleeps until the earliest due time (the earliest `next_run_at` of a
session nobody holds, or the earliest lease expiry of one another replica holds) or until a
committed change wakes it: a session started, resumed, unwound or stopped, an execution
finished, the kill switch thrown or lifted (store/changes.py: in process, and from other
replicas by PostgreSQL NOTIFY), or one of its own runs ending with room for another. Whatever
happens it looks again after `recheck_seconds`, so a lost notification costs latency, never
a run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from orchestrator.config import SchedulerConfig
from orchestrator.executions.runner import ExecutionRunner
from orchestrator.sessions.kill_switch import KillSwitch
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
        self._tasks: set[asyncio.Task] = set()

    async def run_forever(self) -> None:
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
        first."""
        self.passes += 1
        delay = self._recheck
        self._release_finished()
        # While the kill switch holds, nothing is dispatched and whatever still runs here
        # is killed (it may have been thrown by another orchestrator).
        if await self._kill_switch.enforce() is None:
            running = len(self._in_flight)
            self.dispatch_due()
            if len(self._in_flight) > running:
                await asyncio.sleep(0)  # the claimed runs start before this pass queries on
            if len(self._in_flight) < self._max_parallel:
                due = self._next_due()
                if due is not None:
                    until = (due - utcnow()).total_seconds()
                    delay = min(delay, until if until > 0 else RACE_SECONDS)
        self._renew_leases()
        if self._in_flight:
            next_renewal = self._renewed_at + self._lease.total_seconds() / 3 - time.monotonic()
            delay = min(delay, max(next_renewal, RACE_SECONDS))
        return delay

    def _next_due(self) -> datetime | None:
        """When a session may next be claimed: the earliest `next_run_at` of an active
        session nobody holds (indexed per status), or the earliest lease expiry of one that
        another replica holds (it becomes claimable then if that replica died)."""
        now = utcnow()
        free = or_(SessionRow.lease_expires_at.is_(None), SessionRow.lease_expires_at < now)
        times = []
        with self._db.session() as db:
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

    def dispatch_due(self) -> None:
        room = self._max_parallel - len(self._in_flight)
        if room <= 0:
            return
        for session_id, status, orphaned in self._claim_due(room):
            self._in_flight.add(session_id)
            task = asyncio.create_task(self._run(session_id, "unwind" if status == SessionStatus.UNWINDING else "run", orphaned))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _claim_due(self, limit: int) -> list[tuple[int, str, bool]]:
        """Leases up to `limit` due sessions nobody holds, oldest due first, each with whether
        an execution of it is still recorded as running (its previous holder died with it).
        On PostgreSQL the candidates are locked with SKIP LOCKED, so replicas claiming at the
        same moment take different sessions instead of waiting on each other; SQLite has one
        writer at a time."""
        now = utcnow()
        free = or_(SessionRow.lease_expires_at.is_(None), SessionRow.lease_expires_at < now)
        due = (
            select(SessionRow.id)
            .where(SessionRow.status.in_(ACTIVE), SessionRow.next_run_at <= now, free)
            .order_by(SessionRow.next_run_at).limit(limit).with_for_update(skip_locked=True)
        )
        with self._db.session() as db:
            claimed = db.execute(
                update(SessionRow).where(SessionRow.id.in_(due.scalar_subquery()), free)
                .values(lease_owner=self._db.replica_id, lease_expires_at=now + self._lease)
                .returning(SessionRow.id, SessionRow.status)
                .execution_options(synchronize_session=False)
            ).all()
            # One question for the whole batch, so the common case (nothing left running)
            # costs no statement of its own per run.
            orphaned = set(db.scalars(select(ExecutionRow.session_id).where(
                ExecutionRow.session_id.in_([session_id for session_id, _ in claimed]), ExecutionRow.status == ExecutionStatus.RUNNING,
            ))) if claimed else set()
            db.commit()
        return [(session_id, status, session_id in orphaned) for session_id, status in claimed]

    def _renew_leases(self) -> None:
        """Every third of a lease period, extends the leases of the sessions running here."""
        if not self._in_flight or time.monotonic() - self._renewed_at < self._lease.total_seconds() / 3:
            return
        with self._db.session() as db:
            db.execute(
                update(SessionRow).where(SessionRow.id.in_(self._in_flight), SessionRow.lease_owner == self._db.replica_id)
                .values(lease_expires_at=utcnow() + self._lease).execution_options(synchronize_session=False)
            )
            db.commit()
        self._renewed_at = time.monotonic()

    async def _run(self, session_id: int, command: str, orphaned: bool) -> None:
        try:
            # A run still recorded as running was its previous holder's, who died with it.
            if not (orphaned and self._recovery.take_over_session(session_id)):
                await self._runner.execute(session_id, command)
        except Exception:
            log.exception("execution of session %s failed to run", session_id)
        finally:
            # Still leased to this replica until released: nobody else can claim it meanwhile.
            self._finished.add(session_id)
            self._in_flight.discard(session_id)
            self._wake.set()  # room for another, and this session's next run may be due

    def _release_finished(self) -> None:
        if not self._finished:
            return
        finished, self._finished = self._finished, set()
        try:
            with self._db.session() as db:
                db.execute(
                    update(SessionRow).where(SessionRow.id.in_(finished), SessionRow.lease_owner == self._db.replica_id)
                    .values(lease_owner=None, lease_expires_at=None).execution_options(synchronize_session=False)
                )
                db.commit()
        except Exception:
            self._finished |= finished  # retried at the next pass; the lease expires meanwhile at worst
            raise

    async def shutdown(self, grace_seconds: float = 10.0) -> None:
        """After the runner killed the running sandboxes: each run records how it ended
        (`interrupted`, the shutdown's reason) within `grace_seconds`; what is left is cancelled
        (recovery closes it at the next start)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace_seconds)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._release_finished()
