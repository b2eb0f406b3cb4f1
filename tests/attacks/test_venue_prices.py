"""Venue orders bounded by the agent's own numbers. An earlier signer valued a Hyperliquid
order at the agent's limit price x size (a SELL of 100,000 BTC at 0.01 passed a 1,000 USD
cap; negative sizes passed) and a Polymarket SELL by the collateral it receives (10^15
share units sold for one unit of USDC, to a named taker, never expiring, were signed). The
venues here are stand-ins that follow the venues' published APIs (tests/standins/)."""

from __future__ import annotations

import dataclasses
import json
import time

import grpc
import pytest

from corral.v1 import signer_pb2
from devtools.devstack import DevStack
from tests.attacks.conftest import attack, attacker_agent, funded_wallet, refused, signer_stub
from tests.standins.hyperliquid import HyperliquidStandIn
from tests.standins.polymarket import PolymarketChain, PolymarketStandIn

EXCHANGE = "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"
NEG_RISK_EXCHANGE = "0xC5d563A36AE78145C45a50134d48A1215220f80a"
HYPERLIQUID_POLICY = {"mainnet": True, "max_notional_per_order": "1000", "assets": {
    "BTC": {"index": 0, "max_size": "0.5", "reference_price": "60000"}, "ETH": {"index": 1, "max_size": "5", "reference_price": "3000"}}}


@pytest.fixture(scope="module")
def hyperliquid():
    with HyperliquidStandIn(mainnet=True) as venue:
        venue.set_mid("BTC", "60000")
        yield venue


@pytest.fixture(scope="module")
def stack(tmp_path_factory, hyperliquid, base_image):
    with DevStack(tmp_path_factory.mktemp("attacks-venues"), minute_seconds=1.0,
                  venues={"hyperliquid": {"api_url": hyperliquid.url, "mainnet": True}}) as stack:
        yield stack


@pytest.fixture(scope="module")
def chain(stack):
    return PolymarketChain(stack)


@pytest.fixture(scope="module")
def polymarket(stack, chain, hyperliquid):
    market = dataclasses.replace(chain.open, tick_size="0.001")
    with PolymarketStandIn(stack.rpc_url, 31337, EXCHANGE, chain.ctf.address, chain.usdc.address,
                           neg_risk_exchange_address=NEG_RISK_EXCHANGE) as venue:
        venue.add_market(market)
        stack.venues = {"hyperliquid": {"api_url": hyperliquid.url, "mainnet": True}, "polymarket": {
            "clob_url": venue.url, "data_url": venue.url, "network": "ethereum:31337", "exchange_address": EXCHANGE,
            "neg_risk_exchange_address": NEG_RISK_EXCHANGE, "conditional_tokens_address": chain.ctf.address,
            "collateral_address": chain.usdc.address}}
        stack.restart_orchestrator()
        yield venue, market


@pytest.fixture(scope="module")
def attacker(stack, agent_image, tmp_path_factory, polymarket) -> int:
    return attacker_agent(stack, agent_image, tmp_path_factory.mktemp("attacker") / "agent")


def orders_posted(venue: HyperliquidStandIn) -> int:
    return sum(1 for r in venue.exchange_requests if r["action"]["type"] == "order")


def test_a_hyperliquid_order_is_valued_at_the_owners_price_not_the_agents(stack, hyperliquid, attacker):
    wallet = funded_wallet(stack, {"hyperliquid": HYPERLIQUID_POLICY})
    hyperliquid.fund_perp(wallet, "1000000")
    posted = orders_posted(hyperliquid)
    huge, one_coin, small = attack(stack, attacker, wallet, [
        ["hyperliquid.place_order", [{"coin": "BTC", "side": "sell", "size": 100000, "price": 0.1, "market": "perp"}]],
        ["hyperliquid.place_order", [{"coin": "BTC", "side": "sell", "size": 0.5, "price": 0.1, "market": "perp"}]],
        ["hyperliquid.place_order", [{"coin": "BTC", "side": "sell", "size": 0.01, "price": 59000, "market": "perp"}]],
    ])
    assert not huge["success"] and "hyperliquid-size" in huge["error"]
    # Half a BTC "at 0.1" is worth 30,000 at the owner's reference price: over the 1,000 cap.
    assert not one_coin["success"] and "hyperliquid-notional" in one_coin["error"]
    assert small["success"], small  # 0.01 BTC: 600 USD
    assert orders_posted(hyperliquid) == posted + 1, "refused orders must never reach the venue"


def test_a_compromised_orchestrator_cannot_have_malformed_sizes_signed(stack):
    wallet = stack.create_wallet()
    stack.set_policy(wallet, {"hyperliquid": HYPERLIQUID_POLICY})
    signer = signer_stub(stack)
    for size, price in [("-100000", "60000"), ("1e5", "0.01"), ("NaN", "1"), ("0.1", "-60000"), ("0", "60000")]:
        action = json.dumps({"type": "order", "grouping": "na", "orders": [
            {"a": 0, "b": False, "p": price, "s": size, "r": False, "t": {"limit": {"tif": "Ioc"}}}]})
        refusal = refused(signer.SignHyperliquidAction, signer_pb2.SignHyperliquidActionRequest(
            wallet_address=wallet, action_json=action, nonce=int(time.time() * 1000), mainnet=True))
        assert refusal.code() == grpc.StatusCode.INVALID_ARGUMENT, (size, price, refusal.details())


def test_a_polymarket_sell_cannot_give_shares_away(stack, chain, polymarket, attacker):
    venue, market = polymarket
    wallet = funded_wallet(stack, {"allowed_chain_ids": [31337], "polymarket": {
        "exchanges": [{"chain_id": 31337, "address": EXCHANGE}], "max_collateral_per_order": "50000000",
        "max_shares_per_order": "100000000", "min_price": "0.05", "max_price": "0.95"}})
    chain.give_outcome_tokens(market, wallet, 200 * 10**6)
    token = market.token_ids[0]
    # The only bid is one the attacker planted: 0.001 a share, deep enough for everything.
    venue.set_book(token, bids=[("0.001", "1000000000")], asks=[("0.6", "1000")])
    shares_before, orders_before = chain.shares_of(wallet, token), len(venue.order_requests)
    everything, cheap = attack(stack, attacker, wallet, [
        ["polymarket.market_order", [{"tokenId": str(token), "size": 40000, "side": "SELL"}]],  # 40 USDC for 40,000 shares
        ["polymarket.market_order", [{"tokenId": str(token), "size": 50, "side": "SELL"}]],
    ])
    assert not everything["success"] and "polymarket-shares" in everything["error"], everything
    assert not cheap["success"] and "polymarket-price" in cheap["error"], cheap  # 50 shares at 0.001
    assert len(venue.order_requests) == orders_before, "refused orders must never reach the venue"
    assert chain.shares_of(wallet, token) == shares_before


def test_a_compromised_orchestrator_cannot_have_give_away_orders_signed(stack):
    wallet = stack.create_wallet()
    stack.set_policy(wallet, {"polymarket": {"exchanges": [{"chain_id": 137, "address": EXCHANGE}], "max_collateral_per_order": "50000000",
                                             "max_shares_per_order": "100000000"}})
    signer = signer_stub(stack)

    def order(**fields):
        base = {"salt": "1", "maker": wallet, "signer": wallet, "taker": "0x" + "00" * 20, "token_id": "7", "maker_amount": "10000000",
                "taker_amount": "5000000", "expiration": str(int(time.time()) + 120), "nonce": "0", "fee_rate_bps": "0", "side": 1,
                "signature_type": 0}
        return signer_pb2.SignPolymarketOrderRequest(wallet_address=wallet, chain_id=137, exchange_address=EXCHANGE,
                                                     order=signer_pb2.PolymarketOrder(**{**base, **fields}))

    assert signer.SignPolymarketOrder(order()).signature  # 10 shares for 5 USDC: within every bound
    for fields, rule in [
        ({"maker_amount": str(10**15), "taker_amount": "1"}, "polymarket-shares"),   # the whole position for one unit
        ({"maker_amount": "100000000", "taker_amount": "1"}, "polymarket-price"),
        ({"taker": "0x000000000000000000000000000000000000bad1"}, "polymarket-taker"),
        ({"expiration": "0"}, "polymarket-expiration"),
        ({"expiration": str(int(time.time()) + 30 * 86_400)}, "polymarket-expiration"),
    ]:
        refusal = refused(signer.SignPolymarketOrder, order(**fields))
        assert refusal.code() == grpc.StatusCode.PERMISSION_DENIED and rule in refusal.details(), (fields, refusal.details())
