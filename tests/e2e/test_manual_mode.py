"""Manual mode on the real stack: every value- or signature-producing SDK call becomes a
suggestion; approving runs it through the auto path exactly once (the transfer lands on
anvil, read back with web3; the signature verifies); rejection, expiry, the agent's
clear_suggested_transactions() and the next run's start discard pending ones."""

from __future__ import annotations

import json

import grpc
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from google.protobuf.json_format import MessageToDict

from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import approved_suggestion, finished, log_lines, wait_for

MANUALIST = REPO_ROOT / "tests" / "agents" / "manualist"
RECIPIENT = "0x000000000000000000000000000000000000dEaD"
PENDING, EXECUTED, REJECTED, EXPIRED, CLEARED = (
    pb.SUGGESTION_STATUS_PENDING, pb.SUGGESTION_STATUS_EXECUTED, pb.SUGGESTION_STATUS_REJECTED,
    pb.SUGGESTION_STATUS_EXPIRED, pb.SUGGESTION_STATUS_CLEARED,
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with DevStack(tmp_path_factory.mktemp("manual"), minute_seconds=2.0) as stack:
        yield stack


@pytest.fixture(scope="module")
def agent_id(stack, agent_image) -> int:
    return stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(MANUALIST))).agent.id


def manual_session(stack: DevStack, agent_id: int, **settings) -> tuple[str, int]:
    wallet = stack.create_wallet()
    stack.set_policy(wallet, {"allowed_chain_ids": [31337], "eip191": {}})
    stack.fund(wallet, 10**18)
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent_id, wallet_address=wallet, execution_mode=common_pb2.EXECUTION_MODE_MANUAL, settings=settings,
    )).session
    return wallet, session.id


def suggestions(stack: DevStack, session_id: int, everything: bool = False) -> list[pb.Suggestion]:
    return list(stack.api.ListSuggestions(pb.ListSuggestionsRequest(session_id=session_id, include_discarded=everything)).suggestions)


def first_run_then_pause(stack: DevStack, session_id: int):
    run = wait_for(lambda: finished(stack, session_id), what="the first run")[0]
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session_id))
    return run


def test_approving_runs_each_suggestion_exactly_once(stack, agent_id):
    wallet, session_id = manual_session(stack, agent_id)
    run = first_run_then_pause(stack, session_id)
    logs = [json.loads(line) for line in log_lines(run)]
    assert logs[0]["tx"]["suggested"] is True and logs[0]["tx"]["tx_hash"] is None
    assert logs[1]["message"]["suggested"] is True
    assert logs[2] == {"bad": False, "error": logs[2]["error"]} and "to_address" in logs[2]["error"]  # refused, not suggested
    assert stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session_id)).transactions == []

    pending = suggestions(stack, session_id)
    assert [s.status for s in pending] == [PENDING, PENDING]
    message, transfer = pending  # newest first
    details = MessageToDict(transfer.details)
    assert details["to"] == RECIPIENT and details["value"] == "1000" and details["message"] == "tip the dead address"
    assert details["simulation"]["succeeded"] is True
    assert logs[0]["tx"]["suggestionId"] == transfer.id and logs[0]["tx"]["to"] == RECIPIENT

    before = stack.web3.eth.get_balance(RECIPIENT)
    approved = approved_suggestion(stack, transfer.id)
    assert approved.status == EXECUTED, approved.error
    tx_hash = approved.result.fields["tx_hash"].string_value
    receipt = stack.web3.eth.get_transaction_receipt(tx_hash)
    assert receipt.status == 1 and receipt["from"] == wallet
    assert stack.web3.eth.get_balance(RECIPIENT) == before + 1000
    with pytest.raises(grpc.RpcError) as again:
        stack.api.ApproveSuggestion(pb.ApproveSuggestionRequest(suggestion_id=transfer.id))
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "only a pending suggestion" in again.value.details()
    assert stack.web3.eth.get_balance(RECIPIENT) == before + 1000  # once, not twice
    assert len(stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session_id)).transactions) == 1

    signed = approved_suggestion(stack, message.id)
    assert signed.status == EXECUTED, signed.error
    signature = signed.result.fields["formatted_signature"].string_value
    assert Account.recover_message(encode_defunct(text="approve me"), signature=signature) == wallet


def test_rejected_cleared_and_expired_suggestions_are_never_executed(stack, agent_id):
    _, session_id = manual_session(stack, agent_id, expires_in_seconds="1")
    first_run_then_pause(stack, session_id)
    # Listed with the discarded ones: on a busy machine the transfer may expire (1 s) before this.
    message, transfer = suggestions(stack, session_id, everything=True)
    rejected = stack.api.RejectSuggestion(pb.RejectSuggestionRequest(suggestion_id=message.id)).suggestion
    assert rejected.status == REJECTED

    def listed():
        statuses = {s.id: s.status for s in suggestions(stack, session_id, everything=True)}
        return statuses if statuses[transfer.id] == EXPIRED else None

    assert wait_for(listed, what="the transfer to pass its expiresAt") == {message.id: REJECTED, transfer.id: EXPIRED}
    for suggestion_id in (message.id, transfer.id):
        with pytest.raises(grpc.RpcError) as refused:
            stack.api.ApproveSuggestion(pb.ApproveSuggestionRequest(suggestion_id=suggestion_id))
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session_id)).transactions == []

    # The next run's start discards whatever is still pending from the one before.
    _, other = manual_session(stack, agent_id)
    wait_for(lambda: len(suggestions(stack, other, everything=True)) >= 4, what="two runs' suggestions")
    statuses = [s.status for s in suggestions(stack, other, everything=True)]
    assert statuses[-2:] == [CLEARED, CLEARED]  # the first run's, oldest last
    stack.api.StopSession(pb.StopSessionRequest(session_id=other))


def test_the_agent_can_clear_its_own_suggestions(stack, agent_id):
    _, session_id = manual_session(stack, agent_id, clear="yes")
    run = first_run_then_pause(stack, session_id)
    assert json.loads(log_lines(run)[-1]) == {"cleared": True}
    assert suggestions(stack, session_id) == []
    assert {s.status for s in suggestions(stack, session_id, everything=True)} == {CLEARED}
    with pytest.raises(grpc.RpcError) as unknown:
        stack.api.ApproveSuggestion(pb.ApproveSuggestionRequest(suggestion_id=10_000))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_an_approval_cut_short_by_a_restart_is_settled(stack, agent_id):
    """A crash between `approving` and the outcome: on restart, a suggestion with no
    transaction is pending again (and can be approved, once); none is left `approving`."""
    import socket
    import sqlite3

    _, session_id = manual_session(stack, agent_id)
    first_run_then_pause(stack, session_id)
    message, transfer = suggestions(stack, session_id)
    with sqlite3.connect(stack.database_path) as db:  # as this replica (default id: the host name) left it
        db.execute("UPDATE suggestions SET status = 'approving', replica_id = ? WHERE id = ?", (socket.gethostname(), transfer.id))
    stack.restart_orchestrator()
    assert {s.id: s.status for s in suggestions(stack, session_id)}[transfer.id] == PENDING
    approved = approved_suggestion(stack, transfer.id)
    assert approved.status == EXECUTED
    assert len(stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session_id)).transactions) == 1
