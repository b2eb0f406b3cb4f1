"""The bytes of the two EVM transaction types the signer signs, without eth-account's
per-call dictionary normalisation (about three quarters of a signature's cost there).

Only serialisation lives here: RLP (the Ethereum yellow paper, appendix B) of an EIP-1559
(type 2, empty access list) or an EIP-155 legacy transaction whose fields `evm.transaction_dict`
has already validated. Hashing is eth-utils' keccak and signing is eth-keys' (coincurve, with
low-s), as before. `tests/unit/test_evm_encoding.py` checks every byte against eth-account's
own encoding over generated transactions, so the two cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any

from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


def rlp(item: int | bytes | list[Any]) -> bytes:
    """RLP of a non-negative integer (big-endian, no leading zeros), bytes, or a list of those."""
    if isinstance(item, list):
        body = b"".join(rlp(element) for element in item)
        return _length_prefix(len(body), 0xC0) + body
    if isinstance(item, int):
        if item < 0:
            raise ValueError("RLP encodes non-negative integers only")
        item = item.to_bytes((item.bit_length() + 7) // 8, "big")
    if len(item) == 1 and item[0] < 0x80:
        return item
    return _length_prefix(len(item), 0x80) + item


def sign_fields(key: PrivateKey, fields: dict[str, Any]) -> tuple[bytes, bytes]:
    """(raw signed transaction, its hash) for `fields` as `evm.transaction_dict` makes them."""
    to = bytes.fromhex(fields["to"][2:])
    if "maxFeePerGas" in fields:  # EIP-1559 (type 2), as eth-account infers it too
        unsigned = [fields["chainId"], fields["nonce"], fields["maxPriorityFeePerGas"], fields["maxFeePerGas"], fields["gas"], to,
                    fields["value"], fields["data"], []]
        signature = key.sign_msg_hash(keccak(b"\x02" + rlp(unsigned)))
        raw = b"\x02" + rlp([*unsigned, signature.v, signature.r, signature.s])
    else:  # EIP-155: the chain id is in the signed payload and in v
        chain_id = fields["chainId"]
        body = [fields["nonce"], fields["gasPrice"], fields["gas"], to, fields["value"], fields["data"]]
        signature = key.sign_msg_hash(keccak(rlp([*body, chain_id, 0, 0])))
        raw = rlp([*body, signature.v + 35 + 2 * chain_id, signature.r, signature.s])
    return raw, keccak(raw)
