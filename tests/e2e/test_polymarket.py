"""Polymarket through the platform: an agent's `platforms.polymarket` calls reach a stand-in
for Polymarket's CLOB and data APIs (tests/standins/polymarket.py, following the published
documents) with orders the signer signed, exactly as py-clob-client would post them; an
order over the wallet's cap is refused by the signer and never reaches the venue; a
redemption is a real `redeemPositions` transaction on a Conditional Tokens contract on anvil
(USDC read back with web3); manual mode turns orders into suggestions."""

from __future__ import annotations

import json
import time

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3

from corral.v1 import common_pb2, signer_pb2
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from signer import polymarket
from tests.conftest import REPO_ROOT
from tests.helpers import agent_from_template, approved_suggestion, venuer_results
from tests.standins.polymarket import PolymarketChain, PolymarketStandIn

VENUER = REPO_ROOT / "tests" / "agents" / "venuer"
EXCHANGE = "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"
NEG_RISK_EXCHANGE = "0xC5d563A36AE78145C45a50134d48A1215220f80a"
USDC = 10**6
ALLOCATION = 100 * USDC
CAP = 50 * USDC


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with DevStack(tmp_path_factory.mktemp("polymarket"), minute_seconds=1.0) as stack:
        yield stack


@pytest.fixture(scope="module")
def chain(stack):
    return PolymarketChain(stack)


@pytest.fixture(scope="module")
def venue(stack, chain):
    with PolymarketStandIn(stack.rpc_url, 31337, EXCHANGE, chain.ctf.address, chain.usdc.address,
                           neg_risk_exchange_address=NEG_RISK_EXCHANGE) as venue:
        for market in (chain.resolved, chain.open):
            venue.add_market(market)
        stack.venues = {"polymarket": {
            "clob_url": venue.url, "data_url": venue.url, "network": "ethereum:31337", "exchange_address": EXCHANGE,
            "neg_risk_exchange_address": NEG_RISK_EXCHANGE, "conditional_tokens_address": chain.ctf.address,
            "collateral_address": chain.usdc.address,
        }}
        stack.restart_orchestrator()
        yield venue


def trading_wallet(stack, chain) -> str:
    """A fresh wallet holding 100 USDC whose policy allows redemptions on the Conditional Tokens
    contract and CLOB orders up to 50 USDC: each test trades from its own, so none sees another's fills."""
    address = stack.create_wallet()
    stack.set_policy(address, {
        "allowed_chain_ids": [31337], "max_native_value_per_tx": "0",
        "contracts": [{"address": chain.ctf.address, "selectors": ["0x" + polymarket_redeem_selector()]}],
        "polymarket": {"exchanges": [{"chain_id": 31337, "address": EXCHANGE}], "max_collateral_per_order": str(CAP),
                       "max_shares_per_order": str(200 * USDC)},
    })
    stack.fund(address, 10**18)
    chain.transact(chain.usdc.functions.mint(Web3.to_checksum_address(address), ALLOCATION), chain.deployer)
    return address


@pytest.fixture(scope="module")
def wallet(stack, chain, venue):
    """A trading wallet that also holds 40 YES of the resolved market and 10 YES of the open one."""
    address = trading_wallet(stack, chain)
    chain.give_outcome_tokens(chain.resolved, address, 40 * USDC)
    chain.give_outcome_tokens(chain.open, address, 10 * USDC)
    chain.resolve_yes(chain.resolved)
    return address


def polymarket_redeem_selector() -> str:
    from orchestrator.actions.venues.polymarket import REDEEM_SELECTOR

    return REDEEM_SELECTOR.hex()


def start_venuer(stack, agent_image, tmp_path, chain, wallet: str, name: str, calls: list, mode: int = common_pb2.EXECUTION_MODE_AUTO):
    folder = agent_from_template(VENUER, tmp_path / name, name=name, network="ethereum:31337", asset=chain.usdc.address, minimum=str(USDC))
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(folder))).agent
    return stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent.id, wallet_address=wallet, settings={"calls": json.dumps(calls)}, execution_mode=mode,
        allocation_amount=str(ALLOCATION) if mode == common_pb2.EXECUTION_MODE_AUTO else str(USDC))).session


def test_orders_positions_and_redemptions_in_auto_mode(stack, agent_image, tmp_path, chain, venue, wallet):
    resolved_yes, open_yes = (str(chain.resolved.token_ids[0]), str(chain.open.token_ids[0]))
    venue.set_book(int(open_yes), bids=[("0.40", "100"), ("0.45", "100")], asks=[("0.55", "100"), ("0.50", "50")])
    usdc_before = chain.usdc_of(wallet)
    posted, accepted = len(venue.order_requests), len(venue.orders)  # whatever other tests sent before
    session = start_venuer(stack, agent_image, tmp_path, chain, wallet, "Predictor", [
        ["polymarket.positions", []],
        ["polymarket.market_order", [{"tokenId": open_yes, "size": 20, "side": "BUY"}]],   # 20 USD at 0.50: 40 shares
        ["polymarket.market_order", [{"tokenId": open_yes, "size": 5, "side": "SELL"}]],   # 5 shares at 0.45
        ["polymarket.market_order", [{"tokenId": open_yes, "size": 60, "side": "BUY"}]],   # over the wallet's 50 USDC cap
        ["polymarket.redeem_positions", [{"tokenIds": [resolved_yes, open_yes]}]],
        ["polymarket.redeem_positions", [{"tokenIds": ["12345"]}]],
    ])
    positions, buy, sell, over_cap, redeemed, not_held = venuer_results(stack, session.id)

    held = {p["tokenId"]: p for p in positions["data"]["positions"]}
    assert held[resolved_yes]["formattedShares"] == "40" and held[resolved_yes]["isRedeemable"] is True
    assert held[open_yes]["shares"] == str(10 * USDC) and held[open_yes]["isRedeemable"] is False
    assert held[resolved_yes]["conditionId"] == chain.resolved.condition_id and held[resolved_yes]["question"] == "Will it rain?"

    # The orders as posted: py-clob-client's body, amounts from its market-price walk and rounding.
    assert buy["success"] and buy["data"]["success"] and buy["data"]["orderInfo"]["side"] == "BUY"
    assert (buy["data"]["orderInfo"]["size"], buy["data"]["orderInfo"]["totalPriceUsd"]) == ("40", "20")
    assert sell["success"] and sell["data"]["orderInfo"]["totalPriceUsd"] == "2.25"
    assert len(venue.order_requests) == posted + 2, "the refused order must never reach the venue"
    first = venue.orders[accepted]
    assert list(first) == ["order", "owner", "orderType"] and first["orderType"] == "FOK"
    order = first["order"]
    assert {k: v for k, v in order.items() if k not in ("salt", "signature", "expiration")} == {
        "maker": wallet, "signer": wallet, "taker": "0x" + "00" * 20, "tokenId": open_yes, "makerAmount": "20000000",
        "takerAmount": "40000000", "nonce": "0", "feeRateBps": "0", "side": "BUY", "signatureType": 0}
    # Unlike py-clob-client's market orders (expiration 0: never), a signed order here expires soon.
    assert time.time() < int(order["expiration"]) <= time.time() + 120
    signed = polymarket.parse(signer_pb2.SignPolymarketOrderRequest(
        chain_id=31337, exchange_address=EXCHANGE, order=signer_pb2.PolymarketOrder(
            salt=str(order["salt"]), maker=order["maker"], signer=order["signer"], taker=order["taker"], token_id=order["tokenId"],
            maker_amount=order["makerAmount"], taker_amount=order["takerAmount"], expiration=order["expiration"], nonce="0",
            fee_rate_bps="0", side=0, signature_type=0)))
    assert Account.recover_message(encode_typed_data(full_message=signed.typed_data()), signature=order["signature"]) == wallet
    assert over_cap["success"] is False and "polymarket-collateral" in over_cap["error"]

    # Redemption: a real transaction; the collateral came back to the wallet, the shares are burned.
    assert redeemed["success"]
    done, pending = redeemed["data"]
    assert done["success"] and done["transactionHash"].startswith("0x") and done["position"]["tokenId"] == resolved_yes
    assert pending["success"] is False and "not redeemable yet" in pending["error"]
    receipt = chain.web3.eth.get_transaction_receipt(done["transactionHash"])
    assert receipt.status == 1 and receipt["to"] == chain.ctf.address
    assert chain.usdc_of(wallet) == usdc_before + 40 * USDC
    assert chain.shares_of(wallet, int(resolved_yes)) == 0 and chain.shares_of(wallet, int(open_yes)) == 10 * USDC
    assert not_held["success"] is False and "holds no position in token(s) 12345" in not_held["error"]
    # The session's ledger counts the redemption's collateral.
    current = stack.api.GetSession(pb.GetSessionRequest(session_id=session.id)).session
    usdc = next(p for p in current.positions if p.asset_address.lower() == chain.usdc.address.lower())
    assert int(usdc.current_qty) == ALLOCATION + 40 * USDC
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))


def test_manual_mode_turns_orders_into_suggestions_that_run_once_approved(stack, agent_image, tmp_path, chain, venue):
    wallet = trading_wallet(stack, chain)
    open_yes = str(chain.open.token_ids[0])
    venue.set_book(int(open_yes), bids=[("0.40", "100")], asks=[("0.60", "100")])
    posted = len(venue.order_requests)
    session = start_venuer(stack, agent_image, tmp_path, chain, wallet, "Suggester", [
        ["polymarket.market_order", [{"tokenId": open_yes, "size": 6, "side": "BUY"}]],
        ["polymarket.market_order", [{"tokenId": "not-a-token", "size": 6, "side": "BUY"}]],
        ["polymarket.market_order", [{"tokenId": open_yes, "size": 7, "side": "BUY"}]],
    ], mode=common_pb2.EXECUTION_MODE_MANUAL)
    suggested, bad, later = venuer_results(stack, session.id)
    assert suggested["success"] and suggested["data"]["suggested"] is True
    assert suggested["data"]["details"] == {"venue": "polymarket", "action": "market_order", "tokenId": open_yes, "side": "BUY",
                                            "size": "6", "sizeUnit": "USD"}
    assert bad["success"] is False and "must be the outcome token id" in bad["error"]
    assert len(venue.order_requests) == posted, "a suggestion reaches the venue only once approved"

    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))  # no next run clears it meanwhile
    approved = approved_suggestion(stack, suggested["data"]["suggestionId"])
    assert approved.status == pb.SUGGESTION_STATUS_EXECUTED, approved.error
    assert len(venue.order_requests) == posted + 1 and venue.orders[-1]["order"]["makerAmount"] == "6000000"
    # Whether or not an earlier test logged the platform in, it is now: make its CLOB
    # credentials stale, and the next approval logs in again, once.
    venue.revoke_api_keys()
    approved = approved_suggestion(stack, later["data"]["suggestionId"])
    assert approved.status == pb.SUGGESTION_STATUS_EXECUTED, approved.error
    assert len(venue.order_requests) == posted + 3, "refused once (401), then posted with fresh credentials"
    assert venue.orders[-1]["order"]["makerAmount"] == "7000000"
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))


def test_a_paper_session_fills_against_the_live_book_on_a_paper_account_and_posts_nothing(stack, agent_image, tmp_path, chain, venue):
    """A paper session's market orders are priced and signed as real ones (the over-cap order is
    refused by the copied policy), then filled all-or-nothing against the CLOB's book, paid from
    the paper wallet's USDC on the session's fork, its shares on a paper account: no order
    reaches the venue and the real wallet's USDC and shares stay as they were."""
    wallet = trading_wallet(stack, chain)
    token = str(chain.open.token_ids[0])
    venue.set_book(int(token), bids=[("0.40", "100"), ("0.45", "100")], asks=[("0.55", "100"), ("0.50", "50")])
    posted = len(venue.order_requests)
    usdc_before = chain.usdc_of(wallet)
    folder = agent_from_template(VENUER, tmp_path / "paper", name="PaperPredictor", network="ethereum:31337", asset=chain.usdc.address,
                                 minimum=str(USDC))
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(folder))).agent
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent.id, wallet_address=wallet, allocation_amount=str(ALLOCATION), paper=True, settings={"calls": json.dumps([
            ["polymarket.market_order", [{"tokenId": token, "size": 30, "side": "BUY"}]],   # 25 USD at 0.50, then 5 at 0.55
            ["polymarket.market_order", [{"tokenId": token, "size": 10, "side": "SELL"}]],  # at 0.45
            ["polymarket.market_order", [{"tokenId": token, "size": 60, "side": "BUY"}]],   # over the copied 50 USDC cap
            ["polymarket.market_order", [{"tokenId": token, "size": 100, "side": "SELL"}]],  # more shares than held
            ["polymarket.market_order", [{"tokenId": token, "size": 45, "side": "BUY"}]],   # 74.5 USDC left on the fork
            ["polymarket.market_order", [{"tokenId": token, "size": 45, "side": "BUY"}]],   # 29.5 left: not enough
            ["polymarket.positions", []],
            ["polymarket.redeem_positions", [{"tokenIds": [token]}]],
        ])})).session
    buy, sell, over_cap, oversold, second, broke, positions, redeem = venuer_results(stack, session.id)

    assert buy["success"], buy
    assert (buy["data"]["orderInfo"]["size"], buy["data"]["orderInfo"]["totalPriceUsd"]) == ("59.090909", "30.000000")
    assert sell["success"] and sell["data"]["orderInfo"]["totalPriceUsd"] == "4.500000"
    assert over_cap["success"] is False and "polymarket-collateral" in over_cap["error"]
    assert oversold["success"] is False and "not enough balance / allowance" in oversold["error"]
    assert second["success"] and second["data"]["orderInfo"]["size"] == "86.363636"  # the live book again: 50 at 0.50, 36.36 at 0.55
    assert broke["success"] is False and "not enough balance / allowance" in broke["error"]  # the fork's USDC, as on the venue
    [held] = positions["data"]["positions"]
    assert (held["tokenId"], held["formattedShares"], held["priceUsd"]) == (token, "135.454545", 0.475)
    assert redeem["success"] is False and "a paper session cannot redeem" in redeem["error"]

    assert len(venue.order_requests) == posted, "a paper session posts no order to the CLOB"
    assert chain.usdc_of(wallet) == usdc_before and chain.shares_of(wallet, int(token)) == 0
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
