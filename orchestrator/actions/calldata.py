"""Calldata decoded for the person approving a suggestion: the well-known functions a
trading agent calls (ERC-20 transfers and allowances, EIP-2612 permits, WETH, Uniswap V2
swaps), by their 4-byte selector.

A decode is by selector only: the contract at `to` decides what the call does, and any
contract can have a function with the same selector. So the preview says it was decoded by
selector, and bytes past the arguments (which Solidity ignores, and an agent could append to
make calldata look like something else) are counted, not hidden. What the signer allows is
decided by the wallet's policy, never by this decode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError, NonEmptyPaddingBytes
from eth_utils import to_checksum_address

# The most arguments shown: a dynamic array (a swap's path) an agent made long would
# otherwise fill the preview.
_MAX_ARRAY_ITEMS = 16


@dataclass(frozen=True)
class Function:
    name: str
    arguments: tuple[tuple[str, str], ...]  # (name, ABI type)

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(kind for _, kind in self.arguments)})"


def _function(name: str, *arguments: str) -> Function:
    return Function(name, tuple((argument.split()[1], argument.split()[0]) for argument in arguments))


KNOWN: dict[str, Function] = {
    "0xa9059cbb": _function("transfer", "address to", "uint256 amount"),
    "0x095ea7b3": _function("approve", "address spender", "uint256 amount"),
    "0x23b872dd": _function("transferFrom", "address from", "address to", "uint256 amount"),
    "0x39509351": _function("increaseAllowance", "address spender", "uint256 addedValue"),
    "0xa457c2d7": _function("decreaseAllowance", "address spender", "uint256 subtractedValue"),
    "0xd505accf": _function("permit", "address owner", "address spender", "uint256 value", "uint256 deadline", "uint8 v",
                            "bytes32 r", "bytes32 s"),
    "0xd0e30db0": _function("deposit"),
    "0x2e1a7d4d": _function("withdraw", "uint256 wad"),
    "0x38ed1739": _function("swapExactTokensForTokens", "uint256 amountIn", "uint256 amountOutMin", "address[] path", "address to",
                            "uint256 deadline"),
    "0x8803dbee": _function("swapTokensForExactTokens", "uint256 amountOut", "uint256 amountInMax", "address[] path", "address to",
                            "uint256 deadline"),
    "0x7ff36ab5": _function("swapExactETHForTokens", "uint256 amountOutMin", "address[] path", "address to", "uint256 deadline"),
    "0x18cbafe5": _function("swapExactTokensForETH", "uint256 amountIn", "uint256 amountOutMin", "address[] path", "address to",
                            "uint256 deadline"),
}

_MAX_UINT256 = 2**256 - 1
# An allowance this large is never spent down: shown as unlimited.
_EFFECTIVELY_UNLIMITED = 2**128
_ALLOWANCE_ARGUMENTS = {("approve", "amount"), ("increaseAllowance", "addedValue"), ("permit", "value")}
# Longer calldata is not decoded (the preview says so): decoding runs on the event loop, and a
# known function's arguments worth reading fit in far less (a swap's 16-hop path is ~1 KiB).
MAX_DECODED_BYTES = 4096
_DIRTY_PADDING = ("some arguments carry non-zero bytes in their padding: a current token refuses the call, but one compiled "
                  "with an old Solidity (e.g. USDT) acts on the values shown, with the padding dropped; reject unless you know why")


def decode(data: str) -> dict[str, Any] | None:
    """The preview's `decoded` entry for hex calldata ("0x…"): the function and its
    arguments when the selector is a known one, the bare selector otherwise; None for a
    plain transfer of the native coin (no calldata)."""
    body = data.removeprefix("0x")
    if not body:
        return None
    if len(body) < 8:
        return {"selector": "0x" + body.lower(), "function": None, "note": "shorter than a 4-byte selector"}
    selector = "0x" + body[:8].lower()
    function = KNOWN.get(selector)
    if function is None:
        return {"selector": selector, "function": None, "note": "not a function this preview knows; the contract decides what it does"}
    raw = bytes.fromhex(body[8:])
    if len(raw) > MAX_DECODED_BYTES:
        return {"selector": selector, "function": function.signature,
                "error": f"{len(raw)} bytes of arguments: longer than this preview decodes ({MAX_DECODED_BYTES}); check the raw data"}
    types = [kind for _, kind in function.arguments]
    note = None
    try:
        values = abi_decode(types, raw, strict=True) if types else ()
    except NonEmptyPaddingBytes:
        values, note = _masked(types, raw), _DIRTY_PADDING
    except (DecodingError, OverflowError, ValueError):
        values = None
    if values is None:  # the exception's text quotes the agent's bytes: not shown
        return {"selector": selector, "function": function.signature,
                "error": f"does not decode as {function.signature}: the arguments are malformed or cut short"}
    decoded: dict[str, Any] = {
        "selector": selector,
        "function": function.signature,
        # A list, not a mapping: the preview travels as a protobuf Struct, which keeps a list's
        # order but sorts a mapping's keys, and arguments read in the function's order.
        "arguments": [{"name": name, "type": kind, "value": _shown(kind, value, (function.name, name) in _ALLOWANCE_ARGUMENTS)}
                      for (name, kind), value in zip(function.arguments, values, strict=True)],
        "decoded_by": "selector",
    }
    if note is not None:
        decoded["note"] = note
        return decoded
    # Compared with the standard encoding of what was decoded: appended bytes, or offsets
    # pointing somewhere unusual, are said, not hidden.
    canonical = abi_encode(types, values) if types else b""
    if raw != canonical:
        if raw.startswith(canonical):
            decoded["extra_bytes"] = len(raw) - len(canonical)
        else:
            decoded["note"] = "the arguments are not in the standard encoding: they decode as shown, but check the raw data"
    return decoded


def _masked(types: list[str], raw: bytes) -> tuple[Any, ...] | None:
    """Static arguments read as a contract that drops the padding reads them (the low bytes
    of each word); None when an argument is dynamic or the words are cut short."""
    if any(kind.endswith("[]") for kind in types) or len(raw) < 32 * len(types):
        return None
    words = [raw[32 * i:32 * i + 32] for i in range(len(types))]
    sizes = {"address": 20, "uint8": 1}
    values: list[Any] = []
    for kind, word in zip(types, words, strict=True):
        low = word[-sizes.get(kind, 32):]
        values.append("0x" + low.hex() if kind == "address" else low if kind.startswith("bytes") else int.from_bytes(low, "big"))
    return tuple(values)


def _shown(kind: str, value: Any, allowance: bool = False) -> Any:
    if kind == "address":
        return to_checksum_address(value)  # as wallets and explorers show it
    if kind.endswith("[]"):
        items = [_shown(kind[:-2], item) for item in value[:_MAX_ARRAY_ITEMS]]
        return items + ([f"… {len(value) - _MAX_ARRAY_ITEMS} more"] if len(value) > _MAX_ARRAY_ITEMS else [])
    if kind.startswith("bytes"):
        return "0x" + bytes(value).hex()
    if allowance and value == _MAX_UINT256:
        return f"{value} (unlimited)"
    if allowance and value >= _EFFECTIVELY_UNLIMITED:
        return f"{value} (effectively unlimited)"
    return str(value)
