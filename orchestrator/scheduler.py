"""Finds due sessions and dispatches their executions.

`next_run_at` is durable in the database, so schedules survive restarts. One session
never runs twice at once (the in-flight set); different sessions run in parallel up to
`max_parallel_executions`. A running session gets `run` executions on its schedule; an
unwinding one gets its single `unwind` execution.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from orchestrator.executions import ExecutionRunner
from orchestrator.kill_switch import KillSwitch
from orchestrator.store import Database, SessionRow, utcnow

log = logging.getLogger("corral.scheduler")


class Scheduler:
    def __init__(self, db: Database, runner: ExecutionRunner, kill_switch: KillSwitch, tick_seconds: float, max_parallel: int) -> None:
        self._db = db
        self._runner = runner
        self._kill_switch = kill_switch
        self._tick = tick_seconds
        self._slots = asyncio.Semaphore(max_parallel)
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task] = set()

    async def run_forever(self) -> None:
        while True:
            try:
                # While the kill switch holds, nothing is dispatched and whatever still
                # runs here is killed (it may have been thrown by another orchestrator).
                if await self._kill_switch.enforce() is None:
                    self.dispatch_due()
            except Exception:
                log.exception("scheduler tick failed")
            await asyncio.sleep(self._tick)

    def dispatch_due(self) -> None:
        with self._db.session() as db:
            due = db.execute(
                select(SessionRow.id, SessionRow.status)
                .where(SessionRow.status.in_(("running", "unwinding")), SessionRow.next_run_at <= utcnow())
                .order_by(SessionRow.next_run_at)
            ).all()
        for session_id, status in due:
            if session_id in self._in_flight:
                continue
            self._in_flight.add(session_id)
            task = asyncio.create_task(self._run(session_id, "unwind" if status == "unwinding" else "run"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, session_id: int, command: str) -> None:
        try:
            async with self._slots:
                await self._runner.execute(session_id, command)
        except Exception:
            log.exception("execution of session %s failed to run", session_id)
        finally:
            self._in_flight.discard(session_id)

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
