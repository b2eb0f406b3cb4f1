"""One agent, one session, real transactions through every boundary: the sandbox, the
orchestrator, the signer process and anvil — with results read back independently."""

from __future__ import annotations

import json
import time

import grpc
import pytest
from eth_account import Account
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from corral.v1 import orchestrator_pb2 as pb
from tests.conftest import AGENTS_DIR, REPO_ROOT
from tests.helpers import executions, finished, log_lines, start_session, wait_for

EXAMPLE_AGENT = REPO_ROOT / "images" / "example-agent"
TIP_WEI = 1_000_000_000_000  # the example agent's default tip_wei


@pytest.fixture(scope="module")
def funded_wallet(stack) -> str:
    wallet = stack.create_wallet(31337)
    stack.fund(wallet, 10**18)
    return wallet


@pytest.fixture(scope="module")
def example_run(stack, agent_image, funded_wallet):
    """The example agent's session, stopped after two successful executions."""
    recipient = Account.create().address  # a fresh address: its balance starts at 0
    _, session = start_session(stack, agent_image(EXAMPLE_AGENT), funded_wallet, {"recipient": recipient})
    wait_for(
        lambda: sum(e.status == pb.EXECUTION_STATUS_SUCCEEDED for e in finished(stack, session.id)) >= 2,
        what="two successful executions",
    )
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    wait_for(lambda: all(e.status != pb.EXECUTION_STATUS_RUNNING for e in executions(stack, session.id)), what="the last execution")
    return session, recipient


def test_executions_succeed_with_their_logs_and_memory_carries_over(stack, example_run):
    session, _ = example_run
    runs = finished(stack, session.id)
    assert all(e.status == pb.EXECUTION_STATUS_SUCCEEDED for e in runs), [e.error for e in runs]
    first, second = log_lines(runs[0]), log_lines(runs[1])
    assert first[0] == f"run 1 for session {session.id} on {session.wallet_address}"
    assert first[1].startswith("tip sent: 0x")
    # The counter stored in memory by run 1 is what run 2 read.
    assert second[0].startswith("run 2 ")


def test_recipient_balance_moved_on_chain(stack, example_run):
    session, recipient = example_run
    txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
    confirmed = [t for t in txs if t.status == pb.TRANSACTION_STATUS_CONFIRMED]
    assert len(confirmed) >= 2 and len(confirmed) == len(txs)
    # Read back from anvil independently of the orchestrator.
    assert stack.web3.eth.get_balance(recipient) == TIP_WEI * len(confirmed)
    for t in confirmed:
        receipt = stack.web3.eth.get_transaction_receipt(t.tx_hash)
        chain_tx = stack.web3.eth.get_transaction(t.tx_hash)
        assert receipt["status"] == 1 and receipt["blockNumber"] == t.block_number
        assert chain_tx["from"] == session.wallet_address and chain_tx["to"] == recipient


def test_stopped_session_runs_no_more(stack, example_run):
    session, _ = example_run
    count = len(executions(stack, session.id))
    stopped = stack.api.GetSession(pb.GetSessionRequest(session_id=session.id)).session
    assert stopped.status == pb.SESSION_STATUS_STOPPED and not stopped.HasField("next_run_at")
    time.sleep(2.5)  # longer than the 1 s interval
    assert len(executions(stack, session.id)) == count


def test_failing_agent_fails_its_execution_and_the_session_keeps_running(stack, agent_image, funded_wallet):
    _, session = start_session(stack, agent_image(AGENTS_DIR / "raiser"), funded_wallet)
    runs = wait_for(lambda: (r := finished(stack, session.id)) and len(r) >= 2 and r, what="two finished executions")
    for run in runs[:2]:
        assert run.status == pb.EXECUTION_STATUS_FAILED
        assert run.error == "ValueError: the strategy found no price"
        assert log_lines(run) == ["about to fail"]
    assert stack.api.GetSession(pb.GetSessionRequest(session_id=session.id)).session.status == pb.SESSION_STATUS_RUNNING
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))


def test_sandbox_has_no_network_and_forged_tokens_are_refused(stack, agent_image, funded_wallet):
    orchestrator_port = stack.api_address.rsplit(":", 1)[1]
    anvil_port = stack.rpc_url.rsplit(":", 1)[1]
    _, session = start_session(
        stack, agent_image(AGENTS_DIR / "prober"), funded_wallet,
        {"orchestrator_port": orchestrator_port, "anvil_port": anvil_port},
    )
    run = wait_for(lambda: finished(stack, session.id), what="the prober's execution")[0]
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    assert run.status == pb.EXECUTION_STATUS_SUCCEEDED, run.error
    lines = log_lines(run)
    assert lines[0] == "interfaces: lo"
    probes = {line.split(":")[0]: line for line in lines if line.startswith("probe ")}
    assert set(probes) == {
        "probe tcp-public", "probe dns", "probe tcp-host-orchestrator_port", "probe tcp-host-anvil_port", "probe forged-token",
    }
    for _name, line in probes.items():
        assert ": blocked (" in line, line
    assert "UNAUTHENTICATED" in probes["probe forged-token"] or "execution token" in probes["probe forged-token"]
    assert lines[-1] == "forged memory visible: False"


@pytest.mark.parametrize(
    "request_fields, code, fragment",
    [
        ({"agent_id": 9999}, grpc.StatusCode.NOT_FOUND, "agent 9999"),
        ({"wallet_address": "0x" + "ab" * 20}, grpc.StatusCode.NOT_FOUND, "not held by the signer"),
        ({"settings": {"recipient": "not-an-address"}}, grpc.StatusCode.INVALID_ARGUMENT, "must be a ethereum address"),
        ({"settings": {"colour": "red"}}, grpc.StatusCode.INVALID_ARGUMENT, "unknown settings"),
        ({"allocation_amount": "1.5"}, grpc.StatusCode.INVALID_ARGUMENT, "must be an integer in the asset's smallest unit"),
        ({"allocation_amount": "1"}, grpc.StatusCode.FAILED_PRECONDITION, "below the agent's minimumAmount"),
        ({"allocation_amount": str(10**30)}, grpc.StatusCode.FAILED_PRECONDITION, "unallocated"),
    ],
)
def test_bad_session_requests_are_refused_with_the_fix(stack, agent_image, funded_wallet, request_fields, code, fragment):
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(EXAMPLE_AGENT))).agent
    before = stack.api.ListSessions(pb.ListSessionsRequest()).sessions
    fields = {"agent_id": agent.id, "wallet_address": funded_wallet, **request_fields}
    with pytest.raises(grpc.RpcError) as refused:
        stack.api.StartSession(pb.StartSessionRequest(**fields))
    assert refused.value.code() == code and fragment in refused.value.details()
    assert stack.api.ListSessions(pb.ListSessionsRequest()).sessions == before


def test_registering_something_that_is_not_an_agent_image_is_refused(stack, base_image):
    with pytest.raises(grpc.RpcError) as missing:
        stack.api.RegisterAgent(pb.RegisterAgentRequest(image="corral-no-such-image:1"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as bare:
        stack.api.RegisterAgent(pb.RegisterAgentRequest(image=base_image))
    assert bare.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "circuit.toml" in bare.value.details()


def test_generic_clients_can_discover_the_api(stack):
    health = health_pb2_grpc.HealthStub(stack.channel).Check(health_pb2.HealthCheckRequest(service="corral.v1.OrchestratorService"))
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(stack.channel)
    answers = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    services = {s.name for answer in answers for s in answer.list_services_response.service}
    assert "corral.v1.OrchestratorService" in services


def test_private_keys_appear_nowhere(stack, example_run):
    """After real signing, no wallet key is in any log, audit line, database or API answer."""
    keystore = stack.signer_home / "keystore"
    passphrase = stack.passphrase_file.read_text()
    keys = [bytes(Account.decrypt(json.loads(p.read_text()), passphrase)).hex() for p in keystore.glob("*.json")]
    assert keys
    session, _ = example_run
    haystacks = {
        "orchestrator log": stack.log_text("orchestrator"),
        "signer log": stack.log_text("signer"),
        "anvil log": stack.log_text("anvil"),
        "audit log": (stack.signer_home / "audit.jsonl").read_text(),
        "database": "".join(p.read_bytes().hex() for p in stack.orchestrator_dir.glob("orchestrator.db*")),
        "API answers": stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session.id)).SerializeToString().hex()
        + stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).SerializeToString().hex()
        + stack.api.ListSessionMemory(pb.ListSessionMemoryRequest(session_id=session.id)).SerializeToString().hex()
        + stack.api.ListSuggestions(pb.ListSuggestionsRequest(session_id=session.id, include_discarded=True)).SerializeToString().hex()
        + str(stack.api.ListWallets(pb.ListWalletsRequest())),
        "events": "".join(e.SerializeToString().hex() for e in _replayed_events(stack, session.id)),
    }
    # Each secret as text and as the hex of its bytes (how binary haystacks are searched).
    secrets = [("a private key", k) for k in keys] + [("a private key", k.encode().hex()) for k in keys]
    secrets += [("the keystore passphrase", passphrase), ("the keystore passphrase", passphrase.encode().hex())]
    for what, secret in secrets:
        for where, text in haystacks.items():
            assert secret.lower() not in text.lower(), f"{what} appears in the {where}"


def _replayed_events(stack, session_id: int) -> list:
    events = []
    stream = stack.api.WatchEvents(pb.WatchEventsRequest(session_id=session_id, after_event_id=0), timeout=10)
    try:
        for event in stream:
            events.append(event)
    except grpc.RpcError:
        pass  # the deadline ends the replay once every stored event has been streamed
    return events
