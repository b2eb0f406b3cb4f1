"""Recording executions through the API, with the example agent on a dev stack: a session
started with record_executions keeps, for each execution, the calls its agent made through the
runtime socket, the context first (a pre-started sandbox is handed it), in order, each answer
what the agent got (the memory it read, the transaction it sent, as the chain has it); a session
that does not record has none and says how to turn it on; UpdateSession turns it on."""

from __future__ import annotations

import shutil
import subprocess

import grpc
import pytest
from eth_account import Account
from google.protobuf.field_mask_pb2 import FieldMask

from corral.v1 import common_pb2, runtime_pb2
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import CORRAL_COMMAND, DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import executions, finished, wait_for

EXAMPLE = REPO_ROOT / "images" / "example-agent"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with DevStack(tmp_path_factory.mktemp("recordings"), minute_seconds=1.0) as stack:
        yield stack


def start(stack: DevStack, agent_image, record: bool) -> tuple[pb.Session, str]:
    wallet, recipient = stack.create_wallet(), Account.create().address
    stack.fund(wallet, 10**18)
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(EXAMPLE))).agent
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent.id, wallet_address=wallet, execution_mode=common_pb2.EXECUTION_MODE_AUTO,
        settings={"recipient": recipient, "tip_wei": "7"}, record_executions=record)).session
    return session, recipient


def test_a_recording_session_keeps_what_each_execution_saw_and_got(stack, agent_image, tmp_path):
    session, recipient = start(stack, agent_image, record=True)
    assert session.record_executions
    runs = wait_for(lambda: (done := finished(stack, session.id)) and len(done) >= 2 and done, what="two executions")
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    second = sorted(runs, key=lambda e: e.id)[1]
    recording = stack.api.GetExecutionRecording(pb.GetExecutionRecordingRequest(execution_id=second.id)).recording

    assert [(c.method, c.code) for c in recording.calls] == [
        ("GetExecutionContext", "OK"), ("GetMemory", "OK"), ("SetMemory", "OK"), ("SignAndSend", "OK")]
    context, read, wrote, sent = recording.calls
    assert runtime_pb2.GetExecutionContextResponse.FromString(context.response).session_id == session.id
    assert runtime_pb2.GetMemoryResponse.FromString(read.response).value == "1"  # the first run's counter
    assert runtime_pb2.SetMemoryRequest.FromString(wrote.request).value == "2"
    request = runtime_pb2.SignAndSendRequest.FromString(sent.request)
    assert (request.evm.to_address, request.evm.value) == (recipient, "7")
    [tx] = [t for t in stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
            if t.execution_id == second.id]
    assert runtime_pb2.SignAndSendResponse.FromString(sent.response).tx_hash == tx.tx_hash
    assert recording.execution_id == second.id and recording.calls_not_recorded == 0
    assert [c.at_ms for c in recording.calls] == sorted(c.at_ms for c in recording.calls)

    # The CLI shows it a call per line and saves it whole, for a replay to read.
    saved = tmp_path / "recording.binpb"
    shown = subprocess.run([*CORRAL_COMMAND, "recording", str(second.id), "--out", str(saved), "--server", stack.api_address],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert [line.split()[1] for line in shown.stdout.splitlines()[2:6]] == ["GetExecutionContext", "GetMemory", "SetMemory", "SignAndSend"]
    assert pb.ExecutionRecording.FromString(saved.read_bytes()) == recording


def test_a_session_that_does_not_record_says_how_to_and_update_turns_it_on(stack, agent_image):
    session, _ = start(stack, agent_image, record=False)
    first = wait_for(lambda: finished(stack, session.id), what="an execution")[0]
    with pytest.raises(grpc.RpcError) as refused:
        stack.api.GetExecutionRecording(pb.GetExecutionRecordingRequest(execution_id=first.id))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert "its session does not record its executions" in refused.value.details()

    updated = stack.api.UpdateSession(pb.UpdateSessionRequest(
        session=pb.Session(id=session.id, record_executions=True), update_mask=FieldMask(paths=["record_executions"]))).session
    assert updated.record_executions
    # One already under way when the update came runs as it started (not recorded): the next one records.
    under_way = max(e.id for e in executions(stack, session.id))
    later = wait_for(lambda: [e for e in finished(stack, session.id) if e.id > under_way], what="an execution started after the update")[0]
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    recording = stack.api.GetExecutionRecording(pb.GetExecutionRecordingRequest(execution_id=later.id)).recording
    assert [c.method for c in recording.calls][-1] == "SignAndSend"


def replay(stack: DevStack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CORRAL_COMMAND, "replay", *args, "--server", stack.api_address], capture_output=True, text=True, timeout=300)


def test_a_replay_of_the_same_agent_finds_no_difference_and_of_a_changed_one_exactly_the_changed_transaction(stack, agent_image, tmp_path):
    session, recipient = start(stack, agent_image, record=True)
    runs = wait_for(lambda: (done := finished(stack, session.id)) and len(done) >= 2 and done, what="two executions")
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    second = sorted(runs, key=lambda e: e.id)[1]
    wallet = session.wallet_address
    sent_before, received_before = stack.web3.eth.get_transaction_count(wallet), stack.web3.eth.get_balance(recipient)

    same = replay(stack, str(second.id), "--agent", str(EXAMPLE), "--logs")
    assert same.returncode == 0, same.stdout + same.stderr
    assert f"execution {second.id}: the agent succeeded; 2 action(s) recorded, 2 replayed" in same.stdout
    assert "  no difference in actions" in same.stdout
    # It read the recorded memory (the first run's counter) and its context (the session's wallet).
    assert f"  log: run 2 for session {session.id} on {wallet}" in same.stdout

    # The author doubles the tip: exactly that transaction differs; the memory write does not.
    changed = tmp_path / "example-agent"
    shutil.copytree(EXAMPLE, changed)
    main = changed / "main.py"
    main.write_text(main.read_text().replace('str(agent.settings["tip_wei"])', 'str(2 * int(agent.settings["tip_wei"]))'))
    different = replay(stack, str(second.id), "--agent", str(changed))
    assert different.returncode == 1, different.stdout + different.stderr
    lines = different.stdout.splitlines()
    difference = lines[lines.index("  difference in actions (- recorded, + replayed):") + 1:]
    assert [line[:16] for line in difference] == ["  - SignAndSend ", "  + SignAndSend "]
    assert f'"to_address":"{recipient}"' in difference[0] and '"value":"7"' in difference[0]
    assert f'"to_address":"{recipient}"' in difference[1] and '"value":"14"' in difference[1]

    # A whole session: both runs, the first one's counter read as it was then.
    whole = replay(stack, "--session", str(session.id), "--agent", str(EXAMPLE))
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert whole.stdout.count("no difference in actions") == 2 and "2 executions replayed: no difference" in whole.stdout

    # Offline, from a saved recording; and nothing a replay did reached the chain.
    saved = tmp_path / "second.binpb"
    saved.write_bytes(stack.api.GetExecutionRecording(pb.GetExecutionRecordingRequest(execution_id=second.id)).recording.SerializeToString())
    offline = replay(stack, "--recording", str(saved), "--agent", str(changed))
    assert offline.returncode == 1 and '"value":"14"' in offline.stdout
    assert (stack.web3.eth.get_transaction_count(wallet), stack.web3.eth.get_balance(recipient)) == (sent_before, received_before)
    assert len(stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions) == len(runs)

    # The replayed agent's clock reads when the recorded execution ran (here made a past date).
    clocked = tmp_path / "clocked-agent"
    shutil.copytree(EXAMPLE, clocked)
    main = clocked / "main.py"
    main.write_text(main.read_text().replace(
        "def run(agent: AgentContext) -> None:\n",
        "def run(agent: AgentContext) -> None:\n"
        "    import datetime, time\n"
        "    agent.log(f'clock {datetime.datetime.now(datetime.UTC):%Y-%m-%d} {time.gmtime().tm_year} {datetime.date.today().year}')\n"))
    past = pb.ExecutionRecording.FromString(saved.read_bytes())
    past.started_at.FromJsonString("2021-06-01T12:00:00Z")
    saved.write_bytes(past.SerializeToString())
    then = replay(stack, "--recording", str(saved), "--agent", str(clocked), "--logs")
    assert "  log: clock 2021-06-01 2021 2021" in then.stdout, then.stdout + then.stderr


def test_a_replay_says_what_is_wrong_with_its_input(stack, tmp_path):
    junk = tmp_path / "junk.binpb"
    junk.write_bytes(b"\xff\xff\xff")
    refused = replay(stack, "--recording", str(junk), "--agent", str(EXAMPLE))
    assert refused.returncode == 2 and "is not a recording; save one with `corral recording EXECUTION_ID --out FILE`" in refused.stderr
    missing = replay(stack, "--recording", str(tmp_path / "absent.binpb"), "--agent", str(EXAMPLE))
    assert missing.returncode == 2 and "No such file or directory" in missing.stderr


def test_a_shadow_version_is_replayed_on_each_execution_and_shows_where_it_differs(stack, agent_image, tmp_path):
    session, recipient = start(stack, agent_image, record=False)  # a shadow turns recording on
    changed = tmp_path / "example-agent-v2"
    shutil.copytree(EXAMPLE, changed)
    (changed / "circuit.toml").write_text((changed / "circuit.toml").read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    main = changed / "main.py"
    main.write_text(main.read_text().replace('str(agent.settings["tip_wei"])', 'str(2 * int(agent.settings["tip_wei"]))'))
    v2 = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(changed))).agent
    assert v2.id != session.agent_id and v2.version == "0.2.0"

    shown = subprocess.run([*CORRAL_COMMAND, "shadow", "set", str(session.id), str(v2.id), "--server", stack.api_address],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and shown.stdout.strip() == f"session {session.id}: shadowed by agent {v2.id}", shown.stderr
    shadowed = stack.api.GetSession(pb.GetSessionRequest(session_id=session.id)).session
    assert shadowed.shadow_agent_id == v2.id and shadowed.record_executions
    # A shadow is a version of the session's agent, nothing else.
    other = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(REPO_ROOT / "tests" / "agents" / "sleeper"))).agent
    with pytest.raises(grpc.RpcError) as refused:
        stack.api.UpdateSession(pb.UpdateSessionRequest(session=pb.Session(id=session.id, shadow_agent_id=other.id),
                                                        update_mask=FieldMask(paths=["shadow_agent_id"])))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "not a version of the session's agent" in refused.value.details()
    under_way = max(e.id for e in executions(stack, session.id))

    def shadow_runs(agent_id: int) -> list:
        """Those that ran (on this fast stack, executions that end while the previous shadow run
        goes are skipped, and said so)."""
        runs = stack.api.ListShadowRuns(pb.ListShadowRunsRequest(session_id=session.id)).shadow_runs
        skipped = [r for r in runs if r.outcome == pb.SHADOW_OUTCOME_FAILED]
        assert all(r.error == "skipped: this session's previous shadow run had not finished" for r in skipped), skipped
        return [r for r in runs if r.agent_id == agent_id and r.execution_id > under_way and r not in skipped]

    [first, *_] = wait_for(lambda: shadow_runs(v2.id), timeout=180, what="a shadow run of version 0.2.0")
    assert first.outcome == pb.SHADOW_OUTCOME_DIFFERENT and (first.recorded_actions, first.replayed_actions) == (2, 2)
    assert [line[:16] for line in first.difference] == ["- SignAndSend {\"", "+ SignAndSend {\""]
    assert '"value":"7"' in first.difference[0] and '"value":"14"' in first.difference[1]

    # The live version as its own shadow: the same actions.
    stack.api.UpdateSession(pb.UpdateSessionRequest(session=pb.Session(id=session.id, shadow_agent_id=session.agent_id),
                                                    update_mask=FieldMask(paths=["shadow_agent_id"])))
    under_way = max(e.id for e in executions(stack, session.id))
    same = wait_for(lambda: shadow_runs(session.agent_id), timeout=180, what="a shadow run of the live version")[0]
    assert same.outcome == pb.SHADOW_OUTCOME_SAME and not same.difference
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    wait_for(lambda: all(e.status != pb.EXECUTION_STATUS_RUNNING for e in executions(stack, session.id)), what="the last run to end")

    # Shadows carried nothing out: the recipient got the live version's tips only.
    sent = [t for t in stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
            if t.status == pb.TRANSACTION_STATUS_CONFIRMED]
    assert stack.web3.eth.get_balance(recipient) == 7 * len(sent)
    listed = subprocess.run([*CORRAL_COMMAND, "shadow", "runs", str(session.id), "--server", stack.api_address],
                            capture_output=True, text=True, timeout=60).stdout
    assert f"with agent {v2.id}: different (2 action(s) recorded, 2 by the shadow)" in listed and ': same (' in listed
