"""A session's whole life through the gRPC API on the real stack: it runs on a fixed
schedule, pauses (nothing runs, memory kept, also across an orchestrator restart),
resumes at its next slot, unwinds the positions chosen, then stops with its memory
cleared. Every transition not allowed from the current state is FAILED_PRECONDITION."""

from __future__ import annotations

import shutil
import sqlite3
import time

import grpc
import pytest

from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from orchestrator.executions.runner import CALLED_OFF
from tests.conftest import REPO_ROOT
from tests.helpers import executions, finished, log_lines, start_session, wait_for, wait_until_idle

LIFECYCLE = REPO_ROOT / "tests" / "agents" / "lifecycle"
MINUTE_SECONDS = 1.0
NATIVE = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with DevStack(tmp_path_factory.mktemp("lifecycle"), minute_seconds=MINUTE_SECONDS) as stack:
        yield stack


def session_of(stack, session_id: int) -> pb.Session:
    return stack.api.GetSession(pb.GetSessionRequest(session_id=session_id)).session


def refused(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        call(request)
    return error.value


def test_pause_resume_unwind_stop(stack, agent_image):
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    _, session = start_session(stack, agent_image(LIFECYCLE), wallet)
    api, sid = stack.api, session.id
    wait_for(lambda: len(finished(stack, sid)) >= 2, what="two runs")

    # Fixed schedule: the next run is announced on a whole interval boundary.
    next_run = session_of(stack, sid).next_run_at
    assert next_run.nanos == 0 and next_run.seconds % int(MINUTE_SECONDS) == 0

    paused = api.PauseSession(pb.PauseSessionRequest(session_id=sid)).session
    assert paused.status == pb.SESSION_STATUS_PAUSED
    error = refused(api.PauseSession, pb.PauseSessionRequest(session_id=sid))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and "only a running session can be paused" in error.details()
    # Whatever was in flight finishes; after that, nothing runs while paused, even across a restart.
    wait_until_idle(stack, sid)
    count = len(executions(stack, sid))
    # What the agent ran: a run prepared ahead of its due time and called off by the pause
    # (runner.CALLED_OFF) is recorded, but the agent never ran it, nor counted it.
    ran = len([e for e in executions(stack, sid) if e.error != CALLED_OFF])
    stack.restart_orchestrator()
    api = stack.api
    time.sleep(4 * MINUTE_SECONDS)  # four intervals in which a running session would have run
    assert len(executions(stack, sid)) == count
    assert session_of(stack, sid).status == pb.SESSION_STATUS_PAUSED

    resumed = api.ResumeSession(pb.ResumeSessionRequest(session_id=sid)).session
    assert resumed.status == pb.SESSION_STATUS_RUNNING and resumed.next_run_at.seconds >= int(time.time()) - 1
    error = refused(api.ResumeSession, pb.ResumeSessionRequest(session_id=sid))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    after_resume = wait_for(lambda: len(finished(stack, sid)) > count and finished(stack, sid), what="a run after resuming")
    # Memory survived the pause: the run counter carries on.
    assert log_lines(after_resume[count])[0] == f"run {ran + 1}"

    # Unwind: an unknown position is refused and changes nothing; the held one is unwound.
    error = refused(api.UnwindSession, pb.UnwindSessionRequest(session_id=sid, positions=[pb.PositionRef(network="ethereum:1", asset_address=NATIVE)]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "holds no position" in error.details()
    assert session_of(stack, sid).status == pb.SESSION_STATUS_RUNNING
    unwinding = api.UnwindSession(
        pb.UnwindSessionRequest(session_id=sid, positions=[pb.PositionRef(network="ethereum:31337", asset_address=NATIVE.upper().replace("0X", "0x"))])
    ).session
    assert unwinding.status == pb.SESSION_STATUS_UNWINDING and len(unwinding.unwind_positions) == 1
    stopped = wait_for(lambda: (s := session_of(stack, sid)).status == pb.SESSION_STATUS_STOPPED and s, what="the session to stop after unwinding")
    assert stopped.HasField("stopped_at") and not stopped.HasField("next_run_at")
    last = executions(stack, sid)[-1]
    assert last.command == common_pb2.EXECUTION_COMMAND_UNWIND
    # The runs the agent did: a run prepared ahead of its due time and called off by the unwind
    # (runner.CALLED_OFF) is recorded, but the agent never ran it.
    runs_before_unwind = len([e for e in executions(stack, sid) if e.command == common_pb2.EXECUTION_COMMAND_RUN
                              and e.error != CALLED_OFF])
    assert log_lines(last) == [f"unwinding ['ethereum:31337/{NATIVE}'] after {runs_before_unwind} runs"]
    with sqlite3.connect(stack.database_path) as db:
        assert db.execute("SELECT count(*) FROM memory WHERE namespace = ?", (f"session:{sid}",)).fetchone()[0] == 0

    for call, request in [
        (api.UnwindSession, pb.UnwindSessionRequest(session_id=sid)),
        (api.StopSession, pb.StopSessionRequest(session_id=sid)),
        (api.ResumeSession, pb.ResumeSessionRequest(session_id=sid)),
        (api.PauseSession, pb.PauseSessionRequest(session_id=sid)),
    ]:
        assert refused(call, request).code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused(api.PauseSession, pb.PauseSessionRequest(session_id=10_000)).code() == grpc.StatusCode.NOT_FOUND


def test_unwind_from_pause_defaults_to_every_position(stack, agent_image):
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    _, session = start_session(stack, agent_image(LIFECYCLE), wallet)
    wait_for(lambda: finished(stack, session.id), what="a first run")
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))
    stack.api.UnwindSession(pb.UnwindSessionRequest(session_id=session.id))
    wait_for(lambda: session_of(stack, session.id).status == pb.SESSION_STATUS_STOPPED, what="the session to stop")
    assert log_lines(executions(stack, session.id)[-1])[0].startswith(f"unwinding ['ethereum:31337/{NATIVE}']")


def test_sessions_of_one_agent_share_its_shared_memory(stack, agent_image):
    image = agent_image(LIFECYCLE)
    first_wallet, second_wallet = stack.create_wallets(2)
    for wallet in (first_wallet, second_wallet):
        stack.fund(wallet, 10**18)
    _, first = start_session(stack, image, first_wallet)
    wait_for(lambda: finished(stack, first.id), what="the first session's run")
    _, second = start_session(stack, image, second_wallet)
    run = wait_for(lambda: finished(stack, second.id), what="the second session's run")[0]
    seen = int(log_lines(run)[1].removeprefix("sessions seen: "))
    assert seen >= 2  # its own mark and the first session's (and any earlier test's)
    shared = stack.api.ListSessionMemory(pb.ListSessionMemoryRequest(session_id=second.id, shared=True)).entries
    assert {f"session-{first.id}", f"session-{second.id}"} <= {e.key for e in shared}
    stack.api.StopSession(pb.StopSessionRequest(session_id=first.id))
    # Stopping a session clears its own memory, never the agent's shared memory.
    assert stack.api.ListSessionMemory(pb.ListSessionMemoryRequest(session_id=first.id)).entries == []
    assert f"session-{first.id}" in {e.key for e in stack.api.ListSessionMemory(
        pb.ListSessionMemoryRequest(session_id=second.id, shared=True)).entries}
    stack.api.StopSession(pb.StopSessionRequest(session_id=second.id))


def test_pause_during_a_long_interval_resumes_at_the_same_slot(stack, agent_image, tmp_path):
    slow = tmp_path / "slow"
    shutil.copytree(LIFECYCLE, slow)
    toml = (slow / "circuit.toml").read_text().replace("runtimeIntervalMinutes = 1", "runtimeIntervalMinutes = 600")
    (slow / "circuit.toml").write_text(toml.replace('schedule = "fixed"', 'schedule = "rolling"'))
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    _, session = start_session(stack, agent_image(slow), wallet)
    wait_for(lambda: finished(stack, session.id), what="the first run")
    slot = wait_for(lambda: (s := session_of(stack, session.id)).HasField("next_run_at") and s.next_run_at, what="the next slot")
    assert slot.seconds > time.time() + 500  # ten "hours" of 1 s minutes away
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))
    resumed = stack.api.ResumeSession(pb.ResumeSessionRequest(session_id=session.id)).session
    assert resumed.next_run_at == slot  # the pause did not move it, nor run it early
    assert len(executions(stack, session.id)) == 1
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))


def test_wallet_types_are_listed_and_checked_at_start(stack, agent_image):
    solana_wallet = stack.create_solana_wallet()
    evm_wallet = stack.create_wallet()
    listed = {w.address: w for w in stack.api.ListWallets(pb.ListWalletsRequest()).wallets}
    assert listed[solana_wallet].wallet_type == "solana" and not listed[solana_wallet].balances
    assert listed[evm_wallet].wallet_type == "ethereum" and [b.network for b in listed[evm_wallet].balances] == ["ethereum:31337"]
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(LIFECYCLE))).agent
    before = [s.id for s in stack.api.ListSessions(pb.ListSessionsRequest()).sessions]
    error = refused(stack.api.StartSession, pb.StartSessionRequest(agent_id=agent.id, wallet_address=solana_wallet))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"needs a ethereum wallet; {solana_wallet} is a solana wallet" in error.details()
    # No session was made (the others may run meanwhile, so only ids are compared).
    assert [s.id for s in stack.api.ListSessions(pb.ListSessionsRequest()).sessions] == before


def hyperliquid_agent(stack, agent_image, tmp_path, name: str) -> int:
    agent = tmp_path / name
    shutil.copytree(LIFECYCLE, agent)
    toml = (agent / "circuit.toml").read_text().replace('name = "Lifecycle"', f'name = "{name}"')
    toml = toml.replace('network = "ethereum:31337"', 'network = "hypercore:perp"')
    toml = toml.replace('address = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"', 'address = "USDC"')
    (agent / "circuit.toml").write_text(toml)
    return stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(agent))).agent.id


def test_a_wallet_runs_one_hyperliquid_agent_at_a_time(stack, agent_image, tmp_path):
    from orchestrator.store import Database, SessionRow, utcnow

    first, second = hyperliquid_agent(stack, agent_image, tmp_path, "PerpOne"), hyperliquid_agent(stack, agent_image, tmp_path, "PerpTwo")
    wallet, other_wallet = stack.create_wallets(2)
    # Hyperliquid is not a configured venue on this stack, so the first agent's session is
    # put in place directly, as if it had been started.
    database = Database(f"sqlite:///{stack.database_path}")
    with database.session() as db:
        db.add(SessionRow(agent_id=first, wallet_address=wallet, status="running", execution_mode="auto", settings={},
                          allocation_network="hypercore:perp", allocation_asset="USDC", allocation_amount="100000000",
                          created_at=utcnow(), next_run_at=None, stopped_at=None))
        db.commit()
    error = refused(stack.api.StartSession, pb.StartSessionRequest(agent_id=second, wallet_address=wallet))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "already runs the Hyperliquid agent 'PerpOne'" in error.details() and "one Hyperliquid agent at a time" in error.details()
    # Another wallet is not held back by it (it stops at the missing venue instead).
    elsewhere = refused(stack.api.StartSession, pb.StartSessionRequest(agent_id=second, wallet_address=other_wallet))
    assert "Hyperliquid agent" not in elsewhere.details() and "has not configured" in elsewhere.details()
