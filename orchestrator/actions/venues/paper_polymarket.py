"""Polymarket for paper sessions: market orders filled against the CLOB's live book, on an
account that exists only in Corral's database (`paper_accounts.py`).

An order is priced, rounded and signed exactly as a real one (`PolymarketVenue.signed_order`:
the token's tick size, py-clob-client's market-price walk, the signer under a copy of the real
wallet's Polymarket policy, so its refusals show), then never posted. Instead it fills, all or
nothing as the venue's FOK orders do, against the book read for pricing it: a BUY spends its
USDC level by level from the best ask, a SELL sells its shares from the best bid, never past
the order's worst price; the token's base fee (bps of the USDC) is charged in USDC.

The paper account holds USDC and outcome shares (with their cost). It starts with the
session's allocation when the starting asset is the venue's collateral on its network; that
allocation is also minted on the session's fork (the account is the paper CLOB's balance, the
fork the wallet's: they are kept apart, as a venue's paper balances are elsewhere). Positions
are valued at the book's mid. Markets' questions, outcomes and resolutions are not read, so a
paper session cannot redeem: it sells instead.
"""

from __future__ import annotations

import asyncio
import time
from decimal import ROUND_FLOOR, Decimal

from pydantic import BaseModel, Field

from corral.v1 import runtime_pb2
from orchestrator.actions.venues.paper_accounts import PaperAccounts
from orchestrator.actions.venues.polymarket import COLLATERAL_DECIMALS, PolymarketVenue, order_answer
from orchestrator.errors import precondition
from orchestrator.store import Database, SessionRow

ZERO = Decimal(0)
SHARE = Decimal(1).scaleb(-COLLATERAL_DECIMALS)  # shares and USDC both have 6 decimals
# How many outcome tokens a paper account may hold at once (each is a book read to value it).
TOKENS_HELD_MAX = 50
TRADES_KEPT = 2000
BOOK_LEVELS_READ = 200


class PaperShares(BaseModel):
    shares: Decimal
    cost: Decimal  # USDC paid for the shares still held (average cost)


class PaperTrade(BaseModel):
    order_id: str
    token_id: str
    side: str
    shares: Decimal
    usd: Decimal
    fee: Decimal
    time: int


class PolymarketPaperAccount(BaseModel):
    usdc: Decimal = ZERO
    positions: dict[str, PaperShares] = Field(default_factory=dict)
    realized: dict[str, Decimal] = Field(default_factory=dict)
    trades: list[PaperTrade] = Field(default_factory=list)


def best_first(book: dict, side: str) -> list[tuple[Decimal, Decimal]]:
    """The levels a `side` order takes, best first (the CLOB lists the best level last), bounded;
    a level that is not a price in (0, 1) with a positive size ends the walk."""
    levels = book.get("asks" if side == "BUY" else "bids") if isinstance(book, dict) else None
    walked: list[tuple[Decimal, Decimal]] = []
    for level in reversed(levels[-BOOK_LEVELS_READ:] if isinstance(levels, list) else []):
        try:
            price, size = Decimal(str(level["price"])), Decimal(str(level["size"]))
        except (KeyError, TypeError, ArithmeticError):
            break
        if not (price.is_finite() and size.is_finite() and 0 < price < 1 and size > 0):
            break
        walked.append((price, size))
    return sorted(walked, key=lambda level: level[0] if side == "BUY" else -level[0])


def fill(levels: list[tuple[Decimal, Decimal]], side: str, amount: Decimal, worst: Decimal) -> tuple[Decimal, Decimal] | None:
    """(shares, USDC) for a FOK order of `amount` (USDC to spend on a BUY, shares to sell on a
    SELL), never past `worst`; None when the book cannot fill it whole."""
    shares = usd = ZERO
    left = amount
    for price, size in levels:
        if left <= 0 or (price > worst if side == "BUY" else price < worst):
            break
        if side == "BUY":
            spend = min(left, size * price)
            shares, usd, left = shares + spend / price, usd + spend, left - spend
        else:
            sold = min(left, size)
            shares, usd, left = shares + sold, usd + sold * price, left - sold
    if left > 0:
        return None
    return shares.quantize(SHARE, rounding=ROUND_FLOOR), usd.quantize(SHARE, rounding=ROUND_FLOOR)


def trade(account: PolymarketPaperAccount, token_id: str, side: str, shares: Decimal, usd: Decimal, fee_bps: int, order_id: str,
          now: int) -> str | None:
    """Books a matched order; why it cannot be (the CLOB's words), or None."""
    fee = (usd * fee_bps / 10_000).quantize(SHARE)
    held = account.positions.get(token_id)
    if side == "BUY":
        if account.usdc < usd + fee:
            return "not enough balance / allowance"
        if held is None and len(account.positions) >= TOKENS_HELD_MAX:
            return f"a paper account holds at most {TOKENS_HELD_MAX} outcome tokens at once; sell one first"
        account.usdc -= usd + fee
        account.positions[token_id] = PaperShares(shares=(held.shares if held else ZERO) + shares, cost=(held.cost if held else ZERO) + usd + fee)
    else:
        if held is None or held.shares < shares:
            return "not enough balance / allowance"
        cost = (held.cost * shares / held.shares).quantize(SHARE)
        account.usdc += usd - fee
        account.realized[token_id] = account.realized.get(token_id, ZERO) + usd - fee - cost
        if held.shares == shares:
            del account.positions[token_id]
        else:
            account.positions[token_id] = PaperShares(shares=held.shares - shares, cost=held.cost - cost)
    account.trades.append(PaperTrade(order_id=order_id, token_id=token_id, side=side, shares=shares, usd=usd, fee=fee, time=now))
    del account.trades[:-TRADES_KEPT]
    return None


def mid(book: dict) -> Decimal | None:
    bids, asks = best_first(book, "SELL"), best_first(book, "BUY")
    return (bids[0][0] + asks[0][0]) / 2 if bids and asks else None


class PaperPolymarket:
    """A paper session's Polymarket: the same calls as `PolymarketVenue`, on a paper account."""

    def __init__(self, venue: PolymarketVenue, db: Database) -> None:
        self._venue = venue
        self._accounts = PaperAccounts(db, "polymarket", PolymarketPaperAccount)

    def check_order(self, request: runtime_pb2.PolymarketMarketOrderRequest) -> tuple[str, Decimal]:
        return self._venue.check_order(request)

    async def market_order(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.PolymarketMarketOrderRequest) -> dict:
        signed = await self._venue.signed_order(session, execution_id, request)  # the copied policy decides; never posted
        amount = Decimal(signed.fields["makerAmount"]) * SHARE  # what the signer approved: USDC on a BUY, shares on a SELL
        matched = fill(best_first(signed.book, signed.side), signed.side, amount, signed.price)
        if matched is None or matched[0] <= 0:
            raise precondition("polymarket: order couldn't be fully filled. FOK orders are fully filled or killed.")
        shares, usd = matched
        fee_bps = int(signed.fields["feeRateBps"])
        refusal = await self._accounts.change(session.id, lambda: self._opening(session),
                                              lambda account: trade(account, request.token_id, signed.side, shares, usd, fee_bps,
                                                                    signed.order_hash, int(time.time())))
        if refusal is not None:
            raise precondition(f"polymarket: {refusal}")
        return order_answer(signed.order_hash, signed.side, shares, usd, signed.price, [])

    async def positions(self, session: SessionRow) -> dict:
        account = await self._accounts.read(session.id, lambda: self._opening(session))
        tokens = sorted(account.positions)
        books = await asyncio.gather(*(self._venue.book(token) for token in tokens))
        positions = []
        for token, book in zip(tokens, books, strict=True):
            held, price = account.positions[token], mid(book)
            value = None if price is None else held.shares * price
            positions.append({
                "contractAddress": self._venue.config.conditional_tokens_address, "tokenId": token, "decimals": COLLATERAL_DECIMALS,
                "conditionId": None, "formattedShares": format(held.shares.normalize(), "f"),
                "shares": str(int(held.shares / SHARE)), "valueUsd": None if value is None else float(value), "question": None,
                "outcome": None, "priceUsd": None if price is None else float(price),
                "averagePriceUsd": float(held.cost / held.shares), "isRedeemable": False, "isNegativeRisk": False, "imageUrl": None,
                "initialValue": float(held.cost), "pnlUsd": None if value is None else float(value - held.cost),
                "pnlPercent": None if value is None else float((value - held.cost) / held.cost * 100) if held.cost else None,
                "pnlRealizedUsd": float(account.realized.get(token, ZERO)), "pnlRealizedPercent": None, "endDate": None,
            })
        return {"totalValue": float(sum(Decimal(str(p["valueUsd"] or 0)) for p in positions)), "positions": positions}

    async def redeemable(self, session: SessionRow, token_ids: list[str]) -> list[dict]:
        raise precondition("polymarket: a paper session cannot redeem (the paper engine does not read markets' resolutions); "
                           "sell the shares instead")

    async def redeem_positions(self, session: SessionRow, execution_id: int | None,
                               request: runtime_pb2.PolymarketRedeemPositionsRequest) -> list[dict]:
        return await self.redeemable(session, list(request.token_ids))

    def _opening(self, session: SessionRow) -> PolymarketPaperAccount:
        """A new paper account: the allocation, when the starting asset is the venue's collateral."""
        config = self._venue.config
        if session.allocation_network == config.network and session.allocation_asset.lower() == config.collateral_address.lower():
            return PolymarketPaperAccount(usdc=Decimal(int(session.allocation_amount)) * SHARE)
        return PolymarketPaperAccount()
