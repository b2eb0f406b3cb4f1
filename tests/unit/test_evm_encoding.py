"""The signer's own transaction encoding is byte for byte eth-account's, for every field range
the wire admits (EIP-1559 and EIP-155 legacy, short and long calldata, zero and 2^256 - 1
values), and the RLP it uses is the standard one."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_keys import keys
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.v1 import signer_pb2
from signer import evm
from signer.evm_encoding import rlp

KEY = keys.PrivateKey(bytes.fromhex("42" * 32))
UINT = st.one_of(st.integers(0, 2**256 - 1), st.sampled_from([0, 1, 127, 128, 255, 256, 2**64 - 1, 2**256 - 1]))


@st.composite
def wire_transactions(draw):
    tx = signer_pb2.EvmUnsignedTransaction(
        chain_id=draw(st.one_of(st.integers(1, 2**64 - 1), st.sampled_from([1, 137, 31337]))),
        nonce=draw(st.integers(0, 2**64 - 1)), to="0x" + draw(st.binary(min_size=20, max_size=20)).hex(),
        value=str(draw(UINT) % 10**77), data=draw(st.one_of(st.binary(max_size=60), st.binary(min_size=55, max_size=3000))),
        gas=draw(st.integers(1, 2**64 - 1)),
    )
    if draw(st.booleans()):
        tx.eip1559.max_priority_fee_per_gas = str(draw(UINT) % 10**77)
        tx.eip1559.max_fee_per_gas = str(draw(UINT) % 10**77)
    else:
        tx.legacy.gas_price = str(draw(UINT) % 10**77)
    return tx


@settings(max_examples=400, deadline=None)
@given(wire_transactions())
def test_the_signers_encoding_is_eth_accounts(tx):
    fields = evm.transaction_dict(tx)
    reference = Account.sign_transaction(fields, KEY)
    signed = evm.sign(KEY, fields)
    assert signed.raw == bytes(reference.raw_transaction)
    assert signed.tx_hash == "0x" + bytes(reference.hash).hex()


@pytest.mark.parametrize("item, encoded", [
    (b"", b"\x80"), (0, b"\x80"), (b"\x00", b"\x00"), (b"\x7f", b"\x7f"), (b"\x80", b"\x81\x80"), (127, b"\x7f"), (128, b"\x81\x80"),
    (1024, b"\x82\x04\x00"), (b"dog", b"\x83dog"), ([], b"\xc0"), ([b"cat", b"dog"], b"\xc8\x83cat\x83dog"),
    (b"a" * 56, b"\xb8\x38" + b"a" * 56), ([[], [[]], [[], [[]]]], b"\xc7\xc0\xc1\xc0\xc3\xc0\xc1\xc0"),
])
def test_rlp_matches_the_yellow_papers_examples(item, encoded):
    assert rlp(item) == encoded


@pytest.mark.parametrize("fees", [{"maxFeePerGas": 2, "maxPriorityFeePerGas": 1}, {"maxFeePerGas": 2, "maxPriorityFeePerGas": 1, "type": 2},
                                  {"gasPrice": 1}])
def test_the_type_follows_the_fee_fields_as_in_eth_account(fees):
    """The start-up warm-up signs EIP-1559 fields without "type": eth-account infers type 2."""
    fields = {"chainId": 1, "nonce": 0, "to": "0x" + "00" * 20, "value": 0, "data": b"", "gas": 21000, **fees}
    assert evm.sign(KEY, fields).raw == bytes(Account.sign_transaction(fields, KEY).raw_transaction)
