"""Three orchestrator replicas on one real PostgreSQL (Debian's server, started privately):
every run of every session happens exactly once (no two executions of a session overlap,
the run counter in session memory counts each run once, each wallet's nonce counts exactly
the confirmed tips, read back with web3), the work is shared out, and when one replica is
killed with SIGKILL its sessions carry on on the others and its unfinished work is closed. A
console that watched the killed replica resumes on another from the last event id it got and
misses nothing, though three replicas write events at once."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from datetime import UTC, datetime

import grpc
import psycopg
import pytest
from eth_account import Account

from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import orchestrator_pb2_grpc
from devtools.devpostgres import PostgresServer
from devtools.devstack import DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import executions, log_lines, wait_for, wait_until_idle

SESSIONS, TIP, LEASE_SECONDS = 6, 1000, 3.0


@pytest.fixture(scope="module")
def postgres():
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory, postgres):
    url = postgres.create_database("replicas")
    with DevStack(tmp_path_factory.mktemp("replicas"), minute_seconds=2.0, database_url=url, replica_id="a",
                  scheduler={"lease_seconds": LEASE_SECONDS}) as stack:
        ADDRESSES["b"] = stack.start_replica("b")
        stack.start_replica("c")
        yield stack


ADDRESSES: dict[str, str] = {}  # the replicas' API addresses, by replica id


def query(postgres: PostgresServer, sql: str, *args) -> list[tuple]:
    with psycopg.connect(f"{postgres.admin_dsn.replace('dbname=postgres', 'dbname=replicas')}") as connection:
        return connection.execute(sql, args).fetchall()


def start_tippers(stack: DevStack, agent_id: int) -> list[tuple[int, str, str]]:
    sessions = []
    for _ in range(SESSIONS):
        wallet, recipient = stack.create_wallet(), Account.create().address
        stack.fund(wallet, 10**18)
        session = stack.api.StartSession(pb.StartSessionRequest(
            agent_id=agent_id, wallet_address=wallet, settings={"recipient": recipient, "tip_wei": str(TIP)})).session
        sessions.append((session.id, wallet, recipient))
    return sessions


def watch_in_background(address: str) -> list[int]:
    """The ids a console watching `address` from the start receives, until its stream ends."""
    received: list[int] = []

    def read() -> None:
        with grpc.insecure_channel(address) as channel, contextlib.suppress(grpc.RpcError):
            for event in orchestrator_pb2_grpc.OrchestratorServiceStub(channel).WatchEvents(pb.WatchEventsRequest(after_event_id=0)):
                received.append(event.id)

    threading.Thread(target=read, daemon=True).start()
    return received


def resume_until_caught_up(stack: DevStack, after: int) -> tuple[list[int], int]:
    """The ids a console gets resuming after `after`, up to the caught-up marker, and its position."""
    ids = []
    for event in stack.api.WatchEvents(pb.WatchEventsRequest(after_event_id=after, heartbeat_seconds=1), timeout=60):
        if event.kind == pb.EVENT_KIND_HEARTBEAT:
            return ids, event.heartbeat.position
        ids.append(event.id)
    raise AssertionError("the stream ended before it caught up")


def assert_each_run_happened_once(stack: DevStack, session_id: int, wallet: str, recipient: str) -> None:
    runs = [e for e in executions(stack, session_id) if e.status != pb.EXECUTION_STATUS_RUNNING]
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert later.started_at.ToDatetime() >= earlier.finished_at.ToDatetime(), f"session {session_id}: two runs overlapped"
    # Two replicas running one slot would both read the same count: a repeated number. (A
    # run killed with b may have stored its count or not, so only completed runs are compared.)
    counted = [int(line.split()[1]) for run in runs if run.status == pb.EXECUTION_STATUS_SUCCEEDED
               for line in log_lines(run) if line.startswith("run ")]
    assert counted == sorted(set(counted)), f"session {session_id}: run counter {counted}"
    txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session_id)).transactions
    confirmed = sum(t.status == pb.TRANSACTION_STATUS_CONFIRMED for t in txs)
    assert stack.web3.eth.get_transaction_count(wallet) == confirmed
    assert stack.web3.eth.get_balance(recipient) == TIP * confirmed


def test_three_replicas_share_the_sessions_and_a_killed_one_loses_nothing(stack, postgres, agent_image):
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(REPO_ROOT / "images" / "example-agent"))).agent
    sessions = start_tippers(stack, agent.id)
    wait_for(lambda: all(len(executions(stack, s)) >= 3 for s, _, _ in sessions), timeout=240, what="three runs of every session")
    shared_out = dict(query(postgres, "SELECT replica_id, count(*) FROM executions GROUP BY replica_id"))
    assert set(shared_out) == {"a", "b", "c"}, shared_out

    # Kill replica b (-9) while it runs sessions, and while a console watches it; they carry on elsewhere.
    watched_on_b = watch_in_background(ADDRESSES["b"])
    wait_for(lambda: watched_on_b, what="the console to receive events from b")
    # Killed right after it is seen running one (nothing in between: a run lasts well under a second).
    wait_for(lambda: query(postgres, "SELECT 1 FROM executions WHERE replica_id = 'b' AND status = 'running'"), interval=0.02,
             what="b to be running one")
    killed_at = datetime.now(UTC).replace(tzinfo=None)
    os.killpg(stack.processes["b"].pid, signal.SIGKILL)
    stack.processes["b"].wait(timeout=30)

    def carried_on() -> bool:
        return all(any(e.started_at.ToDatetime() > killed_at and e.status == pb.EXECUTION_STATUS_SUCCEEDED for e in executions(stack, s))
                   for s, _, _ in sessions)

    wait_for(carried_on, timeout=180, what="every session to succeed again after b died")
    # b's unfinished work was closed by a live replica, which also removed b from the replicas.
    wait_for(lambda: not query(postgres, "SELECT 1 FROM executions WHERE replica_id = 'b' AND status = 'running'"),
             timeout=60, what="b's running executions to be closed")
    assert query(postgres, "SELECT id FROM replicas ORDER BY id") == [("a",), ("c",)]
    assert query(postgres, "SELECT count(*) FROM transactions WHERE replica_id = 'b' AND status IN ('pending', 'signed')") == [(0,)]
    interrupted = query(postgres, "SELECT error FROM executions WHERE replica_id = 'b' AND status = 'interrupted'")
    assert interrupted and {e for (e,) in interrupted} == {"the orchestrator stopped while this execution ran"}
    assert query(postgres, "SELECT count(*) FROM executions WHERE started_at > %s AND replica_id = 'b'", killed_at) == [(0,)]

    for session_id, _, _ in sessions:
        stack.api.PauseSession(pb.PauseSessionRequest(session_id=session_id))
    for session_id, wallet, recipient in sessions:
        wait_until_idle(stack, session_id)
        assert_each_run_happened_once(stack, session_id, wallet, recipient)

    # The console resumes on replica a from the last id b sent it: nothing missed, nothing twice.
    resumed, position = resume_until_caught_up(stack, watched_on_b[-1])
    stored = [row_id for (row_id,) in query(postgres, "SELECT id FROM events WHERE id <= %s ORDER BY id", position)]
    assert watched_on_b + resumed == stored
