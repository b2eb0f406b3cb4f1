"""SignEvmTransactions: each request of a batch is decided, reserved and audited on its own, in
the batch's order, exactly as SignEvmTransaction decides it alone."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import grpc
import pytest
from eth_account import Account

from corral.v1 import signer_pb2
from signer.audit import AuditLog, audit_key, read_entries
from signer.config import SignerPaths
from signer.halt import Halts
from signer.keystore import Keystore
from signer.policy import PolicyStore, WalletPolicy
from signer.service import MAX_BATCH, SignerServicer

TO = "0x" + "44" * 20
GWEI = 10**9
COST = 1_000 + 21_000 * GWEI


class Refused(grpc.aio.AbortError):
    pass


class Context:
    async def abort(self, code, details):
        raise Refused(code, details)


def transfer(wallet: str, nonce: int, chain_id: int = 1) -> signer_pb2.SignEvmTransactionRequest:
    return signer_pb2.SignEvmTransactionRequest(
        wallet_address=wallet, context=signer_pb2.SigningContext(session_id=3),
        transaction=signer_pb2.EvmUnsignedTransaction(chain_id=chain_id, nonce=nonce, to=TO, value="1000", gas=21_000,
                                                      eip1559=signer_pb2.Eip1559Fees(max_fee_per_gas=str(GWEI),
                                                                                     max_priority_fee_per_gas="1")))


@pytest.fixture
def servicer():
    with tempfile.TemporaryDirectory() as home:
        paths = SignerPaths(home=Path(home))
        paths.ensure()
        keystore = Keystore(paths.keystore_dir, "pw")
        wallet = keystore.create_wallet(light_kdf=True)
        PolicyStore(paths.policy_dir).set(wallet, WalletPolicy.model_validate({
            "allowed_chain_ids": [1], "spend_caps": [{"chain_id": 1, "asset": "native", "amount": str(2 * COST)}]}))
        audit = AuditLog(paths.audit_log, audit_key("pw"))
        try:
            yield SignerServicer(keystore, PolicyStore(paths.policy_dir), audit, paths.audit_log, Halts(paths)), wallet, paths
        finally:
            audit.close()


def test_each_request_of_a_batch_is_decided_and_audited_on_its_own_in_order(servicer):
    signer, wallet, paths = servicer
    batch = [transfer(wallet, 0), transfer(wallet, 1, chain_id=5), transfer(wallet, 1), transfer(wallet, 2)]
    answer = asyncio.run(signer.SignEvmTransactions(signer_pb2.SignEvmTransactionsRequest(requests=batch), Context()))
    kinds = [result.WhichOneof("result") for result in answer.results]
    assert kinds == ["signed", "refused", "signed", "refused"]  # the chain is not allowed; the third transfer passes the cap
    assert answer.results[1].refused.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert "chain-allowlist" in answer.results[1].refused.message
    assert "spend-cap" in answer.results[3].refused.message
    for result in (answer.results[0], answer.results[2]):
        assert Account.recover_transaction(result.signed.raw_transaction) == wallet
    lines = [e for e in read_entries(paths.audit_log) if e.get("action") == "sign_evm_transaction"]
    assert [(e["decision"], e["request"]["transaction"].get("nonce", "0")) for e in lines] == [
        ("allow", "0"), ("deny", "1"), ("allow", "1"), ("deny", "2")]
    assert answer.results[2].signed.audit_head.seq == lines[2]["seq"]


def test_a_batch_decides_as_the_same_requests_one_by_one(servicer):
    signer, wallet, _ = servicer
    batch = [transfer(wallet, n) for n in range(4)]
    answer = asyncio.run(signer.SignEvmTransactions(signer_pb2.SignEvmTransactionsRequest(requests=batch), Context()))
    assert [r.WhichOneof("result") for r in answer.results] == ["signed", "signed", "refused", "refused"]  # the cap holds two


def test_an_oversized_batch_is_refused_naming_the_field_audited_and_nothing_signed(servicer):
    signer, wallet, paths = servicer
    batch = [transfer(wallet, n) for n in range(MAX_BATCH + 1)]
    with pytest.raises(Refused) as refused:
        asyncio.run(signer.SignEvmTransactions(signer_pb2.SignEvmTransactionsRequest(requests=batch), Context()))
    assert refused.value.args[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert "requests: at most 64" in refused.value.args[1]
    lines = [e for e in read_entries(paths.audit_log) if "action" in e]
    assert [(e["action"], e["decision"], e["wallet"], e["request"]) for e in lines] == [
        ("sign_evm_transactions", "deny", wallet, {"count": MAX_BATCH + 1, "wallets": [wallet]})]
