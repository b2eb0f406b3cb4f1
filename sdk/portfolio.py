"""`agent.portfolio` (Circuit 2.10's `SessionPortfolio`), built from the session's positions.

Corral knows a session's holdings as `CurrentPosition`s (network, token address, raw
quantity). Each becomes a `SessionBalance`; symbol and decimals are filled in for the
native tokens and a few well-known stablecoins, and left None otherwise. Corral has no
perp or prediction-market venue yet, so `positions` is always empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from corral.networks import LEGACY_NATIVE_EVM, NATIVE_EVM, NATIVE_SOLANA, parse_or_none
from sdk.envelopes import AssetClass, CurrentPosition, SessionBalance, SessionPortfolio

# (network, lower-cased address) -> (symbol, decimals, assetClass)
_KNOWN_TOKENS: dict[tuple[str, str], tuple[str, int, AssetClass]] = {
    ("solana", NATIVE_SOLANA): ("SOL", 9, "spot"),
    ("solana", "epjfwdd5aufqssqem2qn1xzybapc8g4wegkzwytdt1v"): ("USDC", 6, "cash"),
    ("ethereum:1", "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"): ("USDC", 6, "cash"),
    ("ethereum:1", "0xdac17f958d2ee523a2206206994597c13d831ec7"): ("USDT", 6, "cash"),
    ("ethereum:137", "0x2791bca1f2de4661ed88a30c99a7a9449aa84174"): ("USDC.e", 6, "cash"),
    ("ethereum:137", "0x3c499c542cef5e3811e1192ce70d8cc03d5c3359"): ("USDC", 6, "cash"),
    ("ethereum:42161", "0xaf88d065e77c8cc2239327c5edb3a432268e5831"): ("USDC", 6, "cash"),
    ("ethereum:8453", "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913"): ("USDC", 6, "cash"),
    # Hyperliquid USDC counts in 8 decimals in Circuit units.
    ("hypercore:perp", "usdc"): ("USDC", 8, "cash"),
    ("hypercore:spot", "usdc"): ("USDC", 8, "cash"),
}

# Native token symbols of common EVM chains (18 decimals on all of them).
_EVM_NATIVE_SYMBOLS = {1: "ETH", 10: "ETH", 56: "BNB", 137: "POL", 8453: "ETH", 42161: "ETH", 43114: "AVAX"}


def asset_key(network: str, address: str, token_id: str | None) -> str:
    """Corral's `assetKey`: `<network>:<address>[:<tokenId>]`, address lower-cased on EVM."""
    parsed = parse_or_none(network)
    if parsed is not None and parsed.is_evm:
        address = address.lower()
    return f"{network}:{address}" if token_id is None else f"{network}:{address}:{token_id}"


def balance_from_position(position: CurrentPosition) -> SessionBalance:
    network, address = position.network, position.assetAddress
    asset_class: AssetClass
    symbol, decimals, asset_class = None, None, "spot"
    # Lower-cased on every network: base58 addresses differing only in case do not collide in practice.
    known = _KNOWN_TOKENS.get((network, address.lower()))
    parsed = parse_or_none(network)
    if known is not None:
        symbol, decimals, asset_class = known
    elif parsed is not None and parsed.is_evm and address.lower() in (NATIVE_EVM, LEGACY_NATIVE_EVM):
        assert parsed.chain_id is not None  # an EVM network always has one (Network.parse)
        symbol = _EVM_NATIVE_SYMBOLS.get(parsed.chain_id)
        decimals = 18
    elif parsed is not None and parsed.is_hypercore and parsed.venue == "perp":
        asset_class = "perp"
    return SessionBalance(
        network=network,
        assetKey=asset_key(network, address, position.tokenId),
        tokenAddress=address,
        tokenId=position.tokenId,
        symbol=symbol,
        decimals=decimals,
        amountRaw=position.currentQty,
        valueUsd=None,
        assetClass=asset_class,
    )


def portfolio_from_positions(positions: Iterable[CurrentPosition]) -> SessionPortfolio:
    return SessionPortfolio(balances=[balance_from_position(p) for p in positions], positions=[])


def positions_from_portfolio(portfolio: SessionPortfolio) -> list[CurrentPosition]:
    """The ≤2.8 view of a 2.10 portfolio, for a context built from a portfolio."""
    return [
        CurrentPosition(network=b.network, assetAddress=b.tokenAddress, tokenId=b.tokenId, avgUnitCost="0", currentQty=b.amountRaw)
        for b in portfolio.balances
    ]


def as_portfolio(value: Any) -> SessionPortfolio:
    if isinstance(value, SessionPortfolio):
        return value
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    return SessionPortfolio.model_validate(value)
