"""Stockpiled signatures. An earlier platform let the agent choose a transaction's nonce and
its signer signed any nonce: a far-future nonce is a signature kept for later (broadcast
after a halt, a rolling window or a policy change), and a chosen nonce could replace another
session's pending transaction. Nonces are now the platform's, and the signer signs none far
past the last one it signed."""

from __future__ import annotations

import grpc

from tests.attacks.conftest import attack, audit_entries, balance, evm_tx, funded_wallet, nonce_of, refused, signer_stub

DEAD = "0x000000000000000000000000000000000000dEaD"


def test_an_agents_nonce_is_not_the_one_signed(evm, evm_attacker):
    wallet = funded_wallet(evm, wei=10**18)
    evm.set_policy(wallet, {"allowed_chain_ids": [31337], "allowed_recipients": [DEAD],
                            "spend_caps": [{"chain_id": 31337, "asset": "native", "amount": str(10**17)}]})
    before = balance(evm, DEAD)
    far, replacing = attack(evm, evm_attacker, wallet, [
        ["sign_and_send", {"network": "ethereum:31337", "request": {"to_address": DEAD, "data": "0x", "value": "1000", "nonce": 1000}}],
        ["sign_and_send", {"network": "ethereum:31337", "request": {"to_address": DEAD, "data": "0x", "value": "1000", "nonce": 0}}],
    ])
    assert far["success"] and replacing["success"], (far, replacing)
    # The chain's next nonces, in order: nothing kept for later, nothing replaced.
    assert [evm.web3.eth.get_transaction(s["data"]["tx_hash"])["nonce"] for s in (far, replacing)] == [0, 1]
    assert nonce_of(evm, wallet) == 2 and balance(evm, DEAD) - before == 2000
    signed_nonces = [e["nonce"][1] for e in audit_entries(evm)
                     if e.get("wallet") == wallet and e["action"] == "sign_evm_transaction" and e["decision"] == "allow"]
    assert signed_nonces == [0, 1]


def test_a_compromised_orchestrator_cannot_have_a_far_future_nonce_signed(evm):
    wallet = funded_wallet(evm, wei=10**18)
    evm.set_policy(wallet, {"allowed_chain_ids": [31337], "allowed_recipients": [DEAD]})
    signer = signer_stub(evm)
    refusal = refused(signer.SignEvmTransaction, evm_tx(wallet, DEAD, value=1000, nonce=1000))
    assert refusal.code() == grpc.StatusCode.PERMISSION_DENIED and "nonce-window" in refusal.details()
    assert signer.SignEvmTransaction(evm_tx(wallet, DEAD, value=1000, nonce=7)).raw_transaction  # within the window of 8
    refusal = refused(signer.SignEvmTransaction, evm_tx(wallet, DEAD, value=1000, nonce=16))
    assert "nonce-window" in refusal.details()  # the window moves with what was signed: 7 + 8 = 15 at most
    assert nonce_of(evm, wallet) == 0
