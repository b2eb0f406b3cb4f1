"""Fees as a payment channel. An earlier signer signed whatever gas and fee per gas it was
given: one zero-value transfer to an allowed recipient cost the wallet 21 ETH of fees
(30M gas, a call that burns all of it, at 700 gwei) under a policy capping native spend at
0.01 ETH a day. Fees are now the platform's, and the signer counts them worst case."""

from __future__ import annotations

import grpc
from web3 import Web3

from tests.attacks.conftest import GWEI, attack, audit_entries, balance, evm_tx, nonce_of, refused, signer_stub

DEAD = "0x000000000000000000000000000000000000dEaD"


def test_an_agent_cannot_raise_the_gas_or_fees_the_platform_sets(evm, evm_attacker):
    wallet = evm.create_wallet(recipients=[DEAD])
    evm.fund(wallet, 25 * 10**18)
    before, dead_before = balance(evm, wallet), balance(evm, DEAD)
    [sent] = attack(evm, evm_attacker, wallet, [["sign_and_send", {"network": "ethereum:31337", "request": {
        "to_address": DEAD, "data": "0x", "value": "0", "gas": 30_000_000,
        "max_fee_per_gas": str(700 * GWEI), "max_priority_fee_per_gas": str(700 * GWEI)}}]])
    assert sent["success"], sent
    tx = evm.web3.eth.get_transaction(sent["data"]["tx_hash"])
    receipt = evm.web3.eth.get_transaction_receipt(sent["data"]["tx_hash"])
    # The platform's estimate and the chain's fees, not the agent's: a plain transfer's gas.
    assert tx["gas"] == 21_000 and tx["maxFeePerGas"] < 700 * GWEI and tx["maxPriorityFeePerGas"] < 700 * GWEI
    paid = before - balance(evm, wallet)
    assert paid == receipt["gasUsed"] * receipt["effectiveGasPrice"] < 21_000 * 10 * GWEI
    assert balance(evm, DEAD) == dead_before


def test_a_fee_spike_over_the_ceiling_is_refused_not_paid(evm, evm_attacker):
    """The chain's own fees go over the policy's ceiling (500 gwei a gas by default): the
    signer refuses, and the wallet pays nothing."""
    wallet = evm.create_wallet(recipients=[DEAD])
    evm.fund(wallet, 10**18)
    before, dead_before = balance(evm, wallet), balance(evm, DEAD)
    evm.web3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(600 * GWEI)])
    evm.web3.provider.make_request("evm_mine", [])
    try:
        [sent] = attack(evm, evm_attacker, wallet, [["sign_and_send", {"network": "ethereum:31337", "request": {
            "to_address": DEAD, "data": "0x", "value": "1000"}}]])
    finally:
        evm.web3.provider.make_request("anvil_setNextBlockBaseFeePerGas", [hex(GWEI)])
        evm.web3.provider.make_request("evm_mine", [])
    assert not sent["success"] and "fee-per-gas" in sent["error"], sent
    assert (balance(evm, wallet), nonce_of(evm, wallet), balance(evm, DEAD)) == (before, 0, dead_before)


def test_a_compromised_orchestrator_cannot_have_gas_stuffed_transactions_signed(evm):
    wallet = evm.create_wallet(recipients=[DEAD])
    evm.fund(wallet, 25 * 10**18)
    signer = signer_stub(evm)
    for request, rule in [
        (evm_tx(wallet, DEAD, gas=30_000_000, fee=700 * GWEI), "fee-per-gas"),  # 21 ETH of fees
        (evm_tx(wallet, DEAD, gas=30_000_000, fee=400 * GWEI), "fee-cap"),       # 12 ETH
        (evm_tx(wallet, DEAD, gas=30_000_000, fee=400 * GWEI, legacy=True), "fee-cap"),
    ]:
        refusal = refused(signer.SignEvmTransaction, request)
        assert refusal.code() == grpc.StatusCode.PERMISSION_DENIED and rule in refusal.details()
        assert audit_entries(evm)[-1]["decision"] == "deny" and "transaction_hash" not in audit_entries(evm)[-1]
    assert nonce_of(evm, wallet) == 0 and balance(evm, wallet) == 25 * 10**18


def test_fees_count_against_the_daily_native_cap(evm):
    """Zero-value transactions, each paying up to 21,000 gas x 100 gwei = 0.0021 ETH of fees,
    against a cap of 0.01 ETH a day: four are signed, the fifth is not; the fees the chain
    actually took stay within the cap."""
    wallet = evm.create_wallet(recipients=[DEAD])
    evm.corral("signer", "--home", str(evm.signer_home), "policy", "set", wallet, "--allow-chain", "31337",
               "--allow-recipient", DEAD, "--daily-cap", str(10**16))
    evm.fund(wallet, 10**18)
    signer = signer_stub(evm)
    signed = []
    for nonce in range(4):
        signed.append(signer.SignEvmTransaction(evm_tx(wallet, DEAD, fee=100 * GWEI, nonce=nonce)))
    refusal = refused(signer.SignEvmTransaction, evm_tx(wallet, DEAD, fee=100 * GWEI, nonce=4))
    assert "spend-cap" in refusal.details()
    for response in signed:
        evm.web3.eth.wait_for_transaction_receipt(evm.web3.eth.send_raw_transaction(response.raw_transaction), timeout=30)
    assert nonce_of(evm, wallet) == 4
    assert 10**18 - balance(evm, Web3.to_checksum_address(wallet)) <= 10**16
