"""The kill switch (`corral halt` / `corral resume`): it reaches running work at once (a
running sandbox is killed, nothing new is scheduled), the orchestrator refuses to sign
before asking the signer, the signer itself refuses (even a client going around the
orchestrator), the halt survives a restart, and resuming brings it all back; a halt the
wallet owner placed on the signer is not lifted by the platform."""

from __future__ import annotations

import subprocess
import time

import grpc
import pytest
from eth_account import Account

from corral.v1 import common_pb2, signer_pb2, signer_pb2_grpc
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import CORRAL_COMMAND, DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import approved_suggestion, executions, log_lines, wait_for, wait_until_idle

SLEEPER = REPO_ROOT / "tests" / "agents" / "sleeper"
EXAMPLE = REPO_ROOT / "images" / "example-agent"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # The sleeper's execution must still be running when the halt comes, however slow the
    # machine is at getting the other session's suggestion: no deadline ends it first.
    with DevStack(tmp_path_factory.mktemp("halt"), minute_seconds=1.0, deadline_seconds=3600.0) as stack:
        yield stack


def corral(stack: DevStack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CORRAL_COMMAND, *args, "--server", stack.api_address], capture_output=True, text=True, timeout=120)


def audit_lines(stack: DevStack) -> int:
    return len((stack.signer_home / "audit.jsonl").read_text().splitlines())


def sign_directly(stack: DevStack, wallet: str) -> grpc.RpcError | None:
    """A signing request straight to the signer's socket, around the orchestrator (which
    the wallet's policy allows); its refusal, or None when it was signed."""
    unsigned = signer_pb2.EvmUnsignedTransaction(chain_id=31337, nonce=0, to="0x" + "11" * 20, value="1", gas=21000)
    unsigned.legacy.gas_price = "1000000000"
    with grpc.insecure_channel(f"unix:{stack.signer_socket}") as channel:
        try:
            signer_pb2_grpc.SignerServiceStub(channel).SignEvmTransaction(
                signer_pb2.SignEvmTransactionRequest(wallet_address=wallet, transaction=unsigned))
        except grpc.RpcError as refused:
            return refused
    return None


def test_halt_stops_everything_at_once_survives_a_restart_and_resume_undoes_it(stack, agent_image):
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    sleeper = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(SLEEPER))).agent
    tipper = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(EXAMPLE))).agent
    sleeping = stack.api.StartSession(pb.StartSessionRequest(agent_id=sleeper.id, wallet_address=wallet)).session
    suggesting = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=tipper.id, wallet_address=wallet, execution_mode=common_pb2.EXECUTION_MODE_MANUAL,
        settings={"recipient": Account.create().address, "tip_wei": "1000"})).session
    # Its log line, not only its status: an execution is `running` from the moment it is
    # created, while its sandbox may still be starting (not yet one the halt can count).
    running = wait_for(lambda: [e for e in executions(stack, sleeping.id)
                                if e.status == pb.EXECUTION_STATUS_RUNNING and log_lines(e) == ["going to sleep"]],
                       what="the sleeper to be asleep in its sandbox")[0]
    wait_for(lambda: stack.api.ListSuggestions(pb.ListSuggestionsRequest(session_id=suggesting.id)).suggestions, what="a suggestion")
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=suggesting.id))
    wait_until_idle(stack, suggesting.id)
    [suggestion] = stack.api.ListSuggestions(pb.ListSuggestionsRequest(session_id=suggesting.id)).suggestions

    assert next(e for e in executions(stack, sleeping.id) if e.id == running.id).status == pb.EXECUTION_STATUS_RUNNING
    halted = corral(stack, "halt", "--reason", "incident 42")
    assert halted.returncode == 0, halted.stderr
    assert "halted: incident 42; 1 running sandboxes stopped" in halted.stdout and "the signer is halted too" in halted.stdout

    # The running sandbox was killed: its execution ended, saying why.
    ended = wait_for(lambda: next((e for e in executions(stack, sleeping.id) if e.id == running.id and e.status != pb.EXECUTION_STATUS_RUNNING), None),
                     timeout=30, what="the sleeper's execution to end")
    assert ended.status == pb.EXECUTION_STATUS_INTERRUPTED and ended.error == "halted by the kill switch: incident 42"

    # The orchestrator refuses to sign before it asks the signer: nothing reaches the audit log.
    before = audit_lines(stack)
    refused = approved_suggestion(stack, suggestion.id)
    assert refused.status == pb.SUGGESTION_STATUS_FAILED and "the platform is halted (kill switch: incident 42)" in refused.error
    assert audit_lines(stack) == before
    # And the signer refuses on its own, to anyone.
    direct = sign_directly(stack, wallet)
    assert direct.code() == grpc.StatusCode.PERMISSION_DENIED and "halted" in direct.details()

    # Nothing is scheduled while halted, also after a restart.
    stack.restart_orchestrator()
    assert "halted since" in corral(stack, "status").stdout and "incident 42" in corral(stack, "status").stdout
    count = len(executions(stack, sleeping.id))
    time.sleep(3)  # three scheduling intervals of this stack
    assert len(executions(stack, sleeping.id)) == count

    resumed = corral(stack, "resume")
    assert resumed.returncode == 0 and resumed.stdout.strip() == "resumed"
    wait_for(lambda: len(executions(stack, sleeping.id)) > count, what="the sleeper to run again")
    assert corral(stack, "status").stdout.splitlines()[0] == "running"
    assert sign_directly(stack, wallet) is None  # the signer signs again
    stack.api.StopSession(pb.StopSessionRequest(session_id=sleeping.id))


def test_resuming_the_platform_never_lifts_the_wallet_owners_halt(stack):
    wallet = stack.create_wallet()
    home = ["signer", "--home", str(stack.signer_home), "--passphrase-file", str(stack.passphrase_file)]
    stack.corral(*home, "halt")  # the owner, on the signer's own files
    try:
        assert corral(stack, "halt", "--reason", "drill").returncode == 0
        resumed = corral(stack, "resume")
        assert "the wallet owner halted the signer" in resumed.stdout
        assert corral(stack, "status").stdout.splitlines()[0] == "running"  # the platform runs again ...
        assert "halted" in sign_directly(stack, wallet).details()  # ... but the signer still refuses
    finally:
        stack.corral(*home, "resume")
    assert sign_directly(stack, wallet) is None
