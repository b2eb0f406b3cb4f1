"""An execution's rows: how its start and its end are recorded.

Plain functions of a database session, called on a database thread (`Database.run`), never
on the event loop: a commit waits for its fsync, and the loop serves every sandbox meanwhile.

Before a sandbox is handed its execution exactly one commit is made (`record_start`): the
execution row, `running`, with this replica's id and the sandbox's id, and its `started`
event. That is all recovery needs to find an execution in flight if this process dies
(recovery.py: it is closed `interrupted` and its sandbox removed). What the run produced is
recorded once, when it ends (`record_end`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from orchestrator.executions import memory
from orchestrator.store import ExecutionRow, SessionRow, events, utcnow
from orchestrator.store.statuses import ExecutionStatus, SessionStatus


def runnable_session(db: Session, session_id: int, command: str) -> SessionRow | None:
    """The session with its agent, or None when it is no longer in a state for `command`
    (stopped or paused meanwhile)."""
    wanted = SessionStatus.RUNNING if command == "run" else SessionStatus.UNWINDING
    session = db.scalar(select(SessionRow).options(joinedload(SessionRow.agent)).where(SessionRow.id == session_id))
    return session if session is not None and session.status == wanted else None


def record_start(db: Session, session_id: int, command: str, sandbox_id: str, replica_id: str,
                 due_at: datetime | None = None) -> ExecutionRow:
    """The one commit before hand-over: the execution `running` in `sandbox_id` on `replica_id`.
    It starts when its sandbox is handed it: now, or at `due_at` if that is later (the runner
    prepares a run a moment ahead and waits for its due time)."""
    now = utcnow()
    execution = ExecutionRow(session_id=session_id, command=command, status=ExecutionStatus.RUNNING,
                             started_at=max(now, due_at) if due_at is not None else now, replica_id=replica_id, sandbox_id=sandbox_id)
    db.add(execution)
    db.flush()  # its id, for the event
    events.record(db, "execution", "started", session_id, execution.id)
    db.commit()
    return execution


@dataclass(frozen=True)
class Ended:
    """What an execution's end records (gathered on the event loop, written on a thread)."""

    status: str
    error: str
    output: str
    output_dropped_bytes: int
    sdk_calls: int
    log_lines_dropped: int
    traceback: str
    last_sdk_call: str
    last_sdk_call_at: datetime | None


def record_end(db: Session, execution_id: int, session_id: int, command: str, ended: Ended,
               next_run: Callable[[datetime], datetime], add_records: Callable[[Session, int], None] | None = None) -> None:
    """One commit: the execution's outcome and its `finished` event, and what it means for the
    session (its next run, or its end after an unwind). `next_run(finished_at)`: when a
    session still running runs again; `add_records(db, execution_id)`: anything else to
    store with the outcome (the egress gate's records)."""
    row = db.get_one(ExecutionRow, execution_id)
    row.status, row.error, row.finished_at = ended.status, ended.error, utcnow()
    row.output, row.output_dropped_bytes = ended.output, ended.output_dropped_bytes
    row.sdk_calls, row.log_lines_dropped, row.traceback = ended.sdk_calls, ended.log_lines_dropped, ended.traceback
    row.last_sdk_call, row.last_sdk_call_at = ended.last_sdk_call, ended.last_sdk_call_at
    if add_records is not None:
        add_records(db, execution_id)
    events.record(db, "execution", "finished", session_id, execution_id)
    current = db.get_one(SessionRow, session_id)
    if command == "unwind" and current.status == SessionStatus.UNWINDING:
        # Unwound (or tried to: its outcome is the execution's): the session ends.
        current.status, current.next_run_at, current.stopped_at = SessionStatus.STOPPED, None, row.finished_at
        events.record(db, "session", SessionStatus.STOPPED, session_id, session_id)
        memory.clear_namespace(db, memory.session_namespace(session_id))
    elif current.status == SessionStatus.STOPPED:
        # Stopped during the run: what the run wrote in between goes with the rest.
        memory.clear_namespace(db, memory.session_namespace(session_id))
    elif current.status == SessionStatus.RUNNING:
        current.next_run_at = next_run(row.finished_at)
    db.commit()


def record_failure(db: Session, execution_id: int, session_id: int, error: str, retry_after: timedelta) -> None:
    """An execution that failed before its sandbox ran: closed `failed`, and its session tries
    again after `retry_after` (not at once: a failure that repeats must not spin)."""
    row = db.get_one(ExecutionRow, execution_id)
    if row.status == ExecutionStatus.RUNNING:
        row.status, row.error, row.finished_at = ExecutionStatus.FAILED, error, utcnow()
        events.record(db, "execution", "finished", session_id, row.id)
    current = db.get_one(SessionRow, session_id)
    if current.status in (SessionStatus.RUNNING, SessionStatus.UNWINDING):
        current.next_run_at = utcnow() + retry_after
    db.commit()
