"""Users of one platform with keys of their own (issue 18, item 2), on the real stack: keys
made by `corral user add` on the orchestrator's database, calls over native gRPC and the
browser port (Connect), a suggestion approved by its wallet's owner and refused to another
user (the chain read back: only the owner's approval moved funds), who did what in the event
feed, and a revoked key refused from its next call."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from web3 import Web3

from corral.v1 import common_pb2, orchestrator_pb2_grpc
from corral.v1 import orchestrator_pb2 as pb
from corral.v1.orchestrator_connect import OrchestratorServiceClient
from corral_cli.approval import approve_and_wait
from devtools.devstack import DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import wait_for

MANUALIST = REPO_ROOT / "tests" / "agents" / "manualist"
RECIPIENT = "0x000000000000000000000000000000000000dEaD"
CONSOLE = "http://127.0.0.1:5173"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with DevStack(tmp_path_factory.mktemp("principals"), api_keys=True, browser_origins=[CONSOLE]) as stack:
        yield stack


def api_as(stack: DevStack, key: str) -> orchestrator_pb2_grpc.OrchestratorServiceStub:
    return orchestrator_pb2_grpc.OrchestratorServiceStub(stack.open_channel(token=key))


def refused(call, *args) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call(*args, timeout=10)
    return raised.value


def browser_call(stack: DevStack, key: str, method: str, request):
    async def once():
        client = OrchestratorServiceClient(f"http://{stack.browser_address}")
        try:
            return await getattr(client, method)(request, headers={"authorization": f"Bearer {key}"}, timeout_ms=10_000)
        except ConnectError as error:
            return error

    return asyncio.run(once())


def test_owners_act_on_their_wallets_and_no_one_else_can(stack, agent_image):
    alices_wallet, bobs_wallet = stack.create_wallets(2)
    stack.fund(alices_wallet, 10**18)
    alice = stack.add_user("alice", ["operator", "approver"], [alices_wallet])
    bob = stack.add_user("bob", ["operator", "approver"], [bobs_wallet])
    viewer = stack.add_user("vera", ["viewer"], [alices_wallet])
    listed = stack.user_command("list")
    assert "alice" in listed.stdout and "operator" in listed.stdout and alice[-43:] not in listed.stdout

    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(MANUALIST))).agent  # the stack's admin
    as_alice, as_bob = api_as(stack, alice), api_as(stack, bob)
    error = refused(as_alice.RegisterAgent, pb.RegisterAgentRequest(image="x"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and "needs the admin role" in error.details()
    error = refused(as_bob.StartSession, pb.StartSessionRequest(agent_id=agent.id, wallet_address=alices_wallet))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and "does not own wallet" in error.details()

    session = as_alice.StartSession(pb.StartSessionRequest(
        agent_id=agent.id, wallet_address=alices_wallet, execution_mode=common_pb2.EXECUTION_MODE_MANUAL), timeout=30).session
    pending = wait_for(lambda: [s for s in as_alice.ListSuggestions(pb.ListSuggestionsRequest(session_id=session.id)).suggestions
                                if s.kind == pb.SUGGESTION_KIND_TRANSACTION], what="a suggested transfer")
    suggestion_id = pending[0].id

    # Bob, on either port, and Vera (no approver role) cannot touch it; nothing moves.
    for call, request in ((as_bob.ApproveSuggestion, pb.ApproveSuggestionRequest(suggestion_id=suggestion_id)),
                          (as_bob.GetSession, pb.GetSessionRequest(session_id=session.id)),
                          (as_bob.PauseSession, pb.PauseSessionRequest(session_id=session.id))):
        assert refused(call, request).code() == grpc.StatusCode.NOT_FOUND
    answer = browser_call(stack, bob, "approve_suggestion", pb.ApproveSuggestionRequest(suggestion_id=suggestion_id))
    assert isinstance(answer, ConnectError) and answer.code == Code.NOT_FOUND
    answer = browser_call(stack, viewer, "approve_suggestion", pb.ApproveSuggestionRequest(suggestion_id=suggestion_id))
    assert isinstance(answer, ConnectError) and answer.code == Code.PERMISSION_DENIED
    assert browser_call(stack, bob, "list_sessions", pb.ListSessionsRequest()).sessions == []
    assert [s.id for s in browser_call(stack, viewer, "list_sessions", pb.ListSessionsRequest()).sessions] == [session.id]
    web3 = Web3(Web3.HTTPProvider(stack.rpc_url))
    before = web3.eth.get_balance(RECIPIENT)
    assert as_alice.GetSuggestion(pb.GetSuggestionRequest(suggestion_id=suggestion_id)).suggestion.status == pb.SUGGESTION_STATUS_PENDING

    # Alice approves: the transfer lands, and the feed says she did it.
    done = approve_and_wait(as_alice, suggestion_id)
    assert done.status == pb.SUGGESTION_STATUS_EXECUTED, done.error
    assert web3.eth.get_balance(RECIPIENT) == before + 1000
    as_alice.PauseSession(pb.PauseSessionRequest(session_id=session.id), timeout=10)
    feed = _events_until_caught_up(as_alice, session.id)
    by = {(e.change, e.actor) for e in feed}
    assert ("running", "alice") in by and ("approving", "alice") in by and ("paused", "alice") in by
    assert ("executed", "") in by  # the platform carried the approval out

    # Revoked: refused from the next call on, on both ports.
    assert stack.user_command("revoke", "alice").returncode == 0
    assert refused(as_alice.GetSession, pb.GetSessionRequest(session_id=session.id)).code() == grpc.StatusCode.UNAUTHENTICATED
    answer = browser_call(stack, alice, "get_session", pb.GetSessionRequest(session_id=session.id))
    assert isinstance(answer, ConnectError) and answer.code == Code.UNAUTHENTICATED


def _events_until_caught_up(api, session_id: int) -> list[pb.Event]:
    """The session's events so far: read until the stream's first heartbeat (replay done)."""
    got = []
    for event in api.WatchEvents(pb.WatchEventsRequest(session_id=session_id, after_event_id=0, heartbeat_seconds=1), timeout=30):
        if event.WhichOneof("object") == "heartbeat":
            break
        got.append(event)
    return got
