"""Venue orders through the real signer process (Hyperliquid L1 actions, Polymarket CLOB
orders): what the wallet's policy allows is signed as the venue verifies it (the signature
recovers to the wallet over the exact typed data); what it refuses is never signed and the
audit log says which rule refused it; malformed requests get a clear error."""

from __future__ import annotations

import json
import time

import grpc
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from corral.v1 import signer_pb2, signer_pb2_grpc
from devtools.devstack import DevStack
from signer import hyperliquid, polymarket

EXCHANGE = "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"


@pytest.fixture(scope="module")
def wallet(signer_only: DevStack) -> str:
    address = signer_only.create_wallet()
    signer_only.set_policy(address, {"allowed_chain_ids": [31337], "hyperliquid": {
        "mainnet": False, "max_notional_per_order": "5000", "assets": {
            "BTC": {"index": 0, "max_size": "1", "reference_price": "60000"}, "ETH": {"index": 1, "max_size": "10", "reference_price": "2000"}}},
        "polymarket": {"exchanges": [{"chain_id": 137, "address": EXCHANGE}], "max_collateral_per_order": "25000000",
                       "max_shares_per_order": "100000000"}})
    return address


def order_action(sz: str, asset: int = 1) -> str:
    return json.dumps({"type": "order", "grouping": "na", "orders": [
        {"a": asset, "b": True, "p": "2500.5", "s": sz, "r": False, "t": {"limit": {"tif": "Ioc"}}}]})


def now_ms() -> int:
    return int(time.time() * 1000)


def sign(stack: DevStack, wallet: str, action_json: str, nonce: int | None = None, **fields) -> signer_pb2.SignHyperliquidActionResponse:
    nonce = nonce or now_ms()
    with grpc.insecure_channel(f"unix:{stack.signer_socket}") as channel:
        return signer_pb2_grpc.SignerServiceStub(channel).SignHyperliquidAction(signer_pb2.SignHyperliquidActionRequest(
            wallet_address=wallet, action_json=action_json, nonce=nonce, mainnet=False, **{"expires_after": nonce + 60_000, **fields}))


def last_audit(stack: DevStack) -> dict:
    return json.loads((stack.signer_home / "audit.jsonl").read_text().splitlines()[-1])


def test_an_allowed_order_is_signed_as_the_venue_verifies_it(signer_only, wallet):
    action = order_action("1.5")  # 3,750.75 USD
    nonce = now_ms()
    signed = sign(signer_only, wallet, action, nonce)
    digest = hyperliquid.action_hash(json.loads(action), None, nonce, nonce + 60_000)
    assert signed.action_hash == "0x" + digest.hex()
    signature = bytes.fromhex(signed.r[2:] + signed.s[2:]) + bytes([signed.v])
    message = encode_typed_data(full_message=hyperliquid.typed_data(digest, mainnet=False))
    assert Account.recover_message(message, signature=signature) == wallet
    assert last_audit(signer_only)["decision"] == "allow" and last_audit(signer_only)["action_hash"] == signed.action_hash


@pytest.mark.parametrize("action, rule", [
    (order_action("2"), "hyperliquid-notional"),                 # 5,001 USD
    (order_action("0.1", asset=5), "hyperliquid-asset"),
    (json.dumps({"type": "withdraw3", "destination": "0x" + "22" * 20, "amount": "100", "time": 1}), "hyperliquid-action-type"),
])
def test_what_the_policy_refuses_is_never_signed(signer_only, wallet, action, rule):
    with pytest.raises(grpc.RpcError) as denied:
        sign(signer_only, wallet, action)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED and rule in denied.value.details()
    entry = last_audit(signer_only)
    assert entry["decision"] == "deny" and entry["rule"] == rule and "action_hash" not in entry


def test_the_other_network_is_refused(signer_only, wallet):
    with grpc.insecure_channel(f"unix:{signer_only.signer_socket}") as channel, pytest.raises(grpc.RpcError) as denied:
        signer_pb2_grpc.SignerServiceStub(channel).SignHyperliquidAction(signer_pb2.SignHyperliquidActionRequest(
            wallet_address=wallet, action_json=order_action("0.1"), nonce=now_ms(), expires_after=now_ms() + 60_000, mainnet=True))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED and "hyperliquid-chain" in denied.value.details()


@pytest.mark.parametrize("fields, code, fragment", [
    ({"action_json": "{not json"}, grpc.StatusCode.INVALID_ARGUMENT, "the action is not JSON"),
    ({"action_json": order_action("1"), "vault_address": "0x1234"}, grpc.StatusCode.INVALID_ARGUMENT, "vault_address"),
    ({"action_json": order_action("1"), "wallet_address": "0x" + "33" * 20}, grpc.StatusCode.NOT_FOUND, "holds no Ethereum key"),
])
def test_malformed_requests_get_clear_errors(signer_only, wallet, fields, code, fragment):
    request = {"wallet_address": wallet, "nonce": now_ms(), "mainnet": False, **fields}
    with grpc.insecure_channel(f"unix:{signer_only.signer_socket}") as channel, pytest.raises(grpc.RpcError) as refused:
        signer_pb2_grpc.SignerServiceStub(channel).SignHyperliquidAction(signer_pb2.SignHyperliquidActionRequest(**request))
    assert refused.value.code() == code and fragment in refused.value.details(), refused.value.details()


def polymarket_order(wallet: str, usdc: str) -> signer_pb2.SignPolymarketOrderRequest:
    order = signer_pb2.PolymarketOrder(salt="7", maker=wallet, signer=wallet, taker="0x" + "00" * 20, token_id="4242", maker_amount=usdc,
                                       taker_amount="40000000", expiration=str(int(time.time()) + 120), nonce="0", fee_rate_bps="0",
                                       side=0, signature_type=0)
    return signer_pb2.SignPolymarketOrderRequest(wallet_address=wallet, chain_id=137, exchange_address=EXCHANGE, order=order)


def test_a_polymarket_order_within_the_cap_is_signed_and_one_above_is_not(signer_only, wallet):
    with grpc.insecure_channel(f"unix:{signer_only.signer_socket}") as channel:
        stub = signer_pb2_grpc.SignerServiceStub(channel)
        request = polymarket_order(wallet, "25000000")  # 25 USDC for 40 shares
        signed = stub.SignPolymarketOrder(request)
        typed = polymarket.parse(request).typed_data()
        assert Account.recover_message(encode_typed_data(full_message=typed), signature=signed.signature) == wallet
        assert last_audit(signer_only)["order_hash"] == signed.order_hash
        with pytest.raises(grpc.RpcError) as denied:
            stub.SignPolymarketOrder(polymarket_order(wallet, "25000001"))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED and "polymarket-collateral" in denied.value.details()
    assert last_audit(signer_only)["decision"] == "deny" and "order_hash" not in last_audit(signer_only)


def class_transfer(nonce: int, chain: str = "Testnet") -> str:
    return json.dumps({"type": "usdClassTransfer", "amount": "10", "toPerp": True, "nonce": nonce,
                       "signatureChainId": "0x66eee", "hyperliquidChain": chain})


def test_spot_perp_transfers_are_signed_only_for_a_wallet_that_opted_in(signer_only, wallet):
    nonce = now_ms()
    with pytest.raises(grpc.RpcError) as denied:
        sign(signer_only, wallet, class_transfer(nonce), nonce)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED and "class_transfers" in denied.value.details()
    opted_in = signer_only.create_wallet()
    signer_only.set_policy(opted_in, {"hyperliquid": {"mainnet": False, "max_notional_per_order": "0", "class_transfers": True}})
    signed = sign(signer_only, opted_in, class_transfer(nonce), nonce)
    typed = hyperliquid.user_signed_typed_data(json.loads(class_transfer(nonce)))
    signature = bytes.fromhex(signed.r[2:] + signed.s[2:]) + bytes([signed.v])
    assert Account.recover_message(encode_typed_data(full_message=typed), signature=signature) == opted_in
    # What the signature covers names the chain: a mainnet transfer is refused to a testnet wallet.
    with pytest.raises(grpc.RpcError) as other_chain:
        sign(signer_only, opted_in, class_transfer(nonce, chain="Mainnet"), nonce)
    assert "hyperliquid-chain" in other_chain.value.details()
    # The action's nonce is the request's: anything else is malformed, not signed.
    with pytest.raises(grpc.RpcError) as mismatched:
        sign(signer_only, opted_in, class_transfer(5))
    assert mismatched.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "nonce" in mismatched.value.details()


def test_clob_authentication_is_signed_only_on_a_chain_the_polymarket_policy_names(signer_only, wallet):
    with grpc.insecure_channel(f"unix:{signer_only.signer_socket}") as channel:
        stub = signer_pb2_grpc.SignerServiceStub(channel)
        signed = stub.SignPolymarketAuth(signer_pb2.SignPolymarketAuthRequest(wallet_address=wallet, chain_id=137, timestamp=1_700_000_000, nonce=0))
        typed = polymarket.auth_typed_data(wallet, 137, 1_700_000_000, 0)
        assert Account.recover_message(encode_typed_data(full_message=typed), signature=signed.signature) == wallet
        with pytest.raises(grpc.RpcError) as denied:
            stub.SignPolymarketAuth(signer_pb2.SignPolymarketAuthRequest(wallet_address=wallet, chain_id=1, timestamp=1_700_000_000, nonce=0))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED and "polymarket-exchange" in denied.value.details()
