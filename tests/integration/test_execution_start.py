"""An execution's start, from the due session to the sandbox being handed its execution: one
commit, none of its statements on the event loop that serves every sandbox, and what that commit
leaves on disk is all recovery needs (a crash right after the hand-over is found and closed, and
its sandbox removed). Real runner, real SQLite file, a stand-in sandbox backend."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from orchestrator.actions.suggestions import Suggestions
from orchestrator.config import OrchestratorConfig, SandboxConfig
from orchestrator.executions.runner import CALLED_OFF, ExecutionRunner
from orchestrator.sessions.recovery import INTERRUPTED, Recovery
from orchestrator.store import AgentRow, Database, ExecutionRow, SessionRow, events, utcnow
from orchestrator.store.statuses import ExecutionStatus, SessionStatus
from sandbox_runner.host.backend import SandboxResult, SandboxSpec, StartedSandbox

MANIFEST = 'name = "Quick"\ntagline = "t"\nwalletType = "ethereum"\nruntimeIntervalMinutes = 1\nversion = "0.0.1"\n'
REPLICA = "r1"


class HandOverBackend:
    """Starts nothing. At `start`, the moment the sandbox is handed its execution, it notes the
    commits made so far and copies the database as it is on disk: what a crash at that instant
    would leave behind."""

    def __init__(self, database_path: Path, snapshot_path: Path, commits: list[int]) -> None:
        self._database_path = database_path
        self._snapshot_path = snapshot_path
        self._commits = commits
        self.commits_at_hand_over: int | None = None
        self.spec: SandboxSpec | None = None
        self.handed_over_at: datetime | None = None

    def start(self, spec: SandboxSpec) -> StartedSandbox:
        self.commits_at_hand_over, self.spec, self.handed_over_at = len(self._commits), spec, utcnow()
        with sqlite3.connect(self._database_path) as source, sqlite3.connect(self._snapshot_path) as copy:
            source.backup(copy)
        return StartedSandbox(spec=spec, handle=spec.sandbox_id)

    def finish(self, sandbox: StartedSandbox, deadline_seconds: float) -> SandboxResult:
        return SandboxResult(exit_code=0, timed_out=False, output="")

    def discard(self, sandbox: StartedSandbox) -> None:
        pass

    def is_running(self, sandbox: StartedSandbox) -> bool:
        return False


class RemovedSandboxes:
    """Stands in for the restarted orchestrator's runner: which sandboxes recovery removes."""

    def __init__(self) -> None:
        self.removed: list[str] = []

    def remove_sandbox(self, sandbox_id: str) -> None:
        self.removed.append(sandbox_id)


@pytest.fixture
def commits():
    """Every commit of any session while the test runs."""
    made: list[int] = []

    def count(session: Session) -> None:
        made.append(threading.get_ident())

    event.listen(Session, "after_commit", count)
    yield made
    event.remove(Session, "after_commit", count)


def a_due_session(db: Database) -> None:
    now = utcnow()
    with db.session() as s:
        s.add(AgentRow(id=1, name="Quick", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml=MANIFEST,
                       registered_at=now))
        s.add(SessionRow(id=1, agent_id=1, wallet_address="0x" + "11" * 20, status=SessionStatus.RUNNING, execution_mode="auto",
                         settings={}, allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0",
                         created_at=now, next_run_at=now, stopped_at=None))
        s.commit()


def run_once(tmp_path: Path, commits: list[int], due_in: float | None = None,
             meanwhile: Callable[[Database], None] | None = None) -> tuple[HandOverBackend, list[int], int]:
    """One cold execution of the due session; returns the backend, the threads that ran
    statements while it ran, and the event loop's thread. `meanwhile(db)` runs on a thread
    while the prepared run waits for its due time."""
    database_path = tmp_path / "o.db"
    db = Database(f"sqlite:///{database_path}", REPLICA)
    a_due_session(db)
    socket_root = Path(tempfile.mkdtemp(prefix="corral-start-"))  # short: a Unix socket's path is bounded
    config = OrchestratorConfig(database_url=f"sqlite:///{database_path}", replica_id=REPLICA, socket_root=socket_root,
                                sandbox=SandboxConfig(warm_pool_size=0))
    backend = HandOverBackend(database_path, tmp_path / "at-hand-over.db", commits)
    runner = ExecutionRunner(config, db, backend, gateway=None)
    statement_threads: list[int] = []

    def note_thread(*_args) -> None:
        statement_threads.append(threading.get_ident())

    event.listen(db.engine, "before_cursor_execute", note_thread)

    async def scenario() -> int:
        commits.clear()
        execution = asyncio.create_task(runner.execute(1, due_at=None if due_in is None else utcnow() + timedelta(seconds=due_in)))
        if meanwhile is not None:
            await asyncio.sleep(due_in / 2 if due_in else 0)
            await asyncio.to_thread(meanwhile, db)
        await execution
        return threading.get_ident()

    try:
        loop_thread = asyncio.run(scenario())
    finally:
        event.remove(db.engine, "before_cursor_execute", note_thread)
        db.engine.dispose()
    return backend, statement_threads, loop_thread


def test_the_start_is_one_commit_before_the_hand_over_and_no_statement_runs_on_the_event_loop(tmp_path, commits):
    backend, statement_threads, loop_thread = run_once(tmp_path, commits)

    assert backend.commits_at_hand_over == 1
    assert statement_threads and loop_thread not in statement_threads
    with sqlite3.connect(tmp_path / "at-hand-over.db") as at_hand_over:
        rows = at_hand_over.execute("SELECT status, sandbox_id, replica_id FROM executions").fetchall()
        started = at_hand_over.execute("SELECT kind, change FROM events WHERE kind = 'execution'").fetchall()
    assert rows == [(ExecutionStatus.RUNNING, backend.spec.sandbox_id, REPLICA)]
    assert started == [("execution", "started")]


def test_a_crash_right_after_the_hand_over_is_recovered_and_its_sandbox_removed(tmp_path, commits):
    backend, _, _ = run_once(tmp_path, commits)

    # The orchestrator restarts on the database as the crash left it.
    db = Database(f"sqlite:///{tmp_path / 'at-hand-over.db'}", REPLICA)
    sandboxes = RemovedSandboxes()
    Recovery(db, sandboxes, None, Suggestions(db, None), minute_seconds=60.0).close_interrupted_work(REPLICA)

    with db.session() as s:
        execution = s.query(ExecutionRow).one()
        session = s.get(SessionRow, 1)
    assert (execution.status, execution.error) == (ExecutionStatus.INTERRUPTED, INTERRUPTED)
    assert sandboxes.removed == [backend.spec.sandbox_id]
    assert session.next_run_at > utcnow() + timedelta(seconds=50)  # at its next interval, not at once
    db.engine.dispose()


def test_a_run_prepared_ahead_of_its_due_time_is_handed_over_at_that_time_not_before(tmp_path, commits):
    """The scheduler claims a session a moment early; its start is recorded meanwhile, and the
    sandbox gets its execution at the due time, which is when the execution is said to start."""
    asked_at = utcnow()
    backend, _, _ = run_once(tmp_path, commits, due_in=0.5)
    due_at = asked_at + timedelta(seconds=0.5)

    assert backend.handed_over_at >= due_at
    with sqlite3.connect(tmp_path / "at-hand-over.db") as at_hand_over:
        (started_at,) = at_hand_over.execute("SELECT started_at FROM executions").fetchone()
    assert datetime.fromisoformat(started_at) >= due_at


def test_a_session_paused_while_its_prepared_run_waits_does_not_run(tmp_path, commits):
    """The lead the scheduler takes does not let a pause slip past: the session is paused
    after its run was prepared and recorded, before its due time; the sandbox is never handed
    the execution, which is closed as not run, and the session stays paused."""

    def pause(db: Database) -> None:  # as PauseSession does it
        with db.session() as s:
            s.get_one(SessionRow, 1).status = SessionStatus.PAUSED
            events.record(s, "session", SessionStatus.PAUSED, 1, 1)
            s.commit()

    backend, _, _ = run_once(tmp_path, commits, due_in=1.0, meanwhile=pause)

    assert backend.spec is None  # never handed over
    with sqlite3.connect(tmp_path / "o.db") as db:
        executions = db.execute("SELECT status, error FROM executions").fetchall()
        [(status,)] = db.execute("SELECT status FROM sessions").fetchall()
    assert executions == [(ExecutionStatus.INTERRUPTED, CALLED_OFF)]
    assert status == SessionStatus.PAUSED
