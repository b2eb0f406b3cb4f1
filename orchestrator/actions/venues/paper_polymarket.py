"""Polymarket for paper sessions: market orders filled against the CLOB's live book, read-only.

An order is priced, rounded and signed exactly as a real one (`PolymarketVenue.signed_order`:
the token's tick size, py-clob-client's market-price walk, the signer under a copy of the real
wallet's Polymarket policy, so its refusals show), then never posted. Instead it fills, all or
nothing as the venue's FOK orders do, against the book read to price it: a BUY spends its USDC
level by level from the best ask, a SELL sells its shares from the best bid, never past the
order's worst price; the token's base fee (bps of the USDC) is charged in USDC.

The USDC is the paper wallet's on the session's fork, as a real order settles against the
wallet's own USDC: a BUY takes it from the fork's balance, a SELL pays it back there. The
outcome shares (and what they cost) are kept on a paper account in Corral's database
(`paper_accounts.py`); a remainder below the venue's 0.01-share lot after a SELL is written
off. Positions are valued at the book's mid; markets' questions, outcomes and resolutions are
not read, so a paper session cannot redeem: it sells.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal

from pydantic import BaseModel, Field

from corral.v1 import runtime_pb2
from orchestrator.actions.venues.paper_accounts import PaperAccounts
from orchestrator.actions.venues.polymarket import COLLATERAL_DECIMALS, PolymarketVenue, order_answer
from orchestrator.actions.venues.public_reads import SharedReads
from orchestrator.chains import Chain
from orchestrator.chains.evm import EvmChain
from orchestrator.chains.paper_forks import ForkError, balance_or_none, mint, session_chain
from orchestrator.errors import Refused, precondition
from orchestrator.store import Database, SessionRow

ZERO = Decimal(0)
SHARE = Decimal(1).scaleb(-COLLATERAL_DECIMALS)  # shares and USDC both have 6 decimals
# How many outcome tokens a paper account may hold at once (each is a book read to value it).
TOKENS_HELD_MAX = 50
LOT = Decimal("0.01")  # the venue's smallest share size
TRADES_KEPT = 2000
BOOK_LEVELS_READ = 200
# The CLOB's public reads all paper sessions of this orchestrator may send (its /book limit is
# far above this; real orders share the platform's quota).
PUBLIC_READS_PER_MINUTE = 120


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
    positions: dict[str, PaperShares] = Field(default_factory=dict)
    # Realized PnL (USDC) of the tokens held, and of all those no longer held together.
    realized: dict[str, Decimal] = Field(default_factory=dict)
    realized_closed: Decimal = ZERO
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


def trade(account: PolymarketPaperAccount, token_id: str, side: str, shares: Decimal, usd: Decimal, fee: Decimal, order_id: str,
          now: int) -> str | None:
    """Books a matched order's shares (its USDC moves on the fork); why it cannot be (the
    CLOB's words), or None."""
    held = account.positions.get(token_id)
    if side == "BUY":
        if held is None and len(account.positions) >= TOKENS_HELD_MAX:
            return f"a paper account holds at most {TOKENS_HELD_MAX} outcome tokens at once; sell one first"
        account.positions[token_id] = PaperShares(shares=(held.shares if held else ZERO) + shares, cost=(held.cost if held else ZERO) + usd + fee)
    else:
        if held is None or held.shares < shares:
            return "not enough balance / allowance"
        left = held.shares - shares
        # Below the venue's lot a remainder can never be sold: written off with the sale.
        cost = held.cost if left < LOT else (held.cost * shares / held.shares).quantize(SHARE)
        realized = account.realized.get(token_id, ZERO) + usd - fee - cost
        if left < LOT:
            del account.positions[token_id]
            account.realized.pop(token_id, None)
            account.realized_closed += realized
        else:
            account.positions[token_id] = PaperShares(shares=left, cost=held.cost - cost)
            account.realized[token_id] = realized
    account.trades.append(PaperTrade(order_id=order_id, token_id=token_id, side=side, shares=shares, usd=usd, fee=fee, time=now))
    del account.trades[:-TRADES_KEPT]
    return None


def fee_of(usd: Decimal, fee_bps: int) -> Decimal:
    return (usd * fee_bps / 10_000).quantize(SHARE)


def mid(book: dict) -> Decimal | None:
    bids, asks = best_first(book, "SELL"), best_first(book, "BUY")
    return (bids[0][0] + asks[0][0]) / 2 if bids and asks else None


class PaperPolymarket:
    """A paper session's Polymarket: the same calls as `PolymarketVenue`, on a paper account
    and the session's fork."""

    def __init__(self, venue: PolymarketVenue, db: Database, chains: Mapping[str, Chain]) -> None:
        self._venue = venue
        self._chains = chains
        self._accounts = PaperAccounts(db, "polymarket", PolymarketPaperAccount)
        self._books = SharedReads("polymarket", PUBLIC_READS_PER_MINUTE)
        self._sessions: dict[int, asyncio.Lock] = {}

    def check_order(self, request: runtime_pb2.PolymarketMarketOrderRequest) -> tuple[str, Decimal]:
        return self._venue.check_order(request)

    async def market_order(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.PolymarketMarketOrderRequest) -> dict:
        fork = self._fork(session)
        signed = await self._venue.signed_order(session, execution_id, request)  # the copied policy decides; never posted
        amount = Decimal(signed.fields["makerAmount"]) * SHARE  # what the signer approved: USDC on a BUY, shares on a SELL
        matched = fill(best_first(signed.book, signed.side), signed.side, amount, signed.price)
        if matched is None or matched[0] <= 0:
            raise precondition("polymarket: order couldn't be fully filled. FOK orders are fully filled or killed.")
        shares, usd = matched
        fee = fee_of(usd, int(signed.fields["feeRateBps"]))
        cash_change = -(usd + fee) if signed.side == "BUY" else usd - fee
        # One order of a session at a time: the fork's balance is read, then written.
        async with self._sessions.setdefault(session.id, asyncio.Lock()):
            cash = await self._cash(fork, session)
            if cash + cash_change < 0:
                raise precondition("polymarket: not enough balance / allowance")
            refusal = await self._accounts.change(session.id, PolymarketPaperAccount,
                                                  lambda account: trade(account, request.token_id, signed.side, shares, usd, fee,
                                                                        signed.order_hash, int(time.time())))
            if refusal is not None:
                raise precondition(f"polymarket: {refusal}")
            await self._set_cash(fork, session, cash + cash_change)
        return order_answer(signed.order_hash, signed.side, shares, usd, signed.price, [])

    async def positions(self, session: SessionRow) -> dict:
        account = await self._accounts.read(session.id, PolymarketPaperAccount)
        tokens = sorted(account.positions)
        books = await asyncio.gather(*(self._book_or_none(token) for token in tokens))
        positions = []
        for token, book in zip(tokens, books, strict=True):
            held, price = account.positions[token], None if book is None else mid(book)
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

    async def _book_or_none(self, token: str) -> dict | None:
        """The token's book (shared for a second); None when the CLOB has none (a resolved
        or closed market): that position is shown unvalued."""
        try:
            return await self._books.get(token, lambda: self._venue.book(token))
        except Refused:
            return None

    def _fork(self, session: SessionRow) -> EvmChain:
        network = self._venue.config.network
        chain = session_chain(self._chains, session, network)
        if not isinstance(chain, EvmChain):
            raise precondition(f"polymarket: a paper session trades from its fork of {network}, where its USDC is; this session's "
                               f"starting asset is on {session.allocation_network}")
        return chain

    async def _cash(self, fork: EvmChain, session: SessionRow) -> Decimal:
        units = await balance_or_none(fork, self._venue.config.collateral_address, session.wallet_address)
        if units is None:
            raise precondition("polymarket: the collateral's balance could not be read on the session's fork")
        return Decimal(units) * SHARE

    async def _set_cash(self, fork: EvmChain, session: SessionRow, cash: Decimal) -> None:
        try:
            await mint(fork, self._venue.config.collateral_address, session.wallet_address, int(cash / SHARE))
        except (ForkError, OSError, ValueError) as exc:
            raise precondition(f"polymarket: the paper fill's USDC could not be moved on the session's fork: {exc}") from None
