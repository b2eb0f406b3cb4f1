"""Polymarket CLOB orders, signed by the signer as the CTF Exchange verifies them.

An order is the exchange's EIP-712 `Order` struct (py-order-utils' schema) in the domain
{name "Polymarket CTF Exchange", version "1", chainId, verifyingContract = the exchange}.
BUY gives `makerAmount` of collateral (USDC, 6 decimals) for `takerAmount` outcome tokens;
SELL gives `makerAmount` outcome tokens for `takerAmount` collateral. The policy judges
the collateral an order moves, so both sides are bounded in dollars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from corral.v1 import signer_pb2
from signer import evm

if TYPE_CHECKING:
    from eth_keys.datatypes import PrivateKey

DOMAIN_NAME, DOMAIN_VERSION = "Polymarket CTF Exchange", "1"
BUY, SELL = 0, 1
SIGNATURE_TYPES = {0: "EOA", 1: "POLY_PROXY", 2: "POLY_GNOSIS_SAFE"}
ORDER_FIELDS = [
    ("salt", "uint256"), ("maker", "address"), ("signer", "address"), ("taker", "address"), ("tokenId", "uint256"),
    ("makerAmount", "uint256"), ("takerAmount", "uint256"), ("expiration", "uint256"), ("nonce", "uint256"),
    ("feeRateBps", "uint256"), ("side", "uint8"), ("signatureType", "uint8"),
]
TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"},
    ],
    "Order": [{"name": name, "type": kind} for name, kind in ORDER_FIELDS],
}
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_DIGITS = re.compile(r"^[0-9]{1,78}$")  # ASCII only: str.isdigit() admits "²" and other scripts' digits


class MalformedOrder(ValueError):
    pass


@dataclass(frozen=True)
class PolymarketOrder:
    chain_id: int
    exchange: str
    message: dict[str, Any]

    @property
    def collateral(self) -> int:
        """The USDC (base units) the order moves: paid on a BUY, received on a SELL."""
        return cast(int, self.message["makerAmount"] if self.message["side"] == BUY else self.message["takerAmount"])

    @property
    def token_id(self) -> int:
        return cast(int, self.message["tokenId"])

    def typed_data(self) -> dict[str, Any]:
        domain = {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": self.chain_id, "verifyingContract": self.exchange}
        return {"types": TYPES, "primaryType": "Order", "domain": domain, "message": self.message}


def parse(request: signer_pb2.SignPolymarketOrderRequest) -> PolymarketOrder:
    """The order in the request, every field checked; raises MalformedOrder naming the field."""
    order = request.order
    message: dict[str, Any] = {}
    for name, kind in ORDER_FIELDS:
        value = getattr(order, _proto_name(name))
        if kind == "address":
            if not _ADDRESS.match(value):
                raise MalformedOrder(f"order.{_proto_name(name)} {value!r} must be a 0x-prefixed 20-byte address")
            message[name] = value
        elif kind == "uint256":
            if not _DIGITS.match(value) or int(value) >= 2**256:
                raise MalformedOrder(f"order.{_proto_name(name)} {value!r} must be a non-negative integer string")
            message[name] = int(value)
        else:
            message[name] = int(value)
    if message["side"] not in (BUY, SELL):
        raise MalformedOrder(f"order.side {message['side']} must be 0 (BUY) or 1 (SELL)")
    if message["signatureType"] not in SIGNATURE_TYPES:
        raise MalformedOrder(f"order.signature_type {message['signatureType']} must be one of {SIGNATURE_TYPES}")
    if not _ADDRESS.match(request.exchange_address):
        raise MalformedOrder(f"exchange_address {request.exchange_address!r} must be a 0x-prefixed 20-byte address")
    return PolymarketOrder(request.chain_id, request.exchange_address, message)


def sign(key: PrivateKey, order: PolymarketOrder) -> evm.SignedMessage:
    return evm.sign_message(key, typed_data=order.typed_data())


def _proto_name(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


# The CLOB's L1 authentication: proves control of the wallet to derive API credentials.
# Those credentials only post and cancel orders the wallet has signed; they move nothing.
AUTH_MESSAGE = "This message attests that I control the given wallet"
AUTH_TYPES = {
    "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}, {"name": "chainId", "type": "uint256"}],
    "ClobAuth": [
        {"name": "address", "type": "address"}, {"name": "timestamp", "type": "string"},
        {"name": "nonce", "type": "uint256"}, {"name": "message", "type": "string"},
    ],
}


def auth_typed_data(wallet: str, chain_id: int, timestamp: int, nonce: int) -> dict[str, Any]:
    return {
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": chain_id},
        "types": AUTH_TYPES,
        "primaryType": "ClobAuth",
        "message": {"address": wallet, "timestamp": str(timestamp), "nonce": nonce, "message": AUTH_MESSAGE},
    }


def sign_auth(key: PrivateKey, wallet: str, chain_id: int, timestamp: int, nonce: int) -> evm.SignedMessage:
    return evm.sign_message(key, typed_data=auth_typed_data(wallet, chain_id, timestamp, nonce))
