"""Hyperliquid L1 actions (orders, cancels, leverage), decoded and signed by the signer.

The exchange endpoint takes an action (JSON), a nonce, an optional vault address and an
optional expiry, plus a signature over them. An L1 action (order, cancel, leverage) is
signed as EIP-712 over a "phantom agent":
{source: "a" (mainnet) | "b" (testnet), connectionId: keccak(msgpack(action) ‖ nonce ‖
vault ‖ expiry)} in the domain {name "Exchange", version "1", chainId 1337, verifying
contract 0x0}, as the venue's own Python SDK computes it (hyperliquid.utils.signing).

The one user-signed action the signer knows is `usdClassTransfer` (USDC between the
wallet's own spot and perp accounts): EIP-712 over the action's fields themselves in the
domain {name "HyperliquidSignTransaction", version "1", chainId = signatureChainId}. Only
the account's own key can sign it (the venue refuses API wallets for user-signed actions).

msgpack keeps the action's key order, and so does the venue's hash: the action is hashed
exactly as the orchestrator passes it (JSON, in its order), and the signer decodes the same
bytes to decide the policy, so what is checked is what is signed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

import msgpack
from eth_utils.crypto import keccak

from corral import bounded_json
from signer import evm

if TYPE_CHECKING:
    from eth_keys.datatypes import PrivateKey

DOMAIN = {"chainId": 1337, "name": "Exchange", "verifyingContract": "0x0000000000000000000000000000000000000000", "version": "1"}
AGENT_TYPES = {
    "Agent": [{"name": "source", "type": "string"}, {"name": "connectionId", "type": "bytes32"}],
    "EIP712Domain": [
        {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"},
    ],
}


class MalformedAction(ValueError):
    pass


@dataclass(frozen=True)
class Order:
    asset: int
    is_buy: bool
    # The limit price (for a trigger order, its limit once triggered).
    price: Decimal
    size: Decimal
    reduce_only: bool
    trigger_price: Decimal | None = None


@dataclass(frozen=True)
class ActionEffects:
    """What an action would do, as the policy judges it."""

    kind: str  # the action's "type"
    orders: tuple[Order, ...] = ()
    # Assets an order cancel or a leverage change touches.
    assets: tuple[int, ...] = ()
    leverage: int | None = None
    # usdClassTransfer: USDC moved, and whether into the perp account.
    transfer_amount: Decimal | None = None
    to_perp: bool | None = None


def parse_action(action_json: str) -> dict[str, Any]:
    try:
        action = bounded_json.loads(action_json, max_bytes=64 * 1024, max_depth=8)
    except bounded_json.JsonTooLarge as exc:
        raise MalformedAction(f"the action is too large: {exc}") from None
    except ValueError as exc:
        raise MalformedAction(f"the action is not JSON: {exc}") from None
    if not isinstance(action, dict) or not isinstance(action.get("type"), str):
        raise MalformedAction('the action must be a JSON object with a "type"')
    try:
        msgpack.packb(action)
    except OverflowError:
        raise MalformedAction("the action holds an integer outside the 64-bit range the venue hashes") from None
    return action


def decode(action: dict[str, Any]) -> ActionEffects:
    """The orders, cancels and leverage changes in `action`; anything else is its type only."""
    kind = action["type"]
    try:
        if kind == "order":
            return ActionEffects(kind, orders=tuple(_order(o) for o in action["orders"]))
        if kind in ("cancel", "cancelByCloid"):
            return ActionEffects(kind, assets=tuple(int(c["a"] if "a" in c else c["asset"]) for c in action["cancels"]))
        if kind == "updateLeverage":
            return ActionEffects(kind, assets=(int(action["asset"]),), leverage=int(action["leverage"]))
        if kind == "usdClassTransfer":
            return _class_transfer(action)
    except KeyError as exc:
        raise MalformedAction(f"a {kind} action is malformed: field {exc} is missing") from None
    except (TypeError, ValueError, InvalidOperation, AttributeError) as exc:
        raise MalformedAction(f"a {kind} action is malformed: {exc}") from None
    return ActionEffects(kind)


# A positive decimal as the venue writes prices and sizes: digits, at most one point, no
# sign, exponent, spaces, NaN or infinity.
_WIRE_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,19})(\.[0-9]{1,20})?$")


def _wire_decimal(value: object, field: str) -> Decimal:
    if not isinstance(value, str) or not _WIRE_DECIMAL.match(value) or Decimal(value) <= 0:
        raise ValueError(f"{field} {value!r} must be a positive decimal string as the venue writes it (e.g. \"0.5\")")
    return Decimal(value)


def _order(wire: dict[str, Any]) -> Order:
    if not isinstance(wire["b"], bool) or not isinstance(wire["r"], bool):
        raise ValueError('"b" and "r" must be booleans')
    if not isinstance(wire["a"], int) or isinstance(wire["a"], bool) or wire["a"] < 0:
        raise ValueError(f'asset "a" {wire["a"]!r} must be a non-negative integer')
    kind = wire["t"]
    if not isinstance(kind, dict) or len(kind) != 1 or not isinstance(next(iter(kind.values())), dict):
        raise ValueError('order type "t" must be {"limit": {...}} or {"trigger": {...}}')
    trigger = None
    if "trigger" in kind:
        trigger = _wire_decimal(kind["trigger"].get("triggerPx"), "triggerPx")
    elif "limit" not in kind:
        raise ValueError('order type "t" must be {"limit": {...}} or {"trigger": {...}}')
    return Order(asset=wire["a"], is_buy=wire["b"], price=_wire_decimal(wire["p"], "price"), size=_wire_decimal(wire["s"], "size"),
                 reduce_only=wire["r"], trigger_price=trigger)


# The user-signed actions this signer knows, with their EIP-712 fields in the venue's order.
USER_SIGNED_TYPES = {
    "usdClassTransfer": ("HyperliquidTransaction:UsdClassTransfer", [
        {"name": "hyperliquidChain", "type": "string"}, {"name": "amount", "type": "string"},
        {"name": "toPerp", "type": "bool"}, {"name": "nonce", "type": "uint64"},
    ]),
}


def _class_transfer(action: dict[str, Any]) -> ActionEffects:
    amount = Decimal(action["amount"])
    if not isinstance(action["amount"], str) or not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount {action['amount']!r} must be a positive decimal string")
    if not isinstance(action["toPerp"], bool):
        raise ValueError('"toPerp" must be a boolean')
    if action["hyperliquidChain"] not in ("Mainnet", "Testnet"):
        raise ValueError('"hyperliquidChain" must be "Mainnet" or "Testnet"')
    int(action["signatureChainId"], 16)
    return ActionEffects("usdClassTransfer", transfer_amount=amount, to_perp=action["toPerp"])


def is_user_signed(action: dict[str, Any]) -> bool:
    return action["type"] in USER_SIGNED_TYPES


def user_signed_typed_data(action: dict[str, Any]) -> dict[str, Any]:
    primary, fields = USER_SIGNED_TYPES[action["type"]]
    return {
        "domain": {"name": "HyperliquidSignTransaction", "version": "1", "chainId": int(action["signatureChainId"], 16),
                   "verifyingContract": "0x0000000000000000000000000000000000000000"},
        "types": {primary: fields, "EIP712Domain": AGENT_TYPES["EIP712Domain"]},
        "primaryType": primary,
        "message": {f["name"]: action[f["name"]] for f in fields},
    }


def user_signed_chain_is_mainnet(action: dict[str, Any]) -> bool:
    return cast(bool, action["hyperliquidChain"] == "Mainnet")


def action_hash(action: dict[str, Any], vault_address: str | None, nonce: int, expires_after: int | None) -> bytes:
    data = msgpack.packb(action) + nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + bytes.fromhex(vault_address.removeprefix("0x"))
    if expires_after is not None:
        data += b"\x00" + expires_after.to_bytes(8, "big")
    return keccak(data)


def typed_data(connection_id: bytes, mainnet: bool) -> dict[str, Any]:
    return {"domain": DOMAIN, "types": AGENT_TYPES, "primaryType": "Agent",
            "message": {"source": "a" if mainnet else "b", "connectionId": connection_id}}


def sign(key: PrivateKey, action: dict[str, Any], vault_address: str | None, nonce: int, expires_after: int | None,
         mainnet: bool) -> tuple[evm.SignedMessage, bytes]:
    """(the signature, the hash it covers: the action hash of an L1 action, the EIP-712 hash
    of a user-signed one)."""
    if is_user_signed(action):
        signed = evm.sign_message(key, typed_data=user_signed_typed_data(action))
        return signed, bytes.fromhex(signed.message_hash.removeprefix("0x"))
    digest = action_hash(action, vault_address, nonce, expires_after)
    return evm.sign_message(key, typed_data=typed_data(digest, mainnet)), digest
