"""Positions and ledger for an ERC-20 starting asset on anvil: a session's token position
is its allocation plus the Transfer events of its own confirmed transactions, equal to
what the chain says moved; a second session on the same wallet is untouched; allocation
is checked against the token balance read from the chain."""

from __future__ import annotations

import json

import grpc
import pytest
from eth_utils import to_checksum_address
from web3 import Web3

from corral.v1 import orchestrator_pb2 as pb
from devtools import contracts
from devtools.devstack import DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import agent_from_template, finished, log_lines, wait_for, wait_until_idle

TOKENER = REPO_ROOT / "tests" / "agents" / "tokener"
RECIPIENT = "0x00000000000000000000000000000000000000aa"
MINTED, FIRST_ALLOCATION, SECOND_ALLOCATION, PER_RUN = 10_000_000, 5_000_000, 2_000_000, 250_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with DevStack(tmp_path_factory.mktemp("tokens"), minute_seconds=1.0) as stack:
        yield stack


def tokener(tmp_path, name: str, token: str):
    return agent_from_template(TOKENER, tmp_path / name, name=name, token=token)


def test_token_positions_follow_the_chain_and_sessions_stay_apart(stack, agent_image, tmp_path):
    token = contracts.deploy(stack.web3, "TestToken", "Test USD", "TUSD", 6)
    erc20 = contracts.at(stack.web3, "TestToken", token)
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)  # gas
    erc20.functions.mint(to_checksum_address(wallet), MINTED).transact({"from": stack.web3.eth.accounts[0]})
    stack.set_policy(wallet, {"allowed_chain_ids": [31337], "contracts": [{"address": token, "selectors": ["0xa9059cbb"]}]})

    payer = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(tokener(tmp_path, "Payer", token)))).agent
    holder = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(tokener(tmp_path, "Holder", token)))).agent
    paying = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=payer.id, wallet_address=wallet, settings={"amount": str(PER_RUN), "recipient": RECIPIENT},
        allocation_amount=str(FIRST_ALLOCATION),
    )).session
    holding = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=holder.id, wallet_address=wallet, allocation_amount=str(SECOND_ALLOCATION)
    )).session
    # Only 3,000,000 of the token is left unallocated on the wallet.
    with pytest.raises(grpc.RpcError) as too_much:
        third = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(tokener(tmp_path, "Greedy", token)))).agent
        stack.api.StartSession(pb.StartSessionRequest(agent_id=third.id, wallet_address=wallet, allocation_amount="3000001"))
    assert too_much.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "3000000 unallocated" in too_much.value.details()

    runs = wait_for(lambda: len(r := finished(stack, paying.id)) >= 2 and r, timeout=180, what="two paying runs")
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=paying.id))
    wait_until_idle(stack, paying.id)
    paid = len([tx for tx in stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=paying.id)).transactions
                if tx.status == pb.TRANSACTION_STATUS_CONFIRMED])
    assert paid >= 2
    for run in runs[:2]:
        assert json.loads(log_lines(run)[0]) == {"sent": True, "error": None}
    second = json.loads(log_lines(runs[1])[1])
    assert second == {"token": str(FIRST_ALLOCATION - 2 * PER_RUN), "ledger": 2}

    # The chain, read independently, agrees with the session's ledger.
    on_chain = erc20.functions.balanceOf(Web3.to_checksum_address(wallet)).call()
    assert on_chain == MINTED - paid * PER_RUN
    assert erc20.functions.balanceOf(Web3.to_checksum_address(RECIPIENT)).call() == paid * PER_RUN
    positions = {s.id: s for s in stack.api.ListSessions(pb.ListSessionsRequest()).sessions}
    assert positions[holding.id].allocation.current_qty == str(SECOND_ALLOCATION)
    holder_runs = finished(stack, holding.id)
    assert holder_runs and json.loads(log_lines(holder_runs[-1])[0]) == {"token": str(SECOND_ALLOCATION), "ledger": 0}
