"""Native-token addresses, network-id patterns and chain names, and `address_problem`: is this an address on a wallet type's chains?"""

from __future__ import annotations

import re
from typing import Any

from corral.networks import LEGACY_NATIVE_EVM, NATIVE_EVM, NATIVE_SOLANA, address_key, native_asset  # noqa: F401 — re-exported
from orchestrator.agents.manifest.choices import WALLET_TYPES
from orchestrator.agents.manifest.problems import _kinds, _one_of

_EVM_NETWORK = re.compile(r"^ethereum:([1-9]\d*)$")
_HYPERCORE_NETWORK = re.compile(r"^hypercore:[a-z0-9-]+$")
_EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_KNOWN_CHAINS = {
    "ethereum": 1, "mainnet": 1, "eth": 1, "evm": 1, "polygon": 137, "matic": 137, "arbitrum": 42161, "optimism": 10,
    "base": 8453, "avalanche": 43114, "avax": 43114, "bsc": 56,
}


def _base58_length(text: str) -> int | None:
    """How many bytes a base58 string decodes to; None when it is not base58 (or far too long for a key)."""
    if len(text) > 64:
        return None
    number = 0
    for ch in text:
        digit = _BASE58.find(ch)
        if digit < 0:
            return None
        number = number * 58 + digit
    return len(text) - len(text.lstrip("1")) + (number.bit_length() + 7) // 8


def address_problem(address: Any, wallet_type: str) -> str | None:
    """Why `address` is not an address of `wallet_type`'s chains, with the fix; None when it is."""
    if not isinstance(address, str):
        return f"must be a string, not {_kinds(address)}; put the address in double quotes"
    if wallet_type == "ethereum":
        if _EVM_ADDRESS.match(address):
            body = address[2:]
            if body != body.lower() and body != body.upper():
                from eth_utils import is_checksum_address

                if not is_checksum_address(address):
                    return (
                        "is mixed-case but its EIP-55 checksum is wrong (a typo?); copy the address again, "
                        "or write it all in lowercase to skip the checksum"
                    )
            return None
        if _base58_length(address) == 32:
            return "is a Solana address; an ethereum agent needs 0x followed by 40 hex digits, e.g. \"0x000000000000000000000000000000000000dEaD\""
        return "is not an EVM address; write 0x followed by 40 hex digits, e.g. \"0x000000000000000000000000000000000000dEaD\""
    if wallet_type == "solana":
        if 32 <= len(address) <= 44 and _base58_length(address) == 32:
            return None
        if _EVM_ADDRESS.match(address):
            return f"is an EVM address; a solana agent needs a base58 Solana address (32 bytes), e.g. \"{NATIVE_SOLANA}\""
        return f"is not a Solana address; write a base58 public key (32–44 characters, 32 bytes), e.g. \"{NATIVE_SOLANA}\""
    return f"cannot be checked: walletType {wallet_type!r} is not {_one_of(WALLET_TYPES)}"
