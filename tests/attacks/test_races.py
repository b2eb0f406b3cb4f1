"""Racing the caps. An earlier signer recorded a spend only after the audit log's fsync, so
requests decided meanwhile all saw the cap unspent: concurrent requests got 2x a rolling
cap and 5x a session budget. Several orchestrator replicas (or whoever holds the
orchestrator's process) can always send concurrent requests; each decision now reserves its
spend before anything else runs. (The agent-alone race on Solana is in test_solana.py.)"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import grpc

from corral.v1 import signer_pb2
from tests.attacks.conftest import GWEI, balance, evm_tx, nonce_of, signer_stub

FRIEND = "0x00000000000000000000000000000000000000f1"
VALUE = 10**15
COST = VALUE + 21_000 * 2 * GWEI  # a transfer's value and its worst-case fee


def fire(call, requests: list) -> list:
    """Every request at once, from as many threads; the signed answers (None where refused)."""
    def one(request):
        try:
            return call(request)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error.details()
            return None

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(one, requests))


def broadcast_all(stack, responses: list) -> None:
    """Every signed transaction to the node (those after a nonce gap wait in its pool)."""
    for response in responses:
        if response is not None:
            stack.web3.eth.send_raw_transaction(response.raw_transaction)
    stack.web3.provider.make_request("evm_mine", [])


def test_concurrent_requests_cannot_pass_a_rolling_cap_twice(evm):
    wallet = evm.create_wallet(recipients=[FRIEND])
    evm.set_policy(wallet, {"allowed_chain_ids": [31337], "allowed_recipients": [FRIEND],
                            "spend_caps": [{"chain_id": 31337, "asset": "native", "amount": str(4 * COST)}]})
    evm.fund(wallet, 10**18)
    friend_before = balance(evm, FRIEND)
    signed = fire(signer_stub(evm).SignEvmTransaction, [evm_tx(wallet, FRIEND, value=VALUE, nonce=n) for n in range(12)])
    assert sum(r is not None for r in signed) == 4
    broadcast_all(evm, signed)
    # Whatever nonces the four got, at most four transfers can ever land.
    assert balance(evm, FRIEND) - friend_before <= 4 * VALUE and nonce_of(evm, wallet) <= 4


def test_concurrent_requests_cannot_pass_a_session_budget(evm):
    wallet = evm.create_wallet(recipients=[FRIEND])
    evm.set_policy(wallet, {"allowed_chain_ids": [31337], "allowed_recipients": [FRIEND],
                            "session_budgets": [{"chain_id": 31337, "max_amount": str(COST)}]})
    signer = signer_stub(evm)
    assert signer.OpenSessionBudget(signer_pb2.OpenSessionBudgetRequest(
        wallet_address=wallet, session_id=9001, chain_id=31337, asset="native", amount=str(COST))).opened
    signed = fire(signer.SignEvmTransaction, [evm_tx(wallet, FRIEND, value=VALUE, nonce=n, session_id=9001) for n in range(5)])
    assert sum(r is not None for r in signed) == 1


def test_concurrent_venue_orders_cannot_pass_a_notional_cap(evm):
    """The same reservation holds on every path: Hyperliquid orders against a rolling cap."""
    wallet = evm.create_wallet()
    evm.set_policy(wallet, {"hyperliquid": {
        "mainnet": True, "max_notional_per_order": "1000", "notional_caps": [{"amount": "3000", "window_seconds": 3600}],
        "assets": {"ETH": {"index": 1, "max_size": "1", "reference_price": "1000"}}}})
    action = json.dumps({"type": "order", "grouping": "na", "orders": [
        {"a": 1, "b": False, "p": "1", "s": "1", "r": False, "t": {"limit": {"tif": "Ioc"}}}]})  # worth 1,000 at the reference price
    now_ms = int(time.time() * 1000)
    requests = [signer_pb2.SignHyperliquidActionRequest(wallet_address=wallet, action_json=action, nonce=now_ms + n,
                                                        expires_after=now_ms + 60_000, mainnet=True) for n in range(10)]
    assert sum(r is not None for r in fire(signer_stub(evm).SignHyperliquidAction, requests)) == 3
