"""Swaps for real on anvil, through a Uniswap-V2-compatible pair and router (contracts/):
a DCA agent buys a token every run; its positions equal the balances read independently
from the chain, its ledger matches the receipts, and a second agent on the same wallet is
untouched. Stale quotes and a price-impact filter are refused with Circuit's codes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import SwapMarket, agent_from_template, approved_suggestion, finished, log_lines, wait_for, wait_until_idle

DCA = REPO_ROOT / "tests" / "agents" / "dca"
TOKENER = REPO_ROOT / "tests" / "agents" / "tokener"
SWAP_SELECTOR = "0x" + function_signature_to_4byte_selector("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)").hex()
PER_RUN, DCA_ALLOCATION, HOLDER_ALLOCATION, MINTED = 100_000, 500_000, 300_000, 1_000_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # A short receipt wait, so that a step broadcast but not mined is reported (as delayed) quickly.
    with DevStack(tmp_path_factory.mktemp("swaps"), minute_seconds=1.0, uniswap=True, swaps={"quote_ttl_seconds": 4},
                  chain={"receipt_timeout_seconds": 5.0}) as stack:
        yield stack


@pytest.fixture(scope="module")
def market(stack):
    return SwapMarket(stack)


def agent(stack, agent_image, tmp_path, template: Path, name: str, **fields) -> int:
    folder = agent_from_template(template, tmp_path / name, name=name, **fields)
    return stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(folder))).agent.id


def trading_wallet(stack, market, approvals: bool = True) -> str:
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    owner = stack.web3.eth.accounts[0]
    market.erc20[market.stable].functions.mint(to_checksum_address(wallet), MINTED).transact({"from": owner})
    stack.set_policy(wallet, {
        "allowed_chain_ids": [31337],
        "approvals": [{"token": market.stable, "spender": stack.uniswap_router, "max_amount": str(PER_RUN)}] if approvals else [],
        "contracts": [{"address": stack.uniswap_router, "selectors": [SWAP_SELECTOR]},
                      {"address": market.stable, "selectors": ["0xa9059cbb"]}],
    })
    return wallet


def records(run) -> list[dict]:
    return [json.loads(line) for line in log_lines(run)]


def test_dca_positions_equal_the_chain_and_a_second_agent_is_untouched(stack, market, agent_image, tmp_path):
    wallet = trading_wallet(stack, market)
    dca = agent(stack, agent_image, tmp_path, DCA, "Dca", stable=market.stable)
    holder = agent(stack, agent_image, tmp_path, TOKENER, "Holder", token=market.stable)
    buying = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=dca, wallet_address=wallet, settings={"token": market.token}, allocation_amount=str(DCA_ALLOCATION))).session
    holding = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=holder, wallet_address=wallet, allocation_amount=str(HOLDER_ALLOCATION))).session

    wait_for(lambda: len(finished(stack, buying.id)) >= 2, timeout=180, what="two DCA runs")
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=buying.id))
    wait_until_idle(stack, buying.id)
    done = finished(stack, buying.id)
    swaps = len(done)
    for run in done:
        result, _ = records(run)
        assert result["status"] == "success", records(run)
    last = records(done[-1])[1]
    bought = market.balance(market.token, wallet)
    assert bought > 0
    assert last == {"stable": str(DCA_ALLOCATION - swaps * PER_RUN), "token": str(bought), "ledger": 2 * swaps}
    assert market.balance(market.stable, wallet) == MINTED - swaps * PER_RUN
    # Each run: an approve of exactly the amount, then the swap; all confirmed.
    txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=buying.id)).transactions
    assert len(txs) == 2 * swaps and all(t.status == pb.TRANSACTION_STATUS_CONFIRMED for t in txs)
    for tx in txs:
        receipt = stack.web3.eth.get_transaction_receipt(tx.tx_hash)
        assert receipt.status == 1 and receipt["from"] == wallet
    holder_runs = finished(stack, holding.id)
    assert holder_runs and json.loads(log_lines(holder_runs[-1])[0]) == {"token": str(HOLDER_ALLOCATION), "ledger": 0}


def test_stale_quotes_and_price_impact_are_refused_with_their_codes(stack, market, agent_image, tmp_path):
    wallet = trading_wallet(stack, market)
    slow = agent(stack, agent_image, tmp_path, DCA, "Slow", stable=market.stable)
    picky = agent(stack, agent_image, tmp_path, DCA, "Picky", stable=market.stable)
    stale = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=slow, wallet_address=wallet, settings={"token": market.token, "wait_seconds": "6"}, allocation_amount="200000")).session
    impact = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=picky, wallet_address=wallet, settings={"token": market.token, "max_impact": "0.00001"}, allocation_amount="200000")).session
    stale_run = wait_for(lambda: finished(stack, stale.id), timeout=120, what="the slow run")[0]
    impact_run = wait_for(lambda: finished(stack, impact.id), what="the picky run")[0]
    for session in (stale, impact):
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    assert records(stale_run)[0]["code"] == "QUOTE_STALE" and records(stale_run)[0]["status"] is None
    assert records(impact_run)[0] == {"quote": False, "code": "PRICE_IMPACT_TOO_HIGH", "error": records(impact_run)[0]["error"]}
    assert stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=stale.id)).transactions == []
    assert market.balance(market.token, wallet) == 0


def test_in_manual_mode_a_swap_waits_for_approval_then_runs_once(stack, market, agent_image, tmp_path):
    wallet = trading_wallet(stack, market)
    dca = agent(stack, agent_image, tmp_path, DCA, "Careful", stable=market.stable)
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=dca, wallet_address=wallet, settings={"token": market.token}, allocation_amount="200000",
        execution_mode=common_pb2.EXECUTION_MODE_MANUAL,
    )).session
    run = wait_for(lambda: finished(stack, session.id), what="a manual run")[0]
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))
    assert records(run)[0]["status"] is None  # suggested, not executed
    assert market.balance(market.token, wallet) == 0
    [suggestion] = stack.api.ListSuggestions(pb.ListSuggestionsRequest(session_id=session.id)).suggestions
    assert suggestion.kind == pb.SUGGESTION_KIND_SWAP and suggestion.details["engine"] == "uniswap-v2"
    time.sleep(5)  # a person takes longer than the quote lives (4 s here): approval quotes again at no worse a price
    approved = approved_suggestion(stack, suggestion.id)
    assert approved.status == pb.SUGGESTION_STATUS_EXECUTED, approved.error
    assert approved.result["status"] == "success"
    bought = market.balance(market.token, wallet)
    assert bought > 0 and market.balance(market.stable, wallet) == MINTED - PER_RUN
    assert len(stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions) == 2


def test_a_failed_step_stops_the_ones_after_it(stack, market, agent_image, tmp_path):
    """Spot-first: the wallet's policy refuses the approve, so the swap is never sent, and
    the result says which step failed and which were not sent."""
    wallet = trading_wallet(stack, market, approvals=False)
    dca = agent(stack, agent_image, tmp_path, DCA, "Refused", stable=market.stable)
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=dca, wallet_address=wallet, settings={"token": market.token}, allocation_amount="200000")).session
    run = wait_for(lambda: finished(stack, session.id), what="a run")[0]
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    result = records(run)[0]
    assert result["status"] == "failure" and result["steps"] == ["failed"]
    assert result["error"][0].startswith("step 1 of 2 (approve ") and result["error"][1].endswith("; not sent: steps 2..2")
    txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
    assert [t.status for t in txs] == [pb.TRANSACTION_STATUS_REJECTED]  # the approve, refused by the signer; no swap
    assert "approval-limit" in txs[0].error
    assert market.balance(market.stable, wallet) == MINTED and market.balance(market.token, wallet) == 0


def test_a_step_not_mined_in_time_is_delayed_and_nothing_after_it_is_sent(stack, market, agent_image, tmp_path):
    """The node accepts the approve but mines nothing: the swap reports `delayed` with the
    approve's hash (it may still land), and the swap itself is never sent."""
    wallet = trading_wallet(stack, market)
    dca = agent(stack, agent_image, tmp_path, DCA, "Delayed", stable=market.stable)
    stack.web3.provider.make_request("evm_setAutomine", [False])
    try:
        session = stack.api.StartSession(pb.StartSessionRequest(
            agent_id=dca, wallet_address=wallet, settings={"token": market.token}, allocation_amount="200000")).session
        run = wait_for(lambda: finished(stack, session.id), what="a run")[0]
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
        txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
    finally:
        stack.web3.provider.make_request("evm_setAutomine", [True])
        stack.web3.provider.make_request("evm_mine", [])
    result = records(run)[0]
    assert result["status"] == "delayed" and result["steps"] == ["pending"], result
    assert result["error"][0].startswith("step 1 of 2 (approve ") and result["error"][1].endswith("; not sent: steps 2..2")
    assert [t.status for t in txs] == [pb.TRANSACTION_STATUS_SIGNED]  # the approve, broadcast; no swap
    # Mined once the node mines again: it was only late.
    assert stack.web3.eth.get_transaction_receipt(txs[0].tx_hash).status == 1
