"""Venue orders (Hyperliquid L1 actions, Polymarket CLOB orders), bounded by facts the signer
trusts: the owner's sizes and reference prices, never only the prices the order names.

Hyperliquid: an order's worst-case notional is its size at the highest of its limit price,
its trigger price and the owner's reference price for the asset (a SELL priced at 0.01 is
worth what the position is worth, not 0.01 a coin); sizes are also capped per asset.
Polymarket: an order's value at risk is its maker amount (USDC paid on a BUY; shares sold
on a SELL, each worth at most 1 USDC), its share count and its price are bounded, it must
be open to any taker and expire soon (no order outlives a halt for long).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from signer.hyperliquid import ActionEffects, Order
from signer.policy.caps import check_spend_caps
from signer.policy.decision import Decision, PolicyUnreadable, allow, deny, guard
from signer.policy.ledger import HYPERLIQUID, NOTIONAL_MICRO_USD, POLYMARKET, Commitments, Spend, SpendLedger
from signer.policy.values import DAY, Amount, EvmAddress, PositiveDecimal, UsdAmount, WindowSeconds
from signer.polymarket import BUY, PolymarketOrder

if TYPE_CHECKING:
    from signer.policy.document import WalletPolicy

HYPERLIQUID_ACTIONS = ("order", "cancel", "cancelByCloid", "updateLeverage")
# A Hyperliquid nonce is the signing time in milliseconds; the venue accepts one up to two
# days old. The signer signs only nonces near its own clock, and L1 actions (orders, cancels,
# leverage) only with an expiry (`expiresAfter`) as near: a signature cannot be kept and used
# after a halt or in a later cap window. (A usdClassTransfer has no expiry; it moves USDC
# between the wallet's own accounts only.)
HYPERLIQUID_NONCE_SKEW_SECONDS = 300
ZERO_ADDRESS = "0x" + "00" * 20
MICRO = Decimal(1_000_000)
# Polymarket's collateral (USDC) and its outcome shares both have 6 decimals.
POLYMARKET_VALUE = "value-micro-usdc"


class HyperliquidAsset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The venue's asset index (from its `meta`; spot pairs 10000 + index).
    index: int = Field(ge=0)
    # The largest order, in the coin.
    max_size: PositiveDecimal
    # The owner's price for the coin (USD): an order's notional is never counted lower.
    reference_price: PositiveDecimal


class RollingUsdCap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: UsdAmount
    window_seconds: WindowSeconds = DAY


class HyperliquidPolicy(BaseModel):
    """Rules for a wallet's Hyperliquid L1 actions; a wallet without this section signs none.
    Only orders, cancels, leverage changes and (opted in) transfers between the wallet's own
    spot and perp accounts can be allowed: sends, withdrawals and agent approvals never."""

    model_config = ConfigDict(extra="forbid")

    # Mainnet ("a") or testnet ("b") phantom agents; the other is refused.
    mainnet: bool
    # The assets this wallet may trade, by name (e.g. "BTC"), as the owner read them from the
    # venue's `meta`: orders name assets by index.
    assets: dict[str, HyperliquidAsset] = Field(default_factory=dict)
    # The most one order may be worth (USD), at its worst-case notional.
    max_notional_per_order: UsdAmount
    # Rolling caps on the worst-case notional of all orders signed in a window.
    notional_caps: list[RollingUsdCap] = Field(default_factory=list)
    # Only orders that reduce a position (every order must be reduceOnly).
    reduce_only: bool = False
    max_leverage: int = Field(default=1, ge=1)
    # usdClassTransfer: USDC between this wallet's own spot and perp accounts (nothing
    # leaves the wallet). Signed by the account's own key only: the venue refuses API wallets.
    class_transfers: bool = False

    @field_validator("assets", mode="before")
    @classmethod
    def _assets_are_objects(cls, value: object) -> object:
        if isinstance(value, dict):
            for name, asset in value.items():
                if isinstance(asset, int):
                    raise ValueError(f"assets.{name}: give {{\"index\": {asset}, \"max_size\": ..., \"reference_price\": ...}}: "
                                     "an order's size and value are bounded by them")
        return value

    @model_validator(mode="after")
    def _indexes_unique(self) -> HyperliquidPolicy:
        indexes = [a.index for a in self.assets.values()]
        if len(set(indexes)) != len(indexes):
            raise ValueError("two assets share one index")
        return self


class PolymarketExchange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chain_id: int
    address: EvmAddress


class PolymarketPolicy(BaseModel):
    """Rules for a wallet's Polymarket CLOB orders; a wallet without this section signs none."""

    model_config = ConfigDict(extra="forbid")

    # The exchange contracts orders may be for (e.g. the CTF Exchange and the neg-risk one on Polygon).
    exchanges: list[PolymarketExchange]
    # The most collateral (USDC base units, 6 decimals) one order may pay or receive.
    max_collateral_per_order: Amount
    # The most outcome shares (base units, 6 decimals) one order may buy or sell.
    max_shares_per_order: Amount
    # Price bounds (USDC per share): a SELL below min_price gives shares away.
    min_price: PositiveDecimal = Decimal("0.001")
    max_price: PositiveDecimal = Decimal("0.999")
    # Orders expire at most this long after signing (0, "never", is refused).
    max_ttl_seconds: int = Field(default=600, ge=60, le=7 * 86_400)
    # Rolling caps on the value at risk (maker amounts, micro-USDC) of all orders in a window.
    value_caps: list[RollingUsdCap] = Field(default_factory=list)
    # Outcome token ids the wallet may trade (decimal strings); None: any.
    token_ids: list[str] | None = None
    # Funders (proxy wallets or safes) whose orders this wallet may sign as `signer`.
    funders: list[EvmAddress] = Field(default_factory=list)
    max_fee_rate_bps: int = Field(default=1000, ge=0)


class _MicroCap:
    """A RollingUsdCap as the ledger counts it (integer micro-units)."""

    def __init__(self, cap: RollingUsdCap, chain_key: str, asset: str) -> None:
        self.chain_key, self.asset, self.window_seconds = chain_key, asset, cap.window_seconds
        self.amount = int(cap.amount * MICRO)


def worst_notional(order: Order, reference_price: Decimal) -> Decimal:
    return order.size * max(order.price, order.trigger_price or Decimal(0), reference_price)


# Complex by design: the Hyperliquid rules read top to bottom in the order they are checked.
def decide_hyperliquid_action(  # noqa: C901
    policy: WalletPolicy | PolicyUnreadable | None, wallet: str, effects: ActionEffects, mainnet: bool, nonce: int, ledger: SpendLedger,
    now: float, halted: bool = False, expires_after: int | None = None,
) -> Decision:
    """`expires_after` (ms) is the L1 action's expiry, part of what is signed; user-signed
    actions (usdClassTransfer) have none."""
    if (refusal := guard(policy, halted, "hyperliquid")) is not None:
        return refusal
    assert policy is not None and not isinstance(policy, PolicyUnreadable)  # guard refused both
    rules = policy.hyperliquid
    assert rules is not None  # guard refused a policy without this section
    if mainnet != rules.mainnet:
        wanted = "mainnet" if rules.mainnet else "testnet"
        return deny("hyperliquid-chain", f"the action is for {'mainnet' if mainnet else 'testnet'}; this wallet signs for {wanted} only")
    if abs(nonce / 1000 - now) > HYPERLIQUID_NONCE_SKEW_SECONDS:
        return deny("hyperliquid-nonce", f"nonce {nonce} is not within {HYPERLIQUID_NONCE_SKEW_SECONDS}s of the signer's clock "
                                         f"({int(now * 1000)} ms): a signature for later is never made")
    if effects.kind != "usdClassTransfer" and (expires_after is None or not now * 1000 < expires_after <= (now + HYPERLIQUID_NONCE_SKEW_SECONDS) * 1000):
        return deny("hyperliquid-expiry", f"an L1 action must expire within {HYPERLIQUID_NONCE_SKEW_SECONDS}s of the signer's clock "
                                          f"(expires_after {expires_after}): the venue takes a nonce up to two days old")
    if effects.kind == "usdClassTransfer":
        if not rules.class_transfers:
            return deny("hyperliquid-action-type", "the wallet's Hyperliquid policy does not allow spot/perp transfers (class_transfers)")
        return allow("hyperliquid", f"usdClassTransfer of {effects.transfer_amount} USDC between the wallet's own accounts")
    if effects.kind not in HYPERLIQUID_ACTIONS:
        return deny("hyperliquid-action-type", f"{effects.kind!r} actions are never signed; allowed: {', '.join(HYPERLIQUID_ACTIONS)}")
    by_index = {asset.index: (name, asset) for name, asset in rules.assets.items()}
    for index in [o.asset for o in effects.orders] + list(effects.assets):
        if index not in by_index:
            return deny("hyperliquid-asset", f"asset {index} is not one of the wallet's assets ({', '.join(rules.assets) or 'none'})")
    total = Decimal(0)
    for order in effects.orders:
        name, asset = by_index[order.asset]
        if order.size > asset.max_size:
            return deny("hyperliquid-size", f"an order of {order.size} {name} is over the wallet's max_size {asset.max_size}")
        notional = worst_notional(order, asset.reference_price)
        if notional > rules.max_notional_per_order:
            return deny("hyperliquid-notional", f"an order of {order.size} {name} at {order.price} is worth up to {notional} "
                                                f"(at the highest of its limit, trigger and reference price {asset.reference_price}), "
                                                f"over the cap {rules.max_notional_per_order}")
        if rules.reduce_only and not order.reduce_only:
            return deny("hyperliquid-reduce-only", "the wallet only signs reduce-only orders")
        total += notional
    if effects.leverage is not None and effects.leverage > rules.max_leverage:
        return deny("hyperliquid-leverage", f"leverage {effects.leverage} is over the wallet's maximum {rules.max_leverage}")
    spends = (Spend(HYPERLIQUID, NOTIONAL_MICRO_USD, math.ceil(total * MICRO)),)
    caps = [_MicroCap(cap, HYPERLIQUID, NOTIONAL_MICRO_USD) for cap in rules.notional_caps]
    if (refusal := check_spend_caps(caps, wallet, spends, ledger, now)) is not None:
        return refusal
    return allow("hyperliquid", f"{effects.kind} within the wallet's Hyperliquid policy", Commitments(spends=spends))


def decide_polymarket_auth(policy: WalletPolicy | PolicyUnreadable | None, chain_id: int, halted: bool = False) -> Decision:
    """The CLOB's API credentials only let the platform post orders the signer signed, so
    any wallet with a Polymarket policy on that chain may derive them."""
    if (refusal := guard(policy, halted, "polymarket")) is not None:
        return refusal
    assert policy is not None and not isinstance(policy, PolicyUnreadable)  # guard refused both
    assert policy.polymarket is not None  # guard refused a policy without this section
    if not any(e.chain_id == chain_id for e in policy.polymarket.exchanges):
        return deny("polymarket-exchange", f"the wallet's Polymarket policy names no exchange on chain {chain_id}")
    return allow("polymarket-auth", f"CLOB authentication on chain {chain_id}")


def decide_polymarket_order(
    policy: WalletPolicy | PolicyUnreadable | None, wallet: str, order: PolymarketOrder, ledger: SpendLedger, now: float,
    halted: bool = False,
) -> Decision:
    if (refusal := guard(policy, halted, "polymarket")) is not None:
        return refusal
    assert policy is not None and not isinstance(policy, PolicyUnreadable)  # guard refused both
    rules = policy.polymarket
    assert rules is not None  # guard refused a policy without this section
    if not any(e.chain_id == order.chain_id and e.address == order.exchange.lower() for e in rules.exchanges):
        return deny("polymarket-exchange", f"exchange {order.exchange} on chain {order.chain_id} is not one of the wallet's exchanges")
    message = order.message
    if message["signer"].lower() != wallet.lower():
        return deny("polymarket-signer", f"the order's signer is {message['signer']}, not this wallet")
    if message["maker"].lower() != wallet.lower() and message["maker"].lower() not in rules.funders:
        return deny("polymarket-funder", f"the order spends from {message['maker']}, which is neither this wallet nor one of its funders")
    if message["taker"].lower() != ZERO_ADDRESS:
        return deny("polymarket-taker", f"the order names a taker ({message['taker']}); only orders open to any taker are signed")
    if not 0 < message["expiration"] <= now + rules.max_ttl_seconds:
        return deny("polymarket-expiration", f"the order expires at {message['expiration']}; it must expire within "
                                             f"{rules.max_ttl_seconds}s of the signer's clock ({int(now)}), and 0 (never) is refused")
    if rules.token_ids is not None and str(order.token_id) not in rules.token_ids:
        return deny("polymarket-token", f"outcome token {order.token_id} is not one of the wallet's tokens")
    maker, taker = message["makerAmount"], message["takerAmount"]
    if maker <= 0 or taker <= 0:
        return deny("polymarket-price", "an order must give and take a positive amount")
    collateral, shares = (maker, taker) if message["side"] == BUY else (taker, maker)
    if collateral > rules.max_collateral_per_order:
        return deny("polymarket-collateral", f"the order moves {collateral} collateral units, over the per-order cap "
                                             f"{rules.max_collateral_per_order}")
    if shares > rules.max_shares_per_order:
        return deny("polymarket-shares", f"the order moves {shares} share units, over the per-order cap {rules.max_shares_per_order}")
    price = Decimal(collateral) / Decimal(shares)
    if not rules.min_price <= price <= rules.max_price:
        return deny("polymarket-price", f"the order's price {price:.6f} USDC a share is outside the wallet's bounds "
                                        f"[{rules.min_price}, {rules.max_price}]")
    if message["feeRateBps"] > rules.max_fee_rate_bps:
        return deny("polymarket-fee", f"fee rate {message['feeRateBps']} bps is over the wallet's maximum {rules.max_fee_rate_bps}")
    spends = (Spend(POLYMARKET, POLYMARKET_VALUE, maker),)
    caps = [_MicroCap(cap, POLYMARKET, POLYMARKET_VALUE) for cap in rules.value_caps]
    if (refusal := check_spend_caps(caps, wallet, spends, ledger, now)) is not None:
        return refusal
    return allow("polymarket", "order within the wallet's Polymarket policy", Commitments(spends=spends))
