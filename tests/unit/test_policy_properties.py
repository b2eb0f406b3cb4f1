"""Properties of the signer as a whole: across generated requests and policies, fired at once
in random interleavings at the real servicer (real keystore, policy files and audit log;
the audit's fsync runs in a thread, so requests really overlap), the sum of the worst-case
outflows of everything it signed never exceeds any cap.

The worst case is computed here, from the requests themselves, independently of the
signer's own bookkeeping: native value + gas x fee per gas; token transfers and allowances
granted (approve, increaseAllowance, permits); Solana lamports and fees; venue orders at
the larger of their price and the owner's reference price (Hyperliquid) or their maker
amount (Polymarket). An allowance may be pulled by anyone it names at any time, so router
swaps that draw on it add nothing to that worst case.
"""

from __future__ import annotations

import asyncio
import base64
import json
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.hash import Hash
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from corral.v1 import signer_pb2
from signer.audit import AuditLog, audit_key, read_entries
from signer.config import SignerPaths
from signer.halt import Halts
from signer.keystore import Keystore
from signer.policy import PolicyStore, WalletPolicy
from signer.service import SignerServicer

TOKEN = "0x" + "22" * 20
ROUTER = "0x" + "33" * 20
STRANGER = "0x" + "44" * 20
EXCHANGE = "0x4bfb41d5b3570defd03c39a9a4d8de6bd8b8982e"
SOL_RECIPIENT = Pubkey.from_string("9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin")
GWEI = 10**9


class Refused(grpc.aio.AbortError):
    """What grpc.aio's context.abort raises (a handler's refusal), carrying (code, details)."""


class Context:
    """What the servicer needs of a gRPC context: abort raises, as grpc.aio's does."""

    async def abort(self, code, details):
        raise Refused(code, details)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    directory = tmp_path_factory.mktemp("keystore")
    keystore = Keystore(directory, "pw")
    evm_wallet, solana_wallet = keystore.create_wallet(), keystore.create_wallet("solana")
    keystore.evm_key(evm_wallet), keystore.solana_keypair(solana_wallet)  # decrypted once for every example
    return keystore, evm_wallet, solana_wallet


def selector(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


# ---- the requests ------------------------------------------------------------------------------

def evm_request(wallet: str, nonce: int, to: str, value: int, data: bytes, gas: int, fee: int, session: int):
    return "SignEvmTransaction", signer_pb2.SignEvmTransactionRequest(
        wallet_address=wallet, context=signer_pb2.SigningContext(session_id=session),
        transaction=signer_pb2.EvmUnsignedTransaction(chain_id=1, nonce=nonce, to=to, value=str(value), data=data, gas=gas,
                                                      eip1559=signer_pb2.Eip1559Fees(max_fee_per_gas=str(fee),
                                                                                     max_priority_fee_per_gas="1")))


# (kind, value, call, amount, gas, fee per gas, session) for EVM requests.
sessions = st.sampled_from([0, 1, 2])
native = st.tuples(st.just("evm"), st.integers(0, 10**16), st.just("none"), st.just(0), st.sampled_from([21_000, 100_000, 2_000_000]),
                   st.sampled_from([GWEI, 50 * GWEI, 400 * GWEI]), sessions)
token_calls = st.tuples(st.just("evm"), st.just(0), st.sampled_from(["transfer", "approve", "increase", "decrease", "swap"]),
                        st.integers(0, 600), st.sampled_from([60_000, 200_000]), st.just(GWEI), sessions)
solana_transfers = st.tuples(st.just("solana"), st.integers(0, 3_000_000))
hyperliquid_orders = st.tuples(st.just("hyperliquid"), st.sampled_from(["0.1", "1", "2.5"]), st.sampled_from(["0.01", "40", "100"]))
polymarket_orders = st.tuples(st.just("polymarket"), st.sampled_from([0, 1]), st.integers(1, 60_000_000), st.integers(1, 120_000_000))
requests = st.lists(st.one_of(native, token_calls, solana_transfers, hyperliquid_orders, polymarket_orders), min_size=1, max_size=14)

caps = st.fixed_dictionaries({
    "native": st.integers(0, 5 * 10**16), "token": st.integers(0, 1500), "approval": st.integers(0, 900),
    "budget": st.integers(0, 2 * 10**16), "lamports": st.integers(0, 6_000_000), "notional": st.integers(0, 400),
    "polymarket": st.integers(0, 150),
})


def policy_for(caps: dict, session_budgets: bool) -> WalletPolicy:
    return WalletPolicy.model_validate({
        "allowed_chain_ids": [1], "nonce_window": 64, "allowed_recipients": [STRANGER],
        "contracts": [{"address": TOKEN, "preset": "erc20"}, {"address": ROUTER, "preset": "uniswap-v2-router"}],
        "approvals": [{"token": TOKEN, "spender": ROUTER, "max_amount": str(caps["approval"])}],
        "spend_caps": [{"chain_id": 1, "asset": "native", "amount": str(caps["native"]), "window_seconds": 3600},
                       {"chain_id": 1, "asset": TOKEN, "amount": str(caps["token"]), "window_seconds": 3600}],
        "session_budgets": [{"chain_id": 1, "max_amount": str(caps["budget"])}] if session_budgets else [],
        "hyperliquid": {"mainnet": True, "assets": {"ETH": {"index": 1, "max_size": "2", "reference_price": "50"}},
                        "max_notional_per_order": "150", "notional_caps": [{"amount": str(caps["notional"]), "window_seconds": 3600}]},
        "polymarket": {"exchanges": [{"chain_id": 137, "address": EXCHANGE}], "max_collateral_per_order": "50000000",
                       "max_shares_per_order": "100000000", "min_price": "0.01", "max_price": "0.99",
                       "value_caps": [{"amount": str(caps["polymarket"]), "window_seconds": 3600}]},
    })


def solana_policy(caps: dict) -> WalletPolicy:
    return WalletPolicy.model_validate({"solana": {"allowed_programs": ["11111111111111111111111111111111"],
                                                   "spend_caps": [{"asset": "native", "amount": str(caps["lamports"])}]}})


def calldata(call: str, amount: int, wallet: str) -> tuple[str, bytes]:
    """(the contract called, its calldata)."""
    if call == "none":
        return STRANGER, b""
    if call == "swap":
        return ROUTER, selector("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)") + encode(
            ["uint256", "uint256", "address[]", "address", "uint256"], [amount, 1, [TOKEN, STRANGER], wallet, int(time.time()) + 60])
    signature = {"transfer": "transfer(address,uint256)", "approve": "approve(address,uint256)",
                 "increase": "increaseAllowance(address,uint256)", "decrease": "decreaseAllowance(address,uint256)"}[call]
    return TOKEN, selector(signature) + encode(["address", "uint256"], [STRANGER if call == "transfer" else ROUTER, amount])


def wire(request: tuple, n: int, evm_wallet: str, solana_wallet: str) -> tuple[str, object]:
    kind = request[0]
    if kind == "evm":
        _, value, call, amount, gas, fee, session = request
        to, data = calldata(call, amount, evm_wallet)
        return evm_request(evm_wallet, n, to, value, data, gas, fee, session)
    if kind == "solana":
        payer = Pubkey.from_string(solana_wallet)
        message = Message.new_with_blockhash([transfer(TransferParams(from_pubkey=payer, to_pubkey=SOL_RECIPIENT, lamports=request[1]))],
                                             payer, Hash.default())
        return "SignSolanaTransaction", signer_pb2.SignSolanaTransactionRequest(
            wallet_address=solana_wallet, transaction=bytes(VersionedTransaction.populate(message, [Signature.default()])))
    if kind == "hyperliquid":
        action = {"type": "order", "orders": [{"a": 1, "b": False, "p": request[2], "s": request[1], "r": False,
                                               "t": {"limit": {"tif": "Ioc"}}}], "grouping": "na"}
        nonce = int(time.time() * 1000) + n
        return "SignHyperliquidAction", signer_pb2.SignHyperliquidActionRequest(
            wallet_address=evm_wallet, action_json=json.dumps(action), nonce=nonce, expires_after=nonce + 60_000, mainnet=True)
    _, side, maker, taker = request
    order = signer_pb2.PolymarketOrder(salt=str(n), maker=evm_wallet, signer=evm_wallet, taker="0x" + "00" * 20, token_id="7",
                                       maker_amount=str(maker), taker_amount=str(taker), expiration=str(int(time.time()) + 120),
                                       nonce="0", fee_rate_bps="0", side=side, signature_type=0)
    return "SignPolymarketOrder", signer_pb2.SignPolymarketOrderRequest(wallet_address=evm_wallet, chain_id=137, exchange_address=EXCHANGE,
                                                                        order=order)


def worst_case(request: tuple) -> dict[str, Decimal]:
    """What signing `request` may let leave the wallet, by cap, computed from the request."""
    kind = request[0]
    if kind == "evm":
        _, value, call, amount, gas, fee, session = request
        outflow = {"native": Decimal(value + gas * fee), f"budget:{session}": Decimal(value + gas * fee)}
        if call in ("transfer", "approve", "increase"):  # a swap draws on an allowance counted when granted
            outflow["token"] = Decimal(amount)
        return outflow
    if kind == "solana":
        return {"lamports": Decimal(request[1] + 5000)}
    if kind == "hyperliquid":
        return {"notional": Decimal(request[1]) * max(Decimal(request[2]), Decimal(50))}
    return {"polymarket": Decimal(request[2]) / 10**6}


async def fire(servicer: SignerServicer, calls: list[tuple[str, object]]) -> list[bool]:
    async def one(method, request):
        try:
            await getattr(servicer, method)(request, Context())
            return True
        except Refused:
            return False

    return await asyncio.gather(*(one(method, request) for method, request in calls))


def interleaving_audit(audit: AuditLog, delays: list[int]) -> None:
    """Each commit first yields to the event loop a drawn number of times, so requests reach
    the audit (and its fsync thread) in orders hypothesis chooses."""
    commit, turns = audit.commit, iter(delays)

    async def commit_later(record):
        for _ in range(next(turns, 0)):
            await asyncio.sleep(0)
        return await commit(record)

    audit.commit = commit_later


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(requests, caps, st.booleans(), st.lists(st.integers(0, 5), min_size=14, max_size=14))
def test_concurrent_requests_never_sign_past_any_cap(keys, drawn, limits, budgets, delays):
    keystore, evm_wallet, solana_wallet = keys
    with tempfile.TemporaryDirectory() as home:
        paths = SignerPaths(home=Path(home))
        paths.ensure()
        policies = PolicyStore(paths.policy_dir)
        policies.set(evm_wallet, policy_for(limits, budgets))
        policies.set(solana_wallet, solana_policy(limits))
        audit = AuditLog(paths.audit_log, audit_key("pw"))
        servicer = SignerServicer(keystore, policies, audit, paths.audit_log, Halts(paths))
        if budgets:
            for session in (1, 2):
                asyncio.run(servicer.OpenSessionBudget(signer_pb2.OpenSessionBudgetRequest(
                    wallet_address=evm_wallet, session_id=session, chain_id=1, asset="native", amount=str(limits["budget"])), Context()))
        interleaving_audit(audit, delays)
        signed = asyncio.run(fire(servicer, [wire(r, n, evm_wallet, solana_wallet) for n, r in enumerate(drawn)]))
        audit.close()
        order = [e for e in read_entries(paths.audit_log) if e["decision"] == "allow" and e["action"] == "sign_evm_transaction"]

    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    for request, ok in zip(drawn, signed, strict=True):
        if ok:
            for cap, amount in worst_case(request).items():
                totals[cap] += amount
    for cap in ("native", "token", "lamports", "notional", "polymarket"):
        assert totals[cap] <= limits[cap], cap
    if budgets:  # requests made for no session are bounded by the wallet's caps only
        assert totals["budget:1"] <= limits["budget"] and totals["budget:2"] <= limits["budget"]
    # The allowance, replayed in the order the signatures were made, never exceeds its bound.
    allowance = 0
    for entry in order:
        call = next((c for c in ("approve", "increase", "decrease") if calldata(c, 0, evm_wallet)[1][:4] == _data(entry)[:4]), None)
        if call is None:
            continue
        amount = int.from_bytes(_data(entry)[36:68], "big")
        allowance = {"approve": amount, "increase": allowance + amount}.get(call, max(0, allowance - amount))
        assert call == "decrease" or allowance <= limits["approval"]


def _data(entry: dict) -> bytes:
    """The calldata of an audited EVM request (the audit keeps protobuf's JSON form: base64 bytes)."""
    return base64.b64decode(entry["request"]["transaction"].get("data", ""))


def servicer_log(servicer: SignerServicer) -> Path:
    return servicer._audit._path


@contextmanager
def capped_wallet(native_cap: int):
    """A servicer over a fresh home with one EVM wallet whose native cap is `native_cap`."""
    with tempfile.TemporaryDirectory() as home:
        paths = SignerPaths(home=Path(home))
        paths.ensure()
        keystore = Keystore(paths.keystore_dir, "pw")
        wallet = keystore.create_wallet()
        PolicyStore(paths.policy_dir).set(wallet, WalletPolicy.model_validate({
            "allowed_chain_ids": [1], "spend_caps": [{"chain_id": 1, "asset": "native", "amount": str(native_cap)}]}))
        audit = AuditLog(paths.audit_log, audit_key("pw"))
        try:
            yield SignerServicer(keystore, PolicyStore(paths.policy_dir), audit, paths.audit_log, Halts(paths)), wallet
        finally:
            audit.close()


TRANSFER_COST = 10**15 + 21_000 * GWEI  # a 0.001 ETH transfer and its worst-case fee


def test_the_race_a_refusal_shows():
    """Eight transfers fired at once against a cap that admits four: exactly four are signed
    (the earlier signer, which counted a spend only after the audit's fsync, signed all eight)."""
    with capped_wallet(4 * TRANSFER_COST) as (servicer, wallet):
        signed = asyncio.run(fire(servicer, [evm_request(wallet, n, STRANGER, 10**15, b"", 21_000, GWEI, 0) for n in range(8)]))
    assert sum(signed) == 4


def test_a_request_that_fails_to_sign_gives_its_reservation_back(monkeypatch):
    """A cap that admits one transfer: the first attempt fails while signing, so the second
    is still signed; one that was signed and audited keeps its reservation."""
    from signer import evm

    real_sign = evm.sign

    def failing_once(key, fields):
        monkeypatch.setattr(evm, "sign", real_sign)
        raise RuntimeError("the key could not be used")

    with capped_wallet(TRANSFER_COST) as (servicer, wallet):
        monkeypatch.setattr(evm, "sign", failing_once)
        request = evm_request(wallet, 0, STRANGER, 10**15, b"", 21_000, GWEI, 0)
        with pytest.raises(Refused) as failed:
            asyncio.run(servicer.SignEvmTransaction(request[1], Context()))
        assert failed.value.args[0] == grpc.StatusCode.INTERNAL and "audited as undecided" in failed.value.args[1]
        assert asyncio.run(fire(servicer, [request, evm_request(wallet, 1, STRANGER, 10**15, b"", 21_000, GWEI, 0)])) == [True, False]
        undecided = [e for e in read_entries(servicer_log(servicer)) if e.get("decision") == "error"]
        assert [(e["action"], e["rule"], e["reason"]) for e in undecided] == [("SignEvmTransaction", "internal-error", "the key could not be used")]
