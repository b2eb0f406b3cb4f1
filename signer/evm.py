"""Signing EVM transactions with eth-account (no hand-written cryptography)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils.address import to_checksum_address

from corral.v1 import signer_pb2
from signer import evm_encoding

if TYPE_CHECKING:
    from eth_keys.datatypes import PrivateKey

_WEI = re.compile(r"^[0-9]{1,77}$")  # ASCII digits only: str.isdigit() admits "²" and other scripts' digits


class MalformedTransaction(ValueError):
    pass


@dataclass(frozen=True)
class SignedTransaction:
    raw: bytes
    tx_hash: str


def transaction_dict(tx: signer_pb2.EvmUnsignedTransaction) -> dict[str, Any]:
    """The eth-account form of a wire transaction; raises MalformedTransaction with the field to fix."""
    if tx.chain_id <= 0:
        raise MalformedTransaction("chain_id must be a positive integer")
    try:
        to = _checksummed(tx.to)
    except ValueError:
        raise MalformedTransaction(f"to {tx.to!r} is not a 20-byte hex address") from None
    fields: dict[str, Any] = {
        "chainId": tx.chain_id,
        "nonce": tx.nonce,
        "to": to,
        "value": _wei("value", tx.value),
        "data": bytes(tx.data),
        "gas": tx.gas,
    }
    if tx.gas <= 0:
        raise MalformedTransaction("gas must be a positive integer")
    which = tx.WhichOneof("fees")
    if which == "eip1559":
        fields["maxFeePerGas"] = _wei("max_fee_per_gas", tx.eip1559.max_fee_per_gas)
        fields["maxPriorityFeePerGas"] = _wei("max_priority_fee_per_gas", tx.eip1559.max_priority_fee_per_gas)
        fields["type"] = 2
    elif which == "legacy":
        fields["gasPrice"] = _wei("gas_price", tx.legacy.gas_price)
    else:
        raise MalformedTransaction("fees must be set: eip1559 or legacy")
    return fields


@lru_cache(maxsize=4096)
def _checksummed(address: str) -> str:
    """Recipients repeat (routers, tokens, the same few addresses): checksum each once."""
    return to_checksum_address(address)


def sign(key: PrivateKey, fields: dict[str, Any]) -> SignedTransaction:
    """Signs with `key` as given (its public key derived once, by the keystore), encoding the
    already validated fields directly (evm_encoding.py), not through Account.sign_transaction,
    which re-derives the account and re-normalises every field on each call."""
    raw, tx_hash = evm_encoding.sign_fields(key, fields)
    return SignedTransaction(raw=raw, tx_hash="0x" + tx_hash.hex())


def _wei(name: str, text: str) -> int:
    if not _WEI.match(text):
        raise MalformedTransaction(f"{name} must be a non-negative integer string of wei (digits 0-9, below 2^256), got {text[:80]!r}")
    return int(text)


@dataclass(frozen=True)
class SignedMessage:
    v: int
    r: str
    s: str
    signature: str
    message_hash: str


def sign_message(key: PrivateKey, eip191: bytes | None = None, typed_data: dict[str, Any] | None = None) -> SignedMessage:
    """EIP-191 (personal_sign) of `eip191`, or EIP-712 of the full `typed_data` object."""
    if typed_data is not None:
        try:
            signable = encode_typed_data(full_message=typed_data)
        except Exception as exc:  # eth-account raises several types for malformed typed data
            raise MalformedTransaction(f"typed data is not valid EIP-712: {exc}") from None
    else:
        signable = encode_defunct(primitive=eip191 or b"")
    signed = Account.sign_message(signable, key)
    return SignedMessage(
        v=signed.v,
        r="0x" + signed.r.to_bytes(32, "big").hex(),
        s="0x" + signed.s.to_bytes(32, "big").hex(),
        signature="0x" + bytes(signed.signature).hex(),
        message_hash="0x" + bytes(signed.message_hash).hex(),
    )
