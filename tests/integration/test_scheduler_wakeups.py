"""The scheduler does not poll: with its fallback re-check set to an hour, a session still runs
as soon as a commit makes it due (started, resumed, the kill switch lifted, a run ending with
room) or its due time or another replica's lease expiry comes. On PostgreSQL the wake-up
crosses replicas by LISTEN/NOTIFY. Every wait below is a bound for failing, not a figure: had
the wake-up not come, the run would have waited the hour."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from devtools.devpostgres import PostgresServer
from orchestrator.config import SchedulerConfig
from orchestrator.sessions.kill_switch import HALT_KEY, KillSwitch
from orchestrator.sessions.recovery import Recovery
from orchestrator.sessions.scheduler import Scheduler
from orchestrator.store import AgentRow, Database, SessionRow, SettingRow, changes, events, utcnow
from orchestrator.store.statuses import SessionStatus

HOUR = 3600.0
FAIL_AFTER = 20.0
MANIFEST = 'name = "Quick"\ntagline = "t"\nwalletType = "ethereum"\nruntimeIntervalMinutes = 1\nversion = "0.0.1"\n'


class Runs:
    """Stands in for ExecutionRunner: records each run, holds it while `hold` is clear, then
    schedules the session's next run an hour later (as a run on a long interval would)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.started: list[int] = []
        self.hold = asyncio.Event()
        self.hold.set()
        self._changed = asyncio.Event()

    async def execute(self, session_id: int, command: str = "run") -> int:
        self.started.append(session_id)
        self._changed.set()
        await self.hold.wait()
        with self._db.session() as db:
            db.get(SessionRow, session_id).next_run_at = utcnow() + timedelta(seconds=HOUR)
            db.commit()
        return 0

    async def ran(self, *session_ids: int) -> None:
        async def wait() -> None:
            while not set(session_ids) <= set(self.started):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), FAIL_AFTER)

    async def kill_running(self, reason: str) -> int:
        return 0

    def lift_halt(self) -> None:
        pass


def add_agent(db: Database) -> None:
    with db.session() as s:
        s.add(AgentRow(id=1, name="Quick", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml=MANIFEST,
                       registered_at=utcnow()))
        s.commit()


def add_session(db: Database, session_id: int, status: str = SessionStatus.RUNNING, due_in: float | None = 0.0, **fields) -> None:
    """Starts a session the way Sessions.start does: the row and its event in one commit."""
    now = utcnow()
    with db.session() as s:
        s.add(SessionRow(id=session_id, agent_id=1, wallet_address=f"0x{session_id:040x}", status=status, execution_mode="auto",
                         settings={}, allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0",
                         created_at=now, next_run_at=None if due_in is None else now + timedelta(seconds=due_in), stopped_at=None, **fields))
        s.flush()
        events.record(s, "session", status, session_id, session_id)
        s.commit()


def scheduler(db: Database, runs: Runs, max_parallel: int = 4, lease_seconds: float = 30.0) -> Scheduler:
    config = SchedulerConfig(recheck_seconds=HOUR, max_parallel_executions=max_parallel, lease_seconds=lease_seconds)
    return Scheduler(db, runs, KillSwitch(db, None, runs), Recovery(db, runs, None, None, 60.0), config)


async def settle(task: asyncio.Task, s: Scheduler) -> None:
    """Lets the scheduler finish a pass and reach its long sleep, so what follows must wake it."""
    for _ in range(100):
        passes = s.passes
        for _ in range(50):
            await asyncio.sleep(0)
        assert not task.done(), task
        if s.passes == passes > 0:
            return
    raise AssertionError("the scheduler never went to sleep")


async def stop(task: asyncio.Task, *schedulers: Scheduler) -> None:
    task.cancel()
    for s in schedulers:
        await s.shutdown(grace_seconds=1)


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'o.db'}", "a")
    add_agent(database)
    yield database
    database.engine.dispose()


def test_a_new_session_runs_without_waiting_for_the_recheck(db):
    async def main() -> None:
        runs = Runs(db)
        s = scheduler(db, runs)
        task = asyncio.create_task(s.run_forever())
        await settle(task, s)
        add_session(db, 1)
        await runs.ran(1)
        # A commit in another thread (as API calls made with to_thread) wakes it the same way.
        await asyncio.to_thread(add_session, db, 2)
        await runs.ran(2)
        await stop(task, s)

    asyncio.run(main())


def test_it_sleeps_until_the_earliest_due_time(db):
    async def main() -> None:
        add_session(db, 1, due_in=0.5)
        runs = Runs(db)
        s = scheduler(db, runs)
        task = asyncio.create_task(s.run_forever())
        await runs.ran(1)  # nothing committed after start: only its own due time woke it
        await stop(task, s)

    asyncio.run(main())


def test_a_resumed_session_runs_at_once(db):
    async def main() -> None:
        add_session(db, 1, status=SessionStatus.PAUSED, due_in=-60)
        runs = Runs(db)
        s = scheduler(db, runs)
        task = asyncio.create_task(s.run_forever())
        await settle(task, s)
        assert runs.started == []
        with db.session() as session:
            session.get(SessionRow, 1).status = SessionStatus.RUNNING
            events.record(session, "session", SessionStatus.RUNNING, 1, 1)
            session.commit()
        await runs.ran(1)
        await stop(task, s)

    asyncio.run(main())


def test_a_run_ending_makes_room_for_the_next_due_session(db):
    async def main() -> None:
        add_session(db, 1, due_in=-2)
        add_session(db, 2, due_in=-1)
        runs = Runs(db)
        runs.hold.clear()
        s = scheduler(db, runs, max_parallel=1)
        task = asyncio.create_task(s.run_forever())
        await runs.ran(1)
        await settle(task, s)
        assert runs.started == [1]  # no room for session 2 while 1 runs
        runs.hold.set()
        await runs.ran(2)
        await stop(task, s)

    asyncio.run(main())


def test_lifting_the_kill_switch_dispatches_at_once(db):
    async def main() -> None:
        with db.session() as session:
            session.add(SettingRow(key=HALT_KEY, value=json.dumps({"reason": "test", "at": utcnow().isoformat()})))
            session.commit()
        add_session(db, 1, due_in=-1)
        runs = Runs(db)
        s = scheduler(db, runs)
        task = asyncio.create_task(s.run_forever())
        await settle(task, s)
        assert runs.started == []
        with db.session() as session:
            session.delete(session.get(SettingRow, HALT_KEY))
            events.record(session, "platform", "resumed", None, 0)
            session.commit()
        await runs.ran(1)
        await stop(task, s)

    asyncio.run(main())


def test_another_replicas_lease_expiry_is_a_due_time(db):
    async def main() -> None:
        add_session(db, 1, due_in=-5, lease_owner="dead-replica", lease_expires_at=utcnow() + timedelta(seconds=0.5))
        runs = Runs(db)
        s = scheduler(db, runs)
        task = asyncio.create_task(s.run_forever())
        await runs.ran(1)
        await stop(task, s)

    asyncio.run(main())


@pytest.fixture(scope="module")
def postgres():
    with PostgresServer() as server:
        yield server


def test_a_session_started_on_one_replica_wakes_another_by_notify(postgres, tmp_path):
    url = postgres.create_database(f"wake_{tmp_path.name[-12:]}")
    writer, other = Database(url, "a"), Database(url, "b")  # two engines: no in-process path between them
    add_agent(writer)

    async def main() -> None:
        runs = Runs(other)
        s = scheduler(other, runs)
        task = asyncio.create_task(s.run_forever())
        # Once LISTEN is in place (connecting wakes the scheduler, which must not be what runs it).
        await asyncio.wait_for(changes.hub(other.engine).listening.wait(), FAIL_AFTER)
        await settle(task, s)
        await asyncio.to_thread(add_session, writer, 1)
        await runs.ran(1)
        await stop(task, s)

    try:
        asyncio.run(main())
    finally:
        writer.engine.dispose()
        other.engine.dispose()
