"""The scheduler does not poll: with its fallback re-check set to an hour, a session still runs
as soon as a commit makes it due (started, resumed, the kill switch lifted, a run ending with
room) or its due time or another replica's lease expiry comes. On PostgreSQL the wake-up
crosses replicas by LISTEN/NOTIFY. Every wait below is a bound for failing, not a figure: had
the wake-up not come, the run would have waited the hour."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta
from types import SimpleNamespace

import grpc
import pytest
from sqlalchemy.exc import OperationalError

from devtools.devpostgres import PostgresServer
from orchestrator.config import SchedulerConfig
from orchestrator.errors import Refused
from orchestrator.sessions import kill_switch as kill_switch_module
from orchestrator.sessions.kill_switch import HALT_KEY, KillSwitch, stored_halt
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

    async def execute(self, session_id: int, command: str = "run", due_at: datetime | None = None) -> int:
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


def test_a_runs_start_does_not_wake_the_scheduler_its_end_does(db):
    """A run's start makes nothing due and frees no room: waking every replica's scheduler for it
    would put a pass of its own on every run's way to its sandbox."""

    async def passes_after_a_while(s: Scheduler) -> int:
        await asyncio.sleep(0.3)  # a pass it was woken for would have begun by now
        return s.passes

    def record(change: str) -> None:
        with db.session() as session:
            events.record(session, "execution", change, 1, 1)
            session.commit()

    async def main() -> None:
        add_session(db, 1, due_in=None)
        s = scheduler(db, Runs(db))
        task = asyncio.create_task(s.run_forever())
        passes = -1
        while passes != s.passes:  # until it is asleep: no pass began for a while
            passes = s.passes
            await asyncio.sleep(0.3)
        await asyncio.to_thread(record, "started")
        assert await passes_after_a_while(s) == passes
        await asyncio.to_thread(record, "finished")
        for _ in range(int(FAIL_AFTER / 0.3)):
            if await passes_after_a_while(s) > passes:
                break
        assert s.passes > passes
        await stop(task, s)

    asyncio.run(main())


def test_a_shutdown_during_a_pass_leaves_nothing_it_claimed_leased(db):
    """A pass claims on a database thread; a shutdown that comes meanwhile waits for that
    transaction and gives back what it leased (no run of it starts any more)."""
    add_session(db, 1, due_in=-1)
    runs = Runs(db)
    s = scheduler(db, runs)
    claiming, go_on = threading.Event(), threading.Event()
    claim = s._claim

    def slow_claim(*args, **kwargs):
        claiming.set()
        go_on.wait(FAIL_AFTER)
        return claim(*args, **kwargs)

    s._claim = slow_claim

    async def main() -> None:
        task = asyncio.create_task(s.run_forever())
        await asyncio.to_thread(claiming.wait, FAIL_AFTER)
        shutting_down = asyncio.create_task(s.shutdown(grace_seconds=1))
        await asyncio.sleep(0.1)
        go_on.set()
        await shutting_down
        assert task.done()

    asyncio.run(main())
    assert runs.started == []
    with db.session() as session:
        assert session.get(SessionRow, 1).lease_owner is None


class HaltingSigner:
    """Stands in for the signer's halt call."""

    async def halt_signing(self, reason: str) -> None:
        pass


def test_a_halt_thrown_while_a_pass_reads_is_not_lifted_by_that_pass_and_nothing_it_claimed_runs(db):
    """The pass reads the switch (not thrown) and claims a due session; the platform is halted
    here before the pass applies what it read. That stale read must not lift the halt, and the
    session it claimed must not run: it is given back, leased to nobody."""
    async def main() -> None:
        add_session(db, 1, due_in=-1)
        runs = Runs(db)
        kill_switch = KillSwitch(db, HaltingSigner(), runs)  # type: ignore[arg-type]
        config = SchedulerConfig(recheck_seconds=HOUR, max_parallel_executions=4, lease_seconds=30.0)
        s = Scheduler(db, runs, kill_switch, Recovery(db, runs, None, None, 60.0), config)
        claim, read, go_on = s._claim, threading.Event(), threading.Event()

        def claim_then_wait(*args, **kwargs):
            found = claim(*args, **kwargs)
            if not read.is_set():  # only the first pass
                read.set()
                go_on.wait(FAIL_AFTER)
            return found

        s._claim = claim_then_wait  # type: ignore[method-assign]
        task = asyncio.create_task(s.run_forever())
        assert await asyncio.to_thread(read.wait, FAIL_AFTER)
        await kill_switch.halt("thrown during the pass")
        go_on.set()

        def lease_owner() -> str | None:
            with db.session() as session:
                return session.get(SessionRow, 1).lease_owner

        for _ in range(int(FAIL_AFTER / 0.05)):  # given back by the next pass, which the halt's event wakes
            if await asyncio.to_thread(lease_owner) is None:
                break
            await asyncio.sleep(0.05)
        assert await asyncio.to_thread(lease_owner) is None
        await settle(task, s)
        assert runs.started == []
        assert kill_switch.refusal() is not None
        await stop(task, s)

    asyncio.run(main())


@pytest.mark.parametrize("write_fails", [False, True], ids=["write-lands", "write-fails"])
def test_a_pass_that_reads_while_a_halts_write_waits_does_not_lift_it(db, monkeypatch, write_fails):
    """The halt refuses at once, then waits for its write; a pass reading meanwhile sees the
    database without the halt. What it read must not lift the halt, nor run what it claimed,
    and should that write then fail, the next pass still holds the halt (and writes it)."""
    async def main() -> None:
        add_session(db, 1, due_in=-1)
        runs = Runs(db)
        kill_switch = KillSwitch(db, HaltingSigner(), runs)  # type: ignore[arg-type]
        config = SchedulerConfig(recheck_seconds=HOUR, max_parallel_executions=4, lease_seconds=30.0)
        s = Scheduler(db, runs, kill_switch, Recovery(db, runs, None, None, 60.0), config)
        writing, go_on = threading.Event(), threading.Event()
        store_halt = kill_switch_module._store_halt

        failures = [1] if write_fails else []

        def store_halt_later(halt, session) -> None:
            writing.set()
            go_on.wait(FAIL_AFTER)
            if failures:
                failures.pop()
                raise OperationalError("INSERT", {}, Exception("database is locked"))
            store_halt(halt, session)

        monkeypatch.setattr(kill_switch_module, "_store_halt", store_halt_later)
        halting = asyncio.ensure_future(kill_switch.halt("thrown before the pass"))
        assert await asyncio.to_thread(writing.wait, FAIL_AFTER)
        passes = s.passes
        task = asyncio.create_task(s.run_forever())
        while s.passes == passes:
            await asyncio.sleep(0.01)
        await settle(task, s)  # the pass read no halt, and applied what it read
        assert kill_switch.refusal() is not None and runs.started == []
        go_on.set()
        if write_fails:
            with pytest.raises(Refused):
                await halting
            assert await kill_switch.apply(None, kill_switch.changes) is not None  # the next pass, reading no halt
            with db.session() as session:
                assert stored_halt(session) is not None  # written by it
        else:
            await halting
        await settle(task, s)
        assert kill_switch.refusal() is not None and runs.started == []
        await stop(task, s)

    asyncio.run(main())


class _CountingRunner(Runs):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.killed: list[str] = []

    async def kill_running(self, reason: str) -> int:
        self.killed.append(reason)
        return 1


class _CountingSigner(HaltingSigner):
    def __init__(self) -> None:
        self.halted: list[str] = []

    async def halt_signing(self, reason: str) -> None:
        self.halted.append(reason)

    async def resume_signing(self):
        return SimpleNamespace(halted_by_owner=False)


def test_a_halt_the_database_does_not_take_still_stops_everything_here_and_is_written_again(db, monkeypatch):
    """The emergency stop must not depend on the database: its write fails, yet what runs here
    is killed and the signer halted; the caller is told the halt is not recorded; the next
    scheduler pass, reading no halt, does not lift it but writes it again."""
    async def main() -> None:
        runs, signer = _CountingRunner(db), _CountingSigner()
        kill_switch = KillSwitch(db, signer, runs)  # type: ignore[arg-type]
        store_halt, failures = kill_switch_module._store_halt, [1]

        def store_halt_failing_once(halt, session) -> None:
            if failures:
                failures.pop()
                raise OperationalError("INSERT", {}, Exception("database is locked"))
            store_halt(halt, session)

        monkeypatch.setattr(kill_switch_module, "_store_halt", store_halt_failing_once)
        with pytest.raises(Refused) as refused:
            await kill_switch.halt("a venue drains wallets")
        assert refused.value.code == grpc.StatusCode.UNAVAILABLE and "corral halt" in refused.value.message
        assert runs.killed and signer.halted == ["a venue drains wallets"]
        assert kill_switch.refusal() is not None
        with db.session() as session:
            assert stored_halt(session) is None
            seen = kill_switch.changes
            read = stored_halt(session)
        assert await kill_switch.apply(read, seen) is not None  # a pass that read no halt
        assert kill_switch.refusal() is not None
        with db.session() as session:
            assert stored_halt(session) is not None  # written again by that pass
        await kill_switch.resume()
        assert kill_switch.refusal() is None

    asyncio.run(main())
