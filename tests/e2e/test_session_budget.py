"""Per-session budgets: opened by the signer when a session starts, bounded by the wallet
owner's policy, and enforced by the signer on every transaction of that session."""

from __future__ import annotations

import grpc
import pytest
from eth_account import Account

from corral.v1 import orchestrator_pb2 as pb
from tests.conftest import REPO_ROOT
from tests.helpers import finished, log_lines, start_session, wait_for

EXAMPLE_AGENT = REPO_ROOT / "images" / "example-agent"
ALLOCATION = 10**16  # the example agent's minimumAmount


def budgeted_wallet(stack, tmp_path, max_amount: int) -> str:
    wallet = stack.create_wallet(31337)
    stack.fund(wallet, 10**17)
    stack.set_policy(wallet, {"allowed_chain_ids": [31337], "session_budgets": [{"chain_id": 31337, "max_amount": str(max_amount)}]})
    return wallet


def test_a_budget_over_the_wallet_cap_refuses_the_session(stack, agent_image, tmp_path):
    wallet = budgeted_wallet(stack, tmp_path, ALLOCATION // 10)
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(EXAMPLE_AGENT))).agent
    before = stack.api.ListSessions(pb.ListSessionsRequest()).sessions
    with pytest.raises(grpc.RpcError) as refused:
        stack.api.StartSession(pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "session-budget" in refused.value.details()
    assert stack.api.ListSessions(pb.ListSessionsRequest()).sessions == before


def test_the_signer_stops_a_session_at_its_budget(stack, agent_image, tmp_path):
    wallet = budgeted_wallet(stack, tmp_path, ALLOCATION)
    recipient = Account.create().address
    tip = 6 * 10**15  # two tips overrun the 10**16 budget
    _, session = start_session(stack, agent_image(EXAMPLE_AGENT), wallet, {"recipient": recipient, "tip_wei": str(tip)})
    runs = wait_for(lambda: (r := finished(stack, session.id)) and len(r) >= 2 and r, what="two runs")
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    assert log_lines(runs[0])[-1].startswith("tip sent: 0x")
    assert "session-budget" in log_lines(runs[1])[-1]
    assert stack.web3.eth.get_balance(recipient) == tip  # the second tip was never signed
