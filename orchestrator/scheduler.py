"""Finds due sessions and dispatches their executions.

`next_run_at` is durable in the database, so schedules survive restarts. One session
never runs twice at once (the in-flight set); different sessions run in parallel up to
`max_parallel_executions`. A running session gets `run` executions on its schedule; an
unwinding one gets its single `unwind` execution.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select, update

from orchestrator.executions import ExecutionRunner
from orchestrator.store import Database, ExecutionRow, SessionRow, utcnow

log = logging.getLogger("corral.scheduler")


class Scheduler:
    def __init__(self, db: Database, runner: ExecutionRunner, tick_seconds: float, max_parallel: int) -> None:
        self._db = db
        self._runner = runner
        self._tick = tick_seconds
        self._slots = asyncio.Semaphore(max_parallel)
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task] = set()

    def recover(self) -> None:
        """Executions left `running` by a previous process did not finish: say so."""
        with self._db.session() as db:
            db.execute(
                update(ExecutionRow)
                .where(ExecutionRow.status == "running")
                .values(status="interrupted", error="the orchestrator stopped while this execution ran", finished_at=utcnow())
            )
            db.commit()

    async def run_forever(self) -> None:
        while True:
            try:
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
