"""CreatePaperWallet: the signer makes a paper session's throwaway key with a copy of the real
wallet's policy, and keeps it apart: a paper wallet signs under the copy (not more), is never a
source itself, needs a readable policy to copy, is bounded in number, marked in the wallet list,
and every outcome is an audit line."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import grpc
import pytest

from corral.v1 import signer_pb2
from signer import service
from signer.audit import AuditLog, audit_key, read_entries
from signer.config import SignerPaths
from signer.halt import Halts
from signer.keystore import Keystore
from signer.policy import PolicyStore, WalletPolicy
from signer.service import SignerServicer

GWEI = 10**9
POLICY = {"allowed_chain_ids": [1], "max_native_value_per_tx": "1000"}


class Refused(grpc.aio.AbortError):
    def code(self) -> grpc.StatusCode:
        return self.args[0]

    def details(self) -> str:
        return self.args[1]


class Context:
    async def abort(self, code, details):
        raise Refused(code, details)


@pytest.fixture
def signer():
    with tempfile.TemporaryDirectory() as home:
        paths = SignerPaths(home=Path(home))
        paths.ensure()
        keystore = Keystore(paths.keystore_dir, "pw")
        wallet = keystore.create_wallet(light_kdf=True)
        PolicyStore(paths.policy_dir).set(wallet, WalletPolicy.model_validate(POLICY))
        audit = AuditLog(paths.audit_log, audit_key("pw"))
        try:
            yield SignerServicer(keystore, PolicyStore(paths.policy_dir), audit, paths.audit_log, Halts(paths)), wallet, paths
        finally:
            audit.close()


def create(servicer: SignerServicer, source: str) -> str:
    return asyncio.run(servicer.CreatePaperWallet(signer_pb2.CreatePaperWalletRequest(source_wallet_address=source), Context())).address


def refusal(servicer: SignerServicer, source: str) -> Refused:
    with pytest.raises(Refused) as refused:
        create(servicer, source)
    return refused.value


def send(servicer: SignerServicer, wallet: str, value: str):
    request = signer_pb2.SignEvmTransactionRequest(wallet_address=wallet, transaction=signer_pb2.EvmUnsignedTransaction(
        chain_id=1, nonce=0, to="0x" + "44" * 20, value=value, gas=21_000,
        eip1559=signer_pb2.Eip1559Fees(max_fee_per_gas=str(GWEI), max_priority_fee_per_gas="1")))
    return asyncio.run(servicer.SignEvmTransaction(request, Context()))


def test_a_paper_wallet_signs_under_a_copy_of_the_real_wallet_s_policy(signer):
    servicer, wallet, paths = signer
    paper = create(servicer, wallet)
    assert paper.lower() != wallet.lower()
    assert PolicyStore(paths.policy_dir).get(paper) == WalletPolicy.model_validate(POLICY)
    assert send(servicer, paper, "1000").raw_transaction
    with pytest.raises(Refused) as over:
        send(servicer, paper, "1001")
    assert over.value.code() == grpc.StatusCode.PERMISSION_DENIED and "native-value-cap" in over.value.details()
    listed = asyncio.run(servicer.ListSignerWallets(signer_pb2.ListSignerWalletsRequest(), Context())).wallets
    assert {(w.address, w.paper_of) for w in listed} == {(wallet, ""), (paper, wallet)}
    made = [e for e in read_entries(paths.audit_log) if e.get("action") == "create_paper_wallet"]
    assert [(e["wallet"], e["decision"], e["rule"], e["paper_wallet"]) for e in made] == [(wallet, "allow", "paper-wallet", paper)]


def test_a_changed_real_policy_leaves_the_copy_as_it_was(signer):
    servicer, wallet, paths = signer
    paper = create(servicer, wallet)
    PolicyStore(paths.policy_dir).set(wallet, WalletPolicy.model_validate({"allowed_chain_ids": [1], "max_native_value_per_tx": "5"}))
    assert send(servicer, paper, "1000").raw_transaction  # the copy taken at its start


def test_what_is_refused_is_refused_with_its_reason_and_audited(signer, monkeypatch):
    servicer, wallet, paths = signer
    unknown = refusal(servicer, "0x" + "55" * 20)
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    paper = create(servicer, wallet)
    nested = refusal(servicer, paper)
    assert nested.code() == grpc.StatusCode.FAILED_PRECONDITION and "is itself a paper wallet" in nested.details()
    bare = Keystore(paths.keystore_dir, "pw").create_wallet(light_kdf=True)
    no_policy = refusal(servicer, bare)
    assert no_policy.code() == grpc.StatusCode.FAILED_PRECONDITION and "has no readable policy to copy" in no_policy.details()
    monkeypatch.setattr(service, "MAX_PAPER_WALLETS", 1)
    full = refusal(servicer, wallet)
    assert full.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "1 paper wallets, its most" in full.details()
    Halts(paths).halt_for_platform("looking into it")
    halted = refusal(servicer, wallet)
    assert halted.code() == grpc.StatusCode.FAILED_PRECONDITION and "signing is halted" in halted.details()
    denied = [e for e in read_entries(paths.audit_log) if e.get("action") == "create_paper_wallet" and e["decision"] == "deny"]
    assert len(denied) == 5
    assert len(Keystore(paths.keystore_dir, "pw").paper_of()) == 1  # nothing made by a refusal


def test_a_solana_wallet_gets_a_solana_paper_wallet_marked_as_its_own(signer):
    servicer, evm, paths = signer
    keystore = Keystore(paths.keystore_dir, "pw")
    solana = keystore.create_wallet("solana", light_kdf=True)
    PolicyStore(paths.policy_dir).set(solana, WalletPolicy.model_validate(POLICY))
    paper = create(servicer, solana)
    listed = {address: (kind, of) for address, kind, of in Keystore(paths.keystore_dir, "pw").listed()}
    assert listed[paper] == ("solana", solana) and not paper.startswith("0x")
    # A base58 address is its exact spelling: another case is another (unknown) wallet.
    assert refusal(servicer, solana.swapcase()).code() == grpc.StatusCode.NOT_FOUND
    nested = refusal(servicer, paper)
    assert nested.code() == grpc.StatusCode.FAILED_PRECONDITION and "is itself a paper wallet" in nested.details()
    # An EVM wallet in another spelling (no 0x, lower case) is the same wallet, and so are its paper wallets.
    evm_paper = create(servicer, evm.lower().removeprefix("0x"))
    assert Keystore(paths.keystore_dir, "pw").paper_of()[evm_paper] == evm
    assert "is itself a paper wallet" in refusal(servicer, evm_paper.lower().removeprefix("0x")).details()


def remove(servicer: SignerServicer, wallet: str) -> signer_pb2.RemovePaperWalletResponse:
    return asyncio.run(servicer.RemovePaperWallet(signer_pb2.RemovePaperWalletRequest(wallet_address=wallet), Context()))


def test_a_removed_paper_wallet_signs_nothing_more_and_frees_its_place(signer, monkeypatch):
    servicer, wallet, paths = signer
    monkeypatch.setattr(service, "MAX_PAPER_WALLETS", 1)
    paper = create(servicer, wallet)
    assert send(servicer, paper, "1").raw_transaction  # its key unlocked and remembered
    assert remove(servicer, paper.lower()).audit_head.seq > 0  # any spelling of an EVM address
    with pytest.raises(Refused) as gone:
        send(servicer, paper, "1")
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert paper not in Keystore(paths.keystore_dir, "pw").paper_of() and PolicyStore(paths.policy_dir).get(paper) is None
    assert create(servicer, wallet) != paper  # the bound counts the paper wallets there are
    removed = [e for e in read_entries(paths.audit_log) if e.get("action") == "remove_paper_wallet"]
    assert [(e["decision"], e["rule"], e["paper_wallet"]) for e in removed] == [("allow", "paper-wallet", paper)]


def test_only_a_paper_wallet_is_ever_removed_and_each_refusal_is_audited(signer):
    servicer, wallet, paths = signer
    for asked, code in ((wallet, grpc.StatusCode.FAILED_PRECONDITION), ("0x" + "55" * 20, grpc.StatusCode.NOT_FOUND)):
        with pytest.raises(Refused) as refused:
            remove(servicer, asked)
        assert refused.value.code() == code
        assert ("is not a paper wallet: it is not removed" if code == grpc.StatusCode.FAILED_PRECONDITION
                else "holds no key for wallet") in refused.value.details()
    assert send(servicer, wallet, "1000").raw_transaction  # the real wallet's key and policy are where they were
    denied = [e for e in read_entries(paths.audit_log) if e.get("action") == "remove_paper_wallet"]
    assert [(e["wallet"], e["decision"]) for e in denied] == [(wallet, "deny"), ("0x" + "55" * 20, "deny")]
    keystore = Keystore(paths.keystore_dir, "pw")
    solana = keystore.create_wallet("solana", light_kdf=True)
    PolicyStore(paths.policy_dir).set(solana, WalletPolicy.model_validate(POLICY))
    solana_paper = create(servicer, solana)
    remove(servicer, solana_paper)
    assert {address for address, _, _ in Keystore(paths.keystore_dir, "pw").listed()} == {wallet, solana}
