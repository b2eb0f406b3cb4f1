"""Leases on a real database: two schedulers (two replicas) share the due sessions, and a run
longer than the lease period keeps its lease (renewed while it runs), so no session ever
runs on both at once. The runs are stand-ins that take a while and make the session due
again at once: a lapsed lease would show as two overlapping runs of one session."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from orchestrator.config import SchedulerConfig
from orchestrator.sessions.kill_switch import KillSwitch
from orchestrator.sessions.recovery import Recovery
from orchestrator.sessions.scheduler import Scheduler
from orchestrator.store import AgentRow, Database, ExecutionRow, SessionRow, utcnow

LEASE_SECONDS, RUN_SECONDS = 1.0, 2.5  # each run outlasts two lease periods
MANIFEST = 'name = "Slow"\ntagline = "Takes its time"\nwalletType = "ethereum"\nruntimeIntervalMinutes = 1\nversion = "0.0.1"\n'


class SlowRuns:
    """Stands in for ExecutionRunner: each run takes RUN_SECONDS, then makes the session due."""

    def __init__(self, db: Database, log: list) -> None:
        self._db, self._log = db, log

    async def execute(self, session_id: int, command: str = "run", due_at: datetime | None = None) -> int:
        started = asyncio.get_running_loop().time()
        await asyncio.sleep(RUN_SECONDS)
        self._log.append((session_id, self._db.replica_id, started, asyncio.get_running_loop().time()))
        with self._db.session() as db:
            db.get(SessionRow, session_id).next_run_at = utcnow()
            db.commit()
        return 0

    async def kill_running(self, reason: str) -> int:
        return 0

    def lift_halt(self) -> None:
        pass

    def remove_sandbox(self, sandbox_id: str) -> None:
        pass


def add_due_sessions(db, ids, **fields) -> None:
    """The Slow agent and running sessions `ids` of it, due a second ago, with `fields`."""
    now = utcnow()
    db.add(AgentRow(id=1, name="Slow", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml=MANIFEST,
                    registered_at=now))
    for i in ids:
        db.add(SessionRow(id=i, agent_id=1, wallet_address=f"0x{i:040x}", status="running", execution_mode="auto", settings={},
                          allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0",
                          created_at=now, next_run_at=now - timedelta(seconds=1), stopped_at=None, **fields))
    db.flush()


def test_runs_longer_than_the_lease_keep_it_and_replicas_never_overlap(tmp_path):
    url = f"sqlite:///{tmp_path / 'o.db'}"
    setup = Database(url, "setup")
    with setup.session() as db:
        add_due_sessions(db, range(1, 4))
        db.commit()
    runs: list[tuple[int, str, float, float]] = []

    async def main() -> None:
        schedulers = []
        for replica in ("a", "b"):
            db = Database(url, replica)
            runner = SlowRuns(db, runs)
            config = SchedulerConfig(max_parallel_executions=2, lease_seconds=LEASE_SECONDS)
            schedulers.append(Scheduler(db, runner, KillSwitch(db, None, runner), Recovery(db, runner, None, None, 60.0), config))
        tasks = [asyncio.create_task(s.run_forever()) for s in schedulers]
        await asyncio.sleep(4 * RUN_SECONDS)
        for task in tasks:
            task.cancel()
        for scheduler in schedulers:
            await scheduler.shutdown()

    asyncio.run(main())
    assert {replica for _, replica, _, _ in runs} == {"a", "b"}, runs
    for session_id in (1, 2, 3):
        mine = sorted((start, end) for s, _, start, end in runs if s == session_id)
        assert len(mine) >= 2, f"session {session_id} ran {len(mine)} times"
        for (_, earlier_end), (later_start, _) in zip(mine, mine[1:], strict=False):
            assert later_start >= earlier_end, f"session {session_id} ran on two replicas at once: {mine}"


def test_a_session_whose_holder_died_mid_run_is_taken_over_not_run_twice(tmp_path):
    """Replica "dead" leased sessions 1 and 2 and died while session 1's execution ran (its lease
    has lapsed, the row still says running). Another replica claims both: session 1's stale run is
    closed as interrupted and the session waits for its next interval instead of running now;
    session 2, with nothing left running, runs; both leases are released afterwards."""
    url = f"sqlite:///{tmp_path / 'o.db'}"
    setup = Database(url, "setup")
    now = utcnow()
    with setup.session() as db:
        add_due_sessions(db, (1, 2), lease_owner="dead", lease_expires_at=now - timedelta(seconds=1))
        db.add(ExecutionRow(id=7, session_id=1, command="run", status="running", replica_id="dead", started_at=now - timedelta(seconds=5),
                            finished_at=None))
        db.commit()
    runs: list[tuple[int, str, float, float]] = []

    async def main() -> None:
        db = Database(url, "alive")
        runner = SlowRuns(db, runs)
        scheduler = Scheduler(db, runner, KillSwitch(db, None, runner), Recovery(db, runner, None, None, 60.0),
                              SchedulerConfig(max_parallel_executions=4))
        task = asyncio.create_task(scheduler.run_forever())
        while len(runs) < 1:
            await asyncio.sleep(0.05)
        task.cancel()
        await scheduler.shutdown()

    asyncio.run(main())
    assert {session_id for session_id, *_ in runs} == {2}, "only the session with nothing left running ran"
    with setup.session() as db:
        stale = db.get(ExecutionRow, 7)
        assert (stale.status, stale.error) == ("interrupted", "the orchestrator stopped while this execution ran")
        first, second = db.get(SessionRow, 1), db.get(SessionRow, 2)
        assert first.next_run_at > utcnow(), "the taken-over session waits for its next interval"
        assert (first.lease_owner, second.lease_owner) == (None, None)
