"""Hyperliquid L1 actions (orders, cancels, leverage), decoded and signed by the signer.

The exchange endpoint takes an action (JSON), a nonce, an optional vault address and an
optional expiry, plus a signature over them. The signature is EIP-712 over a "phantom agent":
{source: "a" (mainnet) | "b" (testnet), connectionId: keccak(msgpack(action) ‖ nonce ‖
vault ‖ expiry)} in the domain {name "Exchange", version "1", chainId 1337, verifying
contract 0x0}, as the venue's own Python SDK computes it (hyperliquid.utils.signing).

msgpack keeps the action's key order, and so does the venue's hash: the action is hashed
exactly as the orchestrator passes it (JSON, in its order), and the signer decodes the same
bytes to decide the policy, so what is checked is what is signed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import msgpack
from eth_utils import keccak

from signer import evm

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
    price: Decimal
    size: Decimal
    reduce_only: bool

    @property
    def notional(self) -> Decimal:
        return self.price * self.size


@dataclass(frozen=True)
class ActionEffects:
    """What an action would do, as the policy judges it."""

    kind: str  # the action's "type"
    orders: tuple[Order, ...] = ()
    # Assets an order cancel or a leverage change touches.
    assets: tuple[int, ...] = ()
    leverage: int | None = None


def parse_action(action_json: str) -> dict:
    try:
        action = json.loads(action_json)
    except json.JSONDecodeError as exc:
        raise MalformedAction(f"the action is not JSON: {exc}") from None
    if not isinstance(action, dict) or not isinstance(action.get("type"), str):
        raise MalformedAction('the action must be a JSON object with a "type"')
    try:
        msgpack.packb(action)
    except OverflowError:
        raise MalformedAction("the action holds an integer outside the 64-bit range the venue hashes") from None
    return action


def decode(action: dict) -> ActionEffects:
    """The orders, cancels and leverage changes in `action`; anything else is its type only."""
    kind = action["type"]
    try:
        if kind == "order":
            return ActionEffects(kind, orders=tuple(_order(o) for o in action["orders"]))
        if kind in ("cancel", "cancelByCloid"):
            return ActionEffects(kind, assets=tuple(int(c["a"] if "a" in c else c["asset"]) for c in action["cancels"]))
        if kind == "updateLeverage":
            return ActionEffects(kind, assets=(int(action["asset"]),), leverage=int(action["leverage"]))
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise MalformedAction(f"a {kind} action is malformed: {type(exc).__name__}: {exc}") from None
    return ActionEffects(kind)


def _order(wire: dict) -> Order:
    if not isinstance(wire["b"], bool) or not isinstance(wire["r"], bool):
        raise ValueError('"b" and "r" must be booleans')
    return Order(asset=int(wire["a"]), is_buy=wire["b"], price=Decimal(wire["p"]), size=Decimal(wire["s"]), reduce_only=wire["r"])


def action_hash(action: dict, vault_address: str | None, nonce: int, expires_after: int | None) -> bytes:
    data = msgpack.packb(action) + nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + bytes.fromhex(vault_address.removeprefix("0x"))
    if expires_after is not None:
        data += b"\x00" + expires_after.to_bytes(8, "big")
    return keccak(data)


def typed_data(connection_id: bytes, mainnet: bool) -> dict:
    return {"domain": DOMAIN, "types": AGENT_TYPES, "primaryType": "Agent",
            "message": {"source": "a" if mainnet else "b", "connectionId": connection_id}}


def sign(key, action: dict, vault_address: str | None, nonce: int, expires_after: int | None, mainnet: bool) -> tuple[evm.SignedMessage, bytes]:
    """(the signature, the action hash it covers)."""
    digest = action_hash(action, vault_address, nonce, expires_after)
    return evm.sign_message(key, typed_data=typed_data(digest, mainnet)), digest
