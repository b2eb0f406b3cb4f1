"""Messages the signer signs: EIP-191 only as the owner allows it (no raw hashes, no binary,
optional prefixes), EIP-712 only for a named chain, contract and primary type, permits and
Safe transactions only within their field rules — and what is checked is what is hashed."""

from __future__ import annotations

import pytest
from eth_account.messages import encode_typed_data
from eth_keys.datatypes import PrivateKey
from pydantic import ValidationError

from signer import evm
from signer.policy import SpendLedger, WalletPolicy, decide_eip191, decide_eip712

WALLET = "0x" + "11" * 20
TOKEN = "0x" + "22" * 20
ROUTER = "0x" + "33" * 20
STRANGER = "0x" + "44" * 20
SAFE = "0x" + "55" * 20
PERMIT2 = "0x000000000022d473030f116ddee9f6b43ac78ba3"
NOW = 1_700_000_000.0

MAIL_TYPES = {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"},
                               {"name": "verifyingContract", "type": "address"}],
              "Mail": [{"name": "contents", "type": "string"}]}


def typed(primary: str, message: dict, types: dict, chain: int = 1, contract: str = TOKEN, name: str = "Token") -> dict:
    domain = {"name": name, "chainId": chain, "verifyingContract": contract}
    return {"types": {**types, "EIP712Domain": MAIL_TYPES["EIP712Domain"]}, "primaryType": primary, "domain": domain, "message": message}


def permit(spender: str = ROUTER, value: int = 100, deadline: float = NOW + 600) -> dict:
    fields = [("owner", "address"), ("spender", "address"), ("value", "uint256"), ("nonce", "uint256"), ("deadline", "uint256")]
    return typed("Permit", {"owner": WALLET, "spender": spender, "value": value, "nonce": 0, "deadline": int(deadline)},
                 {"Permit": [{"name": n, "type": t} for n, t in fields]})


def decide(policy, data: dict, ledger=None, session_id=0):
    return decide_eip712(policy, WALLET, data, ledger or SpendLedger(), NOW, False, session_id)


MAIL_RULE = {"chain_id": 1, "verifying_contract": TOKEN, "primary_types": ["Mail"]}
PERMIT_RULE = {"chain_id": 1, "verifying_contract": TOKEN, "primary_types": ["Permit"],
               "permit": {"spenders": [ROUTER], "max_amount": "500", "max_deadline_seconds": 3600}}


# ---- EIP-191 ---------------------------------------------------------------------------

def test_eip191_is_off_without_its_section():
    assert decide_eip191(WalletPolicy(), b"hello").rule == "eip191-allowed"
    assert not decide_eip191(WalletPolicy(), b"hello").allowed
    assert decide_eip191(WalletPolicy(eip191={}), b"hello").allowed


def test_a_raw_hash_and_binary_payloads_need_opting_in():
    safe_tx_hash = bytes.fromhex("ab" * 32)
    assert decide_eip191(WalletPolicy(eip191={}), safe_tx_hash).rule == "eip191-raw-hash"
    assert decide_eip191(WalletPolicy(eip191={"allow_raw_hashes": True, "allow_binary": True}), safe_tx_hash).allowed
    assert decide_eip191(WalletPolicy(eip191={}), b"\xff\xfe binary").rule == "eip191-binary"
    assert decide_eip191(WalletPolicy(eip191={"allow_binary": True}), b"\xff\xfe binary").allowed


def test_eip191_can_be_limited_to_sign_in_messages():
    policy = WalletPolicy(eip191={"prefixes": ["app.example.com wants you to sign in"]})
    assert decide_eip191(policy, b"app.example.com wants you to sign in with your Ethereum account:\n0x...").allowed
    assert decide_eip191(policy, b"evil.example wants you to sign in").rule == "eip191-prefix"


# ---- EIP-712 ---------------------------------------------------------------------------

def test_a_rule_must_name_chain_contract_and_primary_types():
    for incomplete in ({}, {"chain_id": 1, "verifying_contract": TOKEN}, {"chain_id": 1, "primary_types": ["Mail"]}):
        with pytest.raises(ValidationError):
            WalletPolicy(eip712=[incomplete])


def test_typed_data_is_matched_on_domain_and_primary_type():
    policy = WalletPolicy(eip712=[MAIL_RULE])
    mail = typed("Mail", {"contents": "hi"}, {"Mail": MAIL_TYPES["Mail"]})
    assert decide(policy, mail).allowed
    assert decide(policy, {**mail, "domain": {**mail["domain"], "chainId": 5}}).rule == "eip712-domain-allowlist"
    assert decide(policy, {**mail, "domain": {**mail["domain"], "verifyingContract": STRANGER}}).rule == "eip712-domain-allowlist"
    no_chain = {k: v for k, v in mail["domain"].items() if k != "chainId"}
    assert decide(policy, {**mail, "domain": no_chain}).rule == "eip712-domain-allowlist"
    # The attack: an unlimited Permit in a domain a name-only rule used to allow.
    assert decide(policy, permit(value=2**256 - 1)).rule == "eip712-primary-type"
    assert decide(WalletPolicy(), mail).rule == "eip712-domain-allowlist"
    assert decide(policy, {"message": {}}).rule == "eip712-domain-allowlist"


def test_a_permit_must_be_named_with_its_limits():
    with pytest.raises(ValidationError, match="permit"):
        WalletPolicy(eip712=[{"chain_id": 1, "verifying_contract": TOKEN, "primary_types": ["Permit"]}])
    policy = WalletPolicy(eip712=[PERMIT_RULE])
    assert decide(policy, permit()).allowed
    assert decide(policy, permit(spender=STRANGER)).rule == "eip712-permit"
    assert decide(policy, permit(value=501)).rule == "eip712-permit"
    assert decide(policy, permit(deadline=NOW + 3601)).rule == "eip712-permit"
    assert decide(policy, permit(value="0x1f5")).rule == "eip712-permit"  # 501 written as hex is still 501
    renamed = permit()
    renamed["types"]["Permit"] = renamed["types"]["Permit"][:-1]  # a "Permit" without a deadline
    assert decide(policy, renamed).rule == "eip712-permit"


def test_a_permit_is_a_spend_of_its_token():
    policy = WalletPolicy(eip712=[PERMIT_RULE], spend_caps=[{"chain_id": 1, "asset": TOKEN, "amount": "300"}])
    ledger = SpendLedger()
    first = decide(policy, permit(value=200), ledger)
    assert first.allowed
    ledger.reserve(WALLET, first.commitments, NOW, 0)
    assert ledger.allowance(WALLET, 1, TOKEN, ROUTER) == 200
    assert decide(policy, permit(value=200), ledger).rule == "spend-cap"


def test_permit2_grants_are_checked_per_token():
    details = [{"name": "token", "type": "address"}, {"name": "amount", "type": "uint160"},
               {"name": "expiration", "type": "uint48"}, {"name": "nonce", "type": "uint48"}]
    single = [{"name": "details", "type": "PermitDetails"}, {"name": "spender", "type": "address"}, {"name": "sigDeadline", "type": "uint256"}]
    rule = {"chain_id": 1, "verifying_contract": PERMIT2, "primary_types": ["PermitSingle"],
            "permit": {"spenders": [ROUTER], "max_amount": "1000", "max_deadline_seconds": 600}}
    policy = WalletPolicy(eip712=[rule])

    def single_permit(amount=100, expiration=NOW + 300):
        message = {"details": {"token": TOKEN, "amount": amount, "expiration": int(expiration), "nonce": 0}, "spender": ROUTER,
                   "sigDeadline": int(NOW + 300)}
        return typed("PermitSingle", message, {"PermitSingle": single, "PermitDetails": details}, contract=PERMIT2, name="Permit2")

    decision = decide(policy, single_permit())
    assert decision.allowed and [(s.asset, s.amount) for s in decision.spends] == [(TOKEN, 100)]
    assert decide(policy, single_permit(amount=1001)).rule == "eip712-permit"
    assert decide(policy, single_permit(expiration=NOW + 86_400 * 30)).rule == "eip712-permit"  # an allowance for a month


def test_safe_transactions_and_venue_types():
    safe_fields = [("to", "address"), ("value", "uint256"), ("data", "bytes"), ("operation", "uint8"), ("safeTxGas", "uint256"),
                   ("baseGas", "uint256"), ("gasPrice", "uint256"), ("gasToken", "address"), ("refundReceiver", "address"),
                   ("nonce", "uint256")]

    def safe_tx(**fields):
        message = {"to": TOKEN, "value": 0, "data": "0x", "operation": 0, "safeTxGas": 0, "baseGas": 0, "gasPrice": 0,
                   "gasToken": "0x" + "00" * 20, "refundReceiver": "0x" + "00" * 20, "nonce": 1, **fields}
        return typed("SafeTx", message, {"SafeTx": [{"name": n, "type": t} for n, t in safe_fields]}, contract=SAFE, name="Safe")

    with pytest.raises(ValidationError, match="safe_tx"):
        WalletPolicy(eip712=[{"chain_id": 1, "verifying_contract": SAFE, "primary_types": ["SafeTx"]}])
    policy = WalletPolicy(eip712=[{"chain_id": 1, "verifying_contract": SAFE, "primary_types": ["SafeTx"],
                                   "safe_tx": {"allowed_to": [TOKEN], "max_value": "10"}}])
    assert decide(policy, safe_tx()).allowed
    assert decide(policy, safe_tx(to=STRANGER)).rule == "eip712-safe-tx"
    assert decide(policy, safe_tx(value=11)).rule == "eip712-safe-tx"
    assert decide(policy, safe_tx(operation=1)).rule == "eip712-safe-tx"  # delegatecall
    assert decide(policy, safe_tx(gasPrice=1)).rule == "eip712-safe-tx"  # a refund out of the Safe
    assert decide(policy, safe_tx(data="0xa9059cbb")).rule == "eip712-safe-tx"
    for venue_type in ("Agent", "ClobAuth", "SafeMessage"):
        with pytest.raises(ValidationError, match="never signed"):
            WalletPolicy(eip712=[{"chain_id": 1, "verifying_contract": SAFE, "primary_types": [venue_type]}])


def test_what_is_checked_is_what_eth_account_hashes():
    """The rule reads chainId and amounts as eth-account encodes them: a domain whose chainId
    is a string, or an amount in hex, is judged as the number that is signed."""
    policy = WalletPolicy(eip712=[PERMIT_RULE])
    as_text = permit(value="500")
    as_text["domain"]["chainId"] = "1"
    assert decide(policy, as_text).allowed
    signed_as = encode_typed_data(full_message=as_text)
    assert signed_as.header == encode_typed_data(full_message=permit(value=500)).header  # same domain separator
    assert signed_as.body == encode_typed_data(full_message=permit(value=500)).body
    key = PrivateKey(b"\x01" * 32)
    assert evm.sign_message(key, typed_data=as_text).signature == evm.sign_message(key, typed_data=permit(value=500)).signature
