"""Every signature the signer's EVM code makes verifies with independent library calls."""

from __future__ import annotations

from eth_account import Account
from eth_keys import keys
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.v1 import signer_pb2
from signer import evm

KEY = keys.PrivateKey(bytes.fromhex("42" * 32))
ADDRESS = KEY.public_key.to_checksum_address()


@st.composite
def wire_transactions(draw):
    tx = signer_pb2.EvmUnsignedTransaction(
        chain_id=draw(st.integers(1, 2**32)),
        nonce=draw(st.integers(0, 2**40)),
        to="0x" + draw(st.binary(min_size=20, max_size=20)).hex(),
        value=str(draw(st.integers(0, 2**128))),
        data=draw(st.binary(max_size=200)),
        gas=draw(st.integers(21000, 30_000_000)),
    )
    if draw(st.booleans()):
        tip = draw(st.integers(0, 10**11))
        tx.eip1559.max_priority_fee_per_gas = str(tip)
        tx.eip1559.max_fee_per_gas = str(tip + draw(st.integers(0, 10**12)))
    else:
        tx.legacy.gas_price = str(draw(st.integers(1, 10**12)))
    return tx


@settings(max_examples=150, deadline=None)
@given(wire_transactions())
def test_signatures_verify_independently(tx):
    fields = evm.transaction_dict(tx)
    signed = evm.sign(KEY, fields)
    assert Account.recover_transaction(signed.raw) == ADDRESS
    assert signed.tx_hash == "0x" + keccak(signed.raw).hex()
    assert signed.raw[0] == (2 if tx.WhichOneof("fees") == "eip1559" else signed.raw[0])
