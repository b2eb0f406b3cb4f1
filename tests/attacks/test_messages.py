"""Messages worth money. An earlier signer matched EIP-712 rules on the domain only (the
primary type and message were never looked at; `{}` was a rule): an unlimited `Permit` was
signed under a name-only rule. EIP-191 signed any bytes, a raw 32-byte hash included (a
Safe takes that as an owner's approval of a transaction). Permits signed here are submitted
to a real EIP-2612 token on anvil, so an allowance read back shows what a signature is worth."""

from __future__ import annotations

import time

import grpc
from web3 import Web3

from corral.v1 import signer_pb2
from tests.attacks.conftest import attack, audit_entries, funded_wallet, refused, signer_stub, token

ROUTER = "0x00000000000000000000000000000000000000a1"
STRANGER = "0x000000000000000000000000000000000000bad1"
PERMIT_FIELDS = [("owner", "address"), ("spender", "address"), ("value", "uint256"), ("nonce", "uint256"), ("deadline", "uint256")]


def permit_request(erc20, owner: str, spender: str, value: int, deadline: int) -> list:
    typed = {
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                   {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
                  "Permit": [{"name": n, "type": t} for n, t in PERMIT_FIELDS]},
        "primaryType": "Permit",
        "domain": {"name": "Test USD", "version": "1", "chainId": 31337, "verifyingContract": erc20.address},
        "message": {"owner": owner, "spender": spender, "value": str(value), "nonce": 0, "deadline": deadline},
    }
    return ["sign_message", {"messageType": "eip712", "chainId": 31337, "data": typed}]


def allowance(erc20, owner: str, spender: str) -> int:
    return erc20.functions.allowance(Web3.to_checksum_address(owner), Web3.to_checksum_address(spender)).call()


def submit_permit(stack, erc20, owner: str, spender: str, value: int, deadline: int, signed: dict) -> None:
    data = signed["data"]
    erc20.functions.permit(Web3.to_checksum_address(owner), Web3.to_checksum_address(spender), value, deadline, data["v"],
                           bytes.fromhex(data["r"][2:]), bytes.fromhex(data["s"][2:])).transact({"from": stack.web3.eth.accounts[0]})


def test_a_permit_is_signed_only_within_its_rule_and_an_unlimited_one_never(evm, evm_attacker):
    erc20 = token(evm)
    wallet = funded_wallet(evm)
    erc20.functions.mint(Web3.to_checksum_address(wallet), 10**9).transact({"from": evm.web3.eth.accounts[0]})
    evm.set_policy(wallet, {"allowed_chain_ids": [31337], "eip712": [
        {"chain_id": 31337, "verifying_contract": erc20.address, "name": "Test USD", "primary_types": ["Permit"],
         "permit": {"spenders": [ROUTER], "max_amount": "100", "max_deadline_seconds": 3600}}]})
    deadline = int(time.time()) + 600
    unlimited, to_stranger, late, bounded = attack(evm, evm_attacker, wallet, [
        permit_request(erc20, wallet, ROUTER, 2**256 - 1, deadline),
        permit_request(erc20, wallet, STRANGER, 1, deadline),
        permit_request(erc20, wallet, ROUTER, 100, deadline + 86_400 * 365),
        permit_request(erc20, wallet, ROUTER, 100, deadline),
    ])
    for envelope in (unlimited, to_stranger, late):
        assert not envelope["success"] and "eip712-permit" in envelope["error"], envelope
    assert allowance(erc20, wallet, ROUTER) == allowance(erc20, wallet, STRANGER) == 0
    # The one within the rule is a real permit: the token accepts it.
    assert bounded["success"], bounded
    submit_permit(evm, erc20, wallet, ROUTER, 100, deadline, bounded)
    assert allowance(erc20, wallet, ROUTER) == 100


def test_a_rule_for_one_message_type_does_not_let_a_permit_through(evm, evm_attacker):
    """The owner allows the token's domain for some other message: a Permit in that domain is
    still refused (the rule names primary types; a permit also needs its limits)."""
    erc20 = token(evm)
    wallet = funded_wallet(evm)
    evm.set_policy(wallet, {"allowed_chain_ids": [31337], "eip712": [
        {"chain_id": 31337, "verifying_contract": erc20.address, "name": "Test USD", "primary_types": ["Mail"]}]})
    [unlimited] = attack(evm, evm_attacker, wallet, [permit_request(erc20, wallet, STRANGER, 2**256 - 1, int(time.time()) + 600)])
    assert not unlimited["success"] and "eip712-primary-type" in unlimited["error"], unlimited
    assert allowance(erc20, wallet, STRANGER) == 0


def test_eip191_refuses_hash_sized_messages_from_an_agent(evm, evm_attacker):
    wallet = funded_wallet(evm)
    evm.set_policy(wallet, {"allowed_chain_ids": [31337], "eip191": {"prefixes": ["corral.test wants you to sign in"]}})
    thirty_two, off_prefix, sign_in = attack(evm, evm_attacker, wallet, [
        ["sign_message", {"messageType": "eip191", "chainId": 31337, "data": {"message": "A" * 32}}],
        ["sign_message", {"messageType": "eip191", "chainId": 31337, "data": {"message": "please sign this harmless text"}}],
        ["sign_message", {"messageType": "eip191", "chainId": 31337, "data": {"message": "corral.test wants you to sign in: 42"}}],
    ])
    assert not thirty_two["success"] and "eip191-raw-hash" in thirty_two["error"]
    assert not off_prefix["success"] and "eip191-prefix" in off_prefix["error"]
    assert sign_in["success"], sign_in


def test_a_compromised_orchestrator_cannot_have_a_raw_hash_signed(evm):
    wallet = funded_wallet(evm, {"allowed_chain_ids": [31337], "eip191": {}})
    signer = signer_stub(evm)
    safe_tx_hash = bytes.fromhex("5f" * 32)
    for payload, rule in [(safe_tx_hash, "eip191-raw-hash"), (b"\xff\xfe\x00binary", "eip191-binary")]:
        refusal = refused(signer.SignEvmMessage, signer_pb2.SignEvmMessageRequest(
            wallet_address=wallet, eip191=signer_pb2.Eip191Message(message=payload)))
        assert refusal.code() == grpc.StatusCode.PERMISSION_DENIED and rule in refusal.details()
        assert audit_entries(evm)[-1]["decision"] == "deny" and "message_hash" not in audit_entries(evm)[-1]
