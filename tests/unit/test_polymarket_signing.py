"""Polymarket CLOB orders: the signer's signature equals py-order-utils' reference vector
(its tests' public key, order and salt, on the CTF Exchange), malformed orders are named,
and the policy decides from the order the signer itself parses."""

from __future__ import annotations

import pytest
from eth_keys import keys

from corral.v1 import signer_pb2
from signer import polymarket
from signer.policy import PolymarketPolicy, SpendLedger, WalletPolicy, decide_polymarket_order

# Anvil's first development key: publicly known.
KEY = keys.PrivateKey(bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"))
MAKER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
EXCHANGE = "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"
ZERO = "0x" + "00" * 20
REFERENCE_SIGNATURE = ("0x3874d2cfe79c0e82577f4f76ec58d950522ee5923a6f08441927d382c8178a5a"
                       "2190fd4d5c49705e94d75999a58ec843f94a432e87ebc15cdb2186d315b3cc201b")


def request(chain_id: int = 80001, exchange: str = EXCHANGE, **fields) -> signer_pb2.SignPolymarketOrderRequest:
    order = {"salt": "479249096354", "maker": MAKER, "signer": MAKER, "taker": ZERO, "token_id": "1234", "maker_amount": "100000000",
             "taker_amount": "50000000", "expiration": "0", "nonce": "0", "fee_rate_bps": "100", "side": 0, "signature_type": 0, **fields}
    return signer_pb2.SignPolymarketOrderRequest(wallet_address=MAKER, chain_id=chain_id, exchange_address=exchange,
                                                 order=signer_pb2.PolymarketOrder(**order))


def test_signature_equals_the_reference_vector():
    assert polymarket.sign(KEY, polymarket.parse(request())).signature == REFERENCE_SIGNATURE


@pytest.mark.parametrize("fields, fragment", [
    ({"maker": "0x1234"}, "order.maker '0x1234' must be a 0x-prefixed 20-byte address"),
    ({"maker_amount": "1.5"}, "order.maker_amount '1.5' must be a non-negative integer string"),
    ({"side": 2}, "order.side 2 must be 0 (BUY) or 1 (SELL)"),
    ({"signature_type": 9}, "order.signature_type 9 must be one of"),
])
def test_malformed_orders_are_named(fields, fragment):
    with pytest.raises(polymarket.MalformedOrder, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        polymarket.parse(request(**fields))



NOW = 1_700_000_000
POLICY = WalletPolicy(polymarket=PolymarketPolicy(
    exchanges=[{"chain_id": 80001, "address": EXCHANGE}], max_collateral_per_order="100000000", max_shares_per_order="250000000",
    token_ids=["1234"], max_fee_rate_bps=100, min_price="0.01", max_price="0.99", max_ttl_seconds=600,
))


def decide(policy=POLICY, ledger=None, **kwargs):
    order = polymarket.parse(request(**{"expiration": str(NOW + 300), "taker_amount": "200000000", **kwargs}))
    return decide_polymarket_order(policy, MAKER, order, ledger or SpendLedger(), float(NOW))


@pytest.mark.parametrize("kwargs, rule", [
    ({}, "polymarket"),                                                   # BUY 200 shares paying 100 USDC: at the cap
    ({"maker_amount": "100000001", "taker_amount": "200000000"}, "polymarket-collateral"),
    ({"side": 1, "maker_amount": "200000000", "taker_amount": "100000000"}, "polymarket"),   # SELL 200 shares for 100 USDC
    ({"side": 1, "maker_amount": "200000000", "taker_amount": "100000001"}, "polymarket-collateral"),
    ({"side": 1, "maker_amount": "250000001", "taker_amount": "100000000"}, "polymarket-shares"),
    ({"side": 1, "maker_amount": str(10**15), "taker_amount": "1"}, "polymarket-shares"),    # the whole position for 1 unit
    ({"side": 1, "maker_amount": "200000000", "taker_amount": "1000000"}, "polymarket-price"),  # 0.005 a share
    ({"maker_amount": "100000000", "taker_amount": "100000000"}, "polymarket-price"),           # BUY at 1.00
    ({"maker_amount": "0", "taker_amount": "100000000"}, "polymarket-price"),
    ({"taker": "0x" + "33" * 20}, "polymarket-taker"),
    ({"expiration": "0"}, "polymarket-expiration"),
    ({"expiration": str(NOW + 601)}, "polymarket-expiration"),
    ({"token_id": "99"}, "polymarket-token"),
    ({"fee_rate_bps": "101"}, "polymarket-fee"),
    ({"maker": "0x" + "22" * 20}, "polymarket-funder"),
    ({"signer": "0x" + "22" * 20}, "polymarket-signer"),
    ({"chain_id": 137}, "polymarket-exchange"),
    ({"exchange": "0x" + "44" * 20}, "polymarket-exchange"),
])
def test_policy_decides_from_the_parsed_order(kwargs, rule):
    decision = decide(**kwargs)
    assert decision.rule == rule and decision.allowed == (rule == "polymarket"), decision.reason


def test_rolling_value_caps_count_each_orders_maker_amount():
    capped = WalletPolicy(polymarket={**POLICY.polymarket.model_dump(), "value_caps": [{"amount": "250", "window_seconds": 3600}]})
    ledger = SpendLedger()
    for _ in range(2):
        decision = decide(capped, ledger)
        assert decision.allowed
        ledger.reserve(MAKER, decision.commitments, float(NOW), 0)
    assert decide(capped, ledger).rule == "spend-cap"  # 300 USDC at risk > 250


def test_no_policy_denies():
    assert decide(WalletPolicy()).rule == "default-deny"
