"""Hyperliquid for paper sessions: orders filled against the venue's live book, on an account
that exists only in Corral's database (`paper_accounts.py`).

An order is built and checked exactly as a real one (`HyperliquidVenue.order_action`: the
venue's markets, 5 significant figures, price decimals and lot sizes) and signed by the signer
for the session's paper wallet, whose policy is a copy of the real wallet's, so what that
policy refuses is refused here too. The signed action is never posted. Instead:
- what is marketable (an IOC, or the crossing part of a limit order) takes liquidity from the
  venue's L2 book as read now (`l2Book`), level by level up to the order's price, and pays the
  taker fee; an IOC that crosses nothing and a post-only order that would cross are refused with
  the venue's messages; orders under $10 too;
- what rests holds margin (perps) or balance (spot) as on the venue, and on a later call of the
  session fills at its price with the maker fee, as much as the book then shows at or through
  that price. Queue position is not modelled and a book is not consumed by paper fills, so this
  is optimistic;
- stop and take-profit orders trigger on the venue's mid, then take liquidity as a market order
  at their price;
- perps: cross margin at the venue's default leverage (20x, at most the coin's maxLeverage);
  entry at the average fill; realized PnL and fees settle in the perp USDC; an account whose
  value falls under its maintenance margin (half the initial margin at the coin's maximum
  leverage) is liquidated at the mids, checked when the session next calls;
- spot: fees are charged in USDC (the venue takes them from the asset received);
- no funding. Mids and books are read at most once a second for all paper sessions, and
  their reads are bounded together (`public_reads.py`); an account rests orders on at most
  20 coins, whose books each call reads.
Reads of the account (balances, positions, orders, fills) answer from the paper account in the
venue's shapes; markets and mids are the venue's, read-only. A paper session on hypercore:perp
or hypercore:spot starts with its allocation there; any other paper session with nothing.

A backtest by time (on hypercore:*) is a paper session whose market is the one the platform
recorded (`market_data.py`): its mids and books are the samples at its current step's time
(never today's), its clock that time, and a read the recording does not hold is refused by
name. The markets (coins, decimals, leverage) are still the venue's today.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import select

from corral.v1 import runtime_pb2
from orchestrator.actions.signer_client import denying_rule
from orchestrator.actions.venues.hypercore import USDC, USDC_UNITS
from orchestrator.actions.venues.hyperliquid import HyperliquidVenue, Market, Markets, midpoint_answer, order_answer, wire_decimal
from orchestrator.actions.venues.market_data import HYPERLIQUID, MarketData, series_name
from orchestrator.actions.venues.paper_accounts import PaperAccounts
from orchestrator.actions.venues.public_reads import SharedReads
from orchestrator.errors import Refused, invalid, not_found, precondition
from orchestrator.store import BacktestStepRow, Database, SessionRow

# The venue's base fee tier (fractions of the notional).
TAKER_FEE = {False: Decimal("0.00045"), True: Decimal("0.0007")}  # {spot?: rate}
MAKER_FEE = {False: Decimal("0.00015"), True: Decimal("0.0004")}
DEFAULT_LEVERAGE = 20
MIN_ORDER_USD = Decimal(10)
# What an account keeps of its history (the venue keeps more; a paper session is for looking).
CLOSED_ORDERS_KEPT = 500
FILLS_KEPT = 2000
# Open orders at once (the venue's default limit per account).
OPEN_ORDERS_MAX = 1000
# The coins an account may rest orders on at once: each call reads their books.
RESTING_COINS_MAX = 20
# The public reads (weight 2 each) all paper sessions of this orchestrator may send: 240 of the
# venue's 1,200 weight a minute per IP, beside the market-data sampler's 600 at most, leaving
# the rest to real sessions' orders.
PUBLIC_READS_PER_MINUTE = 120
# The policy rules an account counts refusals of (the signer has fewer).
REFUSAL_RULES_KEPT = 64
# The levels of a book a paper order can take (the venue sends 20 a side).
BOOK_LEVELS_READ = 100
ACCOUNT_READS = frozenset({
    runtime_pb2.HYPERLIQUID_READ_KIND_BALANCES, runtime_pb2.HYPERLIQUID_READ_KIND_POSITIONS,
    runtime_pb2.HYPERLIQUID_READ_KIND_OPEN_ORDERS, runtime_pb2.HYPERLIQUID_READ_KIND_ORDER,
    runtime_pb2.HYPERLIQUID_READ_KIND_ORDERS, runtime_pb2.HYPERLIQUID_READ_KIND_ORDER_FILLS,
    runtime_pb2.HYPERLIQUID_READ_KIND_LIQUIDATIONS,
})
ZERO = Decimal(0)

Level = tuple[Decimal, Decimal]  # (price, size)
T = TypeVar("T")


class PaperOrder(BaseModel):
    oid: int
    coin: str  # as agents name it ("BTC", "PURR/USDC")
    spot: bool
    is_buy: bool
    limit_px: Decimal
    size: Decimal
    filled: Decimal = ZERO
    trigger_px: Decimal | None = None
    tpsl: Literal["sl", "tp"] | None = None
    reduce_only: bool = False
    cloid: str
    status: str = "open"  # open | filled | canceled | marginCanceled | reduceOnlyCanceled | liquidatedCanceled
    timestamp: int
    status_timestamp: int


class PaperFill(BaseModel):
    oid: int
    coin: str
    is_buy: bool
    px: Decimal
    sz: Decimal
    fee: Decimal
    time: int
    crossed: bool
    direction: str


class PerpPosition(BaseModel):
    size: Decimal  # signed: long > 0
    entry_px: Decimal


class PaperLiquidation(BaseModel):
    time: int
    positions: list[dict[str, str]]
    notional: Decimal
    account_value: Decimal


class HyperliquidPaperAccount(BaseModel):
    perp_usdc: Decimal = ZERO  # cash: deposits, realized PnL, fees
    spot: dict[str, Decimal] = Field(default_factory=dict)
    positions: dict[str, PerpPosition] = Field(default_factory=dict)
    orders: list[PaperOrder] = Field(default_factory=list)
    fills: list[PaperFill] = Field(default_factory=list)
    liquidations: list[PaperLiquidation] = Field(default_factory=list)
    next_oid: int = 1
    # Every fill and fee since the account opened (`fills` keeps the newest only): a backtest's report.
    fill_count: int = 0
    fees_paid: Decimal = ZERO
    # The actions the copied policy refused, by the signer's rule (a backtest's report).
    refusals_by_rule: dict[str, int] = Field(default_factory=dict)


class Book(BaseModel):
    """The venue's L2 book of one coin: best first on each side."""

    bids: list[Level]
    asks: list[Level]


class MarketView(BaseModel):
    """What the engine needs to know of the market now: mids by coin and the books read."""

    marks: dict[str, Decimal]
    books: dict[str, Book]


# ---- the engine: pure functions of the account and what was read ------------------------


def taken(book: Book, is_buy: bool, limit: Decimal, size: Decimal) -> list[Level]:
    """The levels an order of `size` up to `limit` takes from `book`, best first."""
    levels: list[Level] = []
    left = size
    for px, available in book.asks if is_buy else book.bids:
        if left <= 0 or (px > limit if is_buy else px < limit):
            break
        part = min(available, left)
        levels.append((px, part))
        left -= part
    return levels


def _leverage(markets: Markets, coin: str) -> int:
    """The leverage a paper perp position runs at: the venue's default, at most the coin's
    maxLeverage (a coin the venue no longer lists: the default)."""
    market = markets.by_coin.get(coin)
    return min(DEFAULT_LEVERAGE, (market.max_leverage if market else 0) or DEFAULT_LEVERAGE)


def account_value(account: HyperliquidPaperAccount, view: MarketView) -> Decimal:
    return account.perp_usdc + sum((p.size * (view.marks.get(coin, p.entry_px) - p.entry_px) for coin, p in account.positions.items()), ZERO)


def equity(account: HyperliquidPaperAccount, view: MarketView) -> tuple[Decimal, list[str]]:
    """What the account is worth in USDC: its perp account value and its spot balances at the
    mids; and the spot coins without a mid (not counted)."""
    unvalued = sorted(coin for coin in account.positions if coin not in view.marks)  # never at its entry price: a loss would hide
    value = account_value(account, view)
    for coin, total in sorted(account.spot.items()):
        price = Decimal(1) if coin == USDC else view.marks.get(f"{coin}/USDC")
        if price is None:
            unvalued.append(coin)
        else:
            value += total * price
    return value, unvalued


def holdings(account: HyperliquidPaperAccount) -> list[dict[str, str]]:
    """What the account holds as positions (a backtest's steps), in Circuit's Hyperliquid units
    (8 decimals): its perp USDC, then its perp positions by coin (a short is negative), then
    its spot balances by coin; nothing held is left out, but the perp USDC always shows."""
    def held(network: str, asset: str, qty: Decimal) -> dict[str, str]:
        return {"network": network, "asset_address": asset, "current_qty": str(int(qty * USDC_UNITS))}

    return [held("hypercore:perp", USDC, account.perp_usdc),
            *(held("hypercore:perp", coin, p.size) for coin, p in sorted(account.positions.items()) if p.size),
            *(held("hypercore:spot", coin, total) for coin, total in sorted(account.spot.items()) if total)]


def margin_used(account: HyperliquidPaperAccount, view: MarketView, markets: Markets) -> Decimal:
    return sum((abs(p.size) * view.marks.get(coin, p.entry_px) / _leverage(markets, coin) for coin, p in account.positions.items()), ZERO)


def _resting(account: HyperliquidPaperAccount, excluding: int | None = None) -> list[PaperOrder]:
    """Open limit orders that hold margin or balance (not triggers, not reduce-only)."""
    return [o for o in account.orders if o.status == "open" and o.trigger_px is None and not o.reduce_only and o.oid != excluding]


def margin_held(account: HyperliquidPaperAccount, markets: Markets, excluding: int | None = None) -> Decimal:
    """The margin open perp orders hold, as the venue holds it (their rest at their price)."""
    return sum(((o.size - o.filled) * o.limit_px / _leverage(markets, o.coin) for o in _resting(account, excluding) if not o.spot), ZERO)


def spot_held(account: HyperliquidPaperAccount, coin: str, excluding: int | None = None) -> Decimal:
    """What open spot orders hold of `coin`: USDC for buys, the base for sells."""
    held = ZERO
    for o in _resting(account, excluding):
        if o.spot and o.is_buy and coin == USDC:
            held += (o.size - o.filled) * o.limit_px * (1 + MAKER_FEE[True])
        elif o.spot and not o.is_buy and o.coin.split("/")[0] == coin:
            held += o.size - o.filled
    return held


def withdrawable(account: HyperliquidPaperAccount, view: MarketView, markets: Markets, excluding: int | None = None) -> Decimal:
    return max(ZERO, account_value(account, view) - margin_used(account, view, markets) - margin_held(account, markets, excluding))


def _refusal(account: HyperliquidPaperAccount, order: PaperOrder, market: Market, levels: list[Level], crossed: bool,
             view: MarketView, markets: Markets) -> str | None:
    """Why the account cannot take these fills (the venue's words), or None. The order's own
    hold (when it already rests) is not counted against it."""
    size = sum((sz for _, sz in levels), ZERO)
    cost = sum((px * sz for px, sz in levels), ZERO)
    fee = cost * (TAKER_FEE if crossed else MAKER_FEE)[market.spot]
    if market.spot:
        coin = USDC if order.is_buy else market.coin.split("/")[0]
        needed = cost + fee if order.is_buy else size
        if account.spot.get(coin, ZERO) - spot_held(account, coin, excluding=order.oid) < needed:
            return f"Insufficient spot balance asset={market.asset}"
        return None
    position = account.positions.get(market.coin)
    held = position.size if position else ZERO
    signed = size if order.is_buy else -size
    closing = min(abs(signed), abs(held)) if held * signed < 0 else ZERO
    if order.reduce_only and closing < size:
        return f"Reduce only order would increase position. asset={market.asset}"
    opening = size - closing
    if opening and (opening * (cost / size) / _leverage(markets, market.coin)) + fee > withdrawable(account, view, markets,
                                                                                                     excluding=order.oid):
        return f"Insufficient margin to place order. asset={market.asset}"
    return None


def _fill(account: HyperliquidPaperAccount, order: PaperOrder, market: Market, px: Decimal, sz: Decimal, crossed: bool, now: int) -> None:
    """One fill, the account's refusal already checked (`_refusal`)."""
    fee = px * sz * (TAKER_FEE if crossed else MAKER_FEE)[market.spot]
    if market.spot:
        base = market.coin.split("/")[0]
        usdc, held = account.spot.get(USDC, ZERO), account.spot.get(base, ZERO)
        account.spot[USDC] = usdc - px * sz - fee if order.is_buy else usdc + px * sz - fee
        account.spot[base] = held + sz if order.is_buy else held - sz
        direction = "Buy" if order.is_buy else "Sell"
    else:
        direction = _perp_fill(account, market.coin, order.is_buy, px, sz, fee)
    order.filled += sz
    account.fill_count += 1
    account.fees_paid += fee
    account.fills.append(PaperFill(oid=order.oid, coin=order.coin, is_buy=order.is_buy, px=px, sz=sz, fee=fee, time=now,
                                   crossed=crossed, direction=direction))
    del account.fills[:-FILLS_KEPT]


def _perp_fill(account: HyperliquidPaperAccount, coin: str, is_buy: bool, px: Decimal, sz: Decimal, fee: Decimal) -> str:
    """The position and the perp USDC after a fill; the fill's direction, as the venue names it."""
    position = account.positions.get(coin) or PerpPosition(size=ZERO, entry_px=px)
    signed = sz if is_buy else -sz
    closing = min(sz, abs(position.size)) if position.size * signed < 0 else ZERO
    account.perp_usdc += closing * (px - position.entry_px) * (1 if position.size > 0 else -1) - fee
    new_size = position.size + signed
    if new_size == 0:
        account.positions.pop(coin, None)
    elif closing == 0:  # added to: the entry is the average of all fills
        entry = (abs(position.size) * position.entry_px + sz * px) / (abs(position.size) + sz)
        account.positions[coin] = PerpPosition(size=new_size, entry_px=entry)
    else:  # reduced (same entry) or turned round (entered at this fill)
        account.positions[coin] = PerpPosition(size=new_size, entry_px=position.entry_px if closing == sz else px)
    return ("Close Short" if is_buy else "Close Long") if closing else ("Open Long" if is_buy else "Open Short")


def _take(account: HyperliquidPaperAccount, order: PaperOrder, market: Market, levels: list[Level], view: MarketView,
          markets: Markets, now: int) -> str | None:
    refusal = _refusal(account, order, market, levels, True, view, markets)
    if refusal is None:
        for px, sz in levels:
            _fill(account, order, market, px, sz, True, now)
    return refusal


def place(account: HyperliquidPaperAccount, market: Market, wire: dict, view: MarketView, markets: Markets, now: int) -> dict:
    """An order as the venue's `/exchange` would answer it: {"filled": ...}, {"resting": ...} or {"error": ...}."""
    order = PaperOrder(oid=account.next_oid, coin=market.coin, spot=market.spot, is_buy=wire["b"], limit_px=Decimal(wire["p"]),
                       size=Decimal(wire["s"]), reduce_only=wire["r"], cloid=wire["c"], timestamp=now, status_timestamp=now)
    if market.spot and not market.coin.endswith(f"/{USDC}"):
        return {"error": f"paper accounts trade spot pairs quoted in {USDC} only; {market.coin} is not"}
    if not order.reduce_only and order.limit_px * order.size < MIN_ORDER_USD:
        return {"error": f"Order must have minimum value of $10. asset={market.asset}"}
    if sum(1 for o in account.orders if o.status == "open") >= OPEN_ORDERS_MAX:
        return {"error": f"Too many open orders: a paper account holds at most {OPEN_ORDERS_MAX}, as the venue does. asset={market.asset}"}
    trigger = wire["t"].get("trigger")
    if trigger is not None:
        order.trigger_px, order.tpsl = Decimal(trigger["triggerPx"]), trigger["tpsl"]
        if (refusal := _no_room_to_rest(account, market)) is not None:
            return {"error": refusal}
        _keep(account, order)
        return {"resting": {"oid": order.oid}}
    tif = wire["t"]["limit"]["tif"]
    book = view.books.get(market.coin)
    if book is None:
        return {"error": f"the venue gives no order book for {market.coin} now; try again later. asset={market.asset}"}
    levels = taken(book, order.is_buy, order.limit_px, order.size)
    if tif == "Alo" and levels:
        best = (book.asks if order.is_buy else book.bids)[0][0]
        return {"error": f"Post only order would have immediately matched, bbo was {wire_decimal(best)}. asset={market.asset}"}
    if tif == "Ioc" and not levels:
        return {"error": f"Order could not immediately match against any resting orders. asset={market.asset}"}
    rest = ZERO if tif == "Ioc" else order.size - sum((sz for _, sz in levels), ZERO)
    # The venue checks the whole order when it is placed: what it takes now and what rests.
    if (refusal := _refusal(account, order, market, levels + ([(order.limit_px, rest)] if rest else []), True, view, markets)):
        return {"error": refusal}
    if rest and (refusal := _no_room_to_rest(account, market)) is not None:
        return {"error": refusal}
    _take(account, order, market, levels, view, markets, now)
    _keep(account, order)
    if rest:
        return {"resting": {"oid": order.oid, "filled": wire_decimal(order.filled)}}
    order.status = "filled"  # an IOC's unfilled rest is cancelled by the venue
    cost = sum((px * sz for px, sz in levels), ZERO)
    return {"filled": {"totalSz": wire_decimal(order.filled), "avgPx": wire_decimal(cost / order.filled), "oid": order.oid}}


def _no_room_to_rest(account: HyperliquidPaperAccount, market: Market) -> str | None:
    coins = {o.coin for o in account.orders if o.status == "open"}
    if market.coin in coins or len(coins) < RESTING_COINS_MAX:
        return None
    return (f"a paper account rests orders on at most {RESTING_COINS_MAX} coins at once (each call reads their books); "
            f"cancel one first. asset={market.asset}")


def _keep(account: HyperliquidPaperAccount, order: PaperOrder) -> None:
    account.next_oid += 1
    account.orders.append(order)
    closed = [o for o in account.orders if o.status != "open"]
    for old in closed[:-CLOSED_ORDERS_KEPT]:
        account.orders.remove(old)


def settle(account: HyperliquidPaperAccount, view: MarketView, markets: Markets, now: int) -> None:
    """Resting orders the book shows at or through their price fill at it (maker), as much as
    the book shows there; triggers the mid has reached take liquidity at their price (taker);
    then an account under its maintenance margin is liquidated."""
    for order in [o for o in account.orders if o.status == "open" and o.coin in view.books and o.coin in markets.by_coin]:
        market, book = markets.get(order.coin), view.books[order.coin]
        left = order.size - order.filled
        if order.trigger_px is not None:
            mid = view.marks.get(order.coin)
            rising = order.is_buy == (order.tpsl == "sl")  # a buy stop and a sell take-profit trigger on a rise
            if mid is None or (mid < order.trigger_px if rising else mid > order.trigger_px):
                continue
            refusal = _take(account, order, market, taken(book, order.is_buy, order.limit_px, left), view, markets, now)
            order.status = "filled" if refusal is None and order.filled > 0 else "canceled"
        else:
            shown = sum((sz for _, sz in taken(book, order.is_buy, order.limit_px, left)), ZERO)
            if not shown:
                continue
            refusal = _refusal(account, order, market, [(order.limit_px, shown)], False, view, markets)
            if refusal is None:
                _fill(account, order, market, order.limit_px, shown, False, now)
            if refusal is not None:
                order.status = "reduceOnlyCanceled" if order.reduce_only else "marginCanceled"
            elif order.filled == order.size:
                order.status = "filled"
        order.status_timestamp = now
    _liquidate_if_under_maintenance(account, view, markets, now)


def maintenance_margin(account: HyperliquidPaperAccount, view: MarketView, markets: Markets) -> Decimal:
    """Half the initial margin at the coin's maximum leverage, as the venue counts it."""
    def max_leverage(coin: str) -> int:
        market = markets.by_coin.get(coin)
        return (market.max_leverage if market else 0) or DEFAULT_LEVERAGE

    return sum((abs(p.size) * view.marks.get(coin, p.entry_px) / (2 * max_leverage(coin)) for coin, p in account.positions.items()), ZERO)


def _liquidate_if_under_maintenance(account: HyperliquidPaperAccount, view: MarketView, markets: Markets, now: int) -> None:
    """Every perp position closed at its mark when the account's value falls below its
    maintenance margin; the open perp orders cancelled; a negative balance written off (the
    venue's insurance takes it), so a paper account never shows less than nothing."""
    if not account.positions or account_value(account, view) >= maintenance_margin(account, view, markets):
        return
    value, closed = account_value(account, view), []
    for coin, position in list(account.positions.items()):
        mark = view.marks.get(coin, position.entry_px)
        notional = abs(position.size) * mark
        _perp_fill(account, coin, position.size < 0, mark, abs(position.size), ZERO)
        closed.append({"coin": coin, "side": "long" if position.size > 0 else "short", "size": wire_decimal(abs(position.size)),
                       "notional": notional})
    for order in account.orders:
        if order.status == "open" and not order.spot:
            order.status, order.status_timestamp = "liquidatedCanceled", now
    account.perp_usdc = max(account.perp_usdc, ZERO)
    account.liquidations.append(PaperLiquidation(time=now, positions=[{k: v for k, v in c.items() if k != "notional"} for c in closed],
                                                 notional=sum((c["notional"] for c in closed), ZERO), account_value=value))
    del account.liquidations[:-CLOSED_ORDERS_KEPT]


def cancel(account: HyperliquidPaperAccount, market: Market, oid: int, now: int) -> str | None:
    order = next((o for o in account.orders if o.oid == oid and o.coin == market.coin and o.status == "open"), None)
    if order is None:
        return f"Order was never placed, already canceled, or filled. asset={market.asset}"
    order.status, order.status_timestamp = "canceled", now
    return None


def transfer(account: HyperliquidPaperAccount, amount: Decimal, to_perp: bool, view: MarketView, markets: Markets) -> str | None:
    if to_perp:
        if account.spot.get(USDC, ZERO) - spot_held(account, USDC) < amount:
            return "Insufficient balance for transfer"
        account.spot[USDC] -= amount
        account.perp_usdc += amount
    else:
        if withdrawable(account, view, markets) < amount:
            return "Insufficient balance for transfer"
        account.perp_usdc -= amount
        account.spot[USDC] = account.spot.get(USDC, ZERO) + amount
    return None


# ---- reads, in the shapes of HyperliquidVenue.read ----------------------------------------


def _order_info(order: PaperOrder) -> dict:
    info = {"orderId": order.oid, "coin": order.coin, "side": "buy" if order.is_buy else "sell",
            "price": wire_decimal(order.limit_px), "size": wire_decimal(order.size), "filled": wire_decimal(order.filled),
            "status": order.status, "market": "spot" if order.spot else "perp", "clientOrderId": order.cloid}
    return info


def read_account(account: HyperliquidPaperAccount, request: runtime_pb2.HyperliquidReadRequest, view: MarketView,
                 markets: Markets) -> object:
    kind = request.kind
    if kind == runtime_pb2.HYPERLIQUID_READ_KIND_BALANCES:
        spot = []
        for coin, total in sorted(account.spot.items()):
            price = Decimal(1) if coin == USDC else view.marks.get(f"{coin}/USDC")
            token_id, decimals = markets.tokens.get(coin, ("", 0))
            spot.append({"coin": coin, "fullName": None, "tokenId": token_id, "total": wire_decimal(total),
                         "hold": wire_decimal(spot_held(account, coin)),
                         "priceUsd": None if price is None else wire_decimal(price),
                         "valueUsd": None if price is None else wire_decimal(total * price), "decimals": decimals})
        return {"perp": {"accountValue": wire_decimal(account_value(account, view)),
                         "totalMarginUsed": wire_decimal(margin_used(account, view, markets)),
                         "withdrawable": wire_decimal(withdrawable(account, view, markets))}, "spot": spot}
    if kind == runtime_pb2.HYPERLIQUID_READ_KIND_POSITIONS:
        positions = []
        for coin, p in sorted(account.positions.items()):
            mark = view.marks.get(coin)
            positions.append({
                "coin": coin, "side": "long" if p.size > 0 else "short", "size": wire_decimal(abs(p.size)),
                "entryPrice": wire_decimal(p.entry_px), "markPrice": None if mark is None else wire_decimal(mark),
                "liquidationPrice": None, "unrealizedPnl": None if mark is None else wire_decimal(p.size * (mark - p.entry_px)),
                "leverage": _leverage(markets, coin),
                "marginUsed": None if mark is None else wire_decimal(abs(p.size) * mark / _leverage(markets, coin)),
            })
        return positions
    newest_first = sorted(account.orders, key=lambda o: o.oid, reverse=True)
    if kind == runtime_pb2.HYPERLIQUID_READ_KIND_OPEN_ORDERS:
        return [_order_info(o) for o in newest_first if o.status == "open"]
    if kind == runtime_pb2.HYPERLIQUID_READ_KIND_ORDER:
        found = next((o for o in newest_first if o.oid == request.order_id), None)
        if found is None:
            raise not_found(f"hyperliquid: order {request.order_id} is not known for this paper account")
        return _order_info(found)
    if kind == runtime_pb2.HYPERLIQUID_READ_KIND_ORDERS:
        return [{**_order_info(o), "timestamp": o.timestamp, "statusTimestamp": o.status_timestamp,
                 "orderType": "Stop Market" if o.tpsl == "sl" else "Take Profit Market" if o.tpsl else "Limit"} for o in newest_first]
    if kind == runtime_pb2.HYPERLIQUID_READ_KIND_ORDER_FILLS:
        return [{"orderId": f.oid, "coin": f.coin, "side": "buy" if f.is_buy else "sell", "direction": f.direction,
                 "price": wire_decimal(f.px), "size": wire_decimal(f.sz), "fee": wire_decimal(f.fee), "timestamp": f.time,
                 "isCrossed": f.crossed} for f in reversed(account.fills)]
    return [{"timestamp": lq.time, "liquidatedPositions": lq.positions, "totalNotional": wire_decimal(lq.notional),
             "accountValue": wire_decimal(lq.account_value), "leverageType": "Cross", "txHash": None} for lq in reversed(account.liquidations)]


# ---- the service: what the platform calls for a paper session ------------------------------


class PaperHyperliquid:
    """A paper session's Hyperliquid: the same calls as `HyperliquidVenue`, on a paper account."""

    def __init__(self, venue: HyperliquidVenue, db: Database, market_data: MarketData | None = None) -> None:
        self._venue = venue
        self._db = db
        self._accounts = PaperAccounts(db, "hyperliquid", HyperliquidPaperAccount)
        self._public_reads = SharedReads("hyperliquid", PUBLIC_READS_PER_MINUTE)
        self._market_data = market_data

    # Checks and previews are the venue's own.
    async def order_action(self, request: runtime_pb2.HyperliquidPlaceOrderRequest) -> tuple[dict, Market]:
        return await self._venue.order_action(request)

    async def cancel_action(self, request: runtime_pb2.HyperliquidCancelOrderRequest) -> dict:
        return await self._venue.cancel_action(request)

    def transfer_amount(self, request: runtime_pb2.HyperliquidTransferRequest) -> str:
        return self._venue.transfer_amount(request)

    async def read(self, session: SessionRow, request: runtime_pb2.HyperliquidReadRequest) -> object:
        if request.kind == runtime_pb2.HYPERLIQUID_READ_KIND_MIDPOINT_PRICE:  # the venue's public mids
            as_of = await self._as_of(session)
            if as_of is None:
                return await self._venue.read(session, request)
            dex = request.dex if request.HasField("dex") else "perp"
            if dex not in ("perp", "spot"):
                raise precondition(f"hyperliquid: a backtest has recorded mids of perp and spot only, not of {dex!r}")
            if not request.coins:
                raise invalid("hyperliquid: midpoint_price needs a coin (or a list of coins)")
            mids = _mapping(await self._public({"type": "allMids"}, as_of))
            return midpoint_answer(mids, await self._venue.markets(), list(request.coins), dex, as_of.replace(tzinfo=UTC))
        if request.kind not in ACCOUNT_READS:  # (never passed on: a new kind may read an account)
            raise invalid("hyperliquid: say what to read (balances, positions, open_orders, order, orders, order_fills, liquidations, "
                          "midpoint_price)")
        if request.kind == runtime_pb2.HYPERLIQUID_READ_KIND_ORDER and not request.HasField("order_id"):
            raise invalid("hyperliquid: order needs an order id")
        return await self._on_account(session, set(), lambda account, view, markets, now: read_account(account, request, view, markets))

    async def place_order(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.HyperliquidPlaceOrderRequest) -> dict:
        action, market = await self.order_action(request)
        if (as_of := await self._as_of(session)) is not None:  # a coin whose book was not recorded is refused by name
            await self._public({"type": "l2Book", "coin": market.mid_key}, as_of)
        # The copy of the real wallet's policy decides, as it would; the signature is not used.
        await self._policy_decides(session, self._venue.signed_l1(session, execution_id, session.wallet_address, action))
        wire = action["orders"][0]
        status = await self._on_account(session, {market.coin},
                                        lambda account, view, markets, now: place(account, market, wire, view, markets, now))
        return order_answer(request, market, action, status)

    async def cancel_order(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.HyperliquidCancelOrderRequest) -> None:
        action = await self.cancel_action(request)
        await self._policy_decides(session, self._venue.signed_l1(session, execution_id, session.wallet_address, action))
        market = (await self._venue.markets()).get(request.coin)
        refusal = await self._on_account(session, set(), lambda account, view, markets, now: cancel(account, market, request.order_id, now))
        if refusal is not None:
            raise precondition(f"hyperliquid: {refusal}")

    async def transfer(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.HyperliquidTransferRequest) -> None:
        await self._policy_decides(session, self._venue.signed_transfer(session, execution_id, request))
        amount = Decimal(self.transfer_amount(request))
        refusal = await self._on_account(session, set(),
                                         lambda account, view, markets, now: transfer(account, amount, request.to_perp, view, markets))
        if refusal is not None:
            raise precondition(f"hyperliquid: {refusal}")

    async def _policy_decides(self, session: SessionRow, signing: Awaitable[object]) -> None:
        """Awaits the signer's decision on an action; a denial by a policy rule is counted on the
        account (a backtest reports refusals by rule, as it does a chain's) and raised."""
        try:
            await signing
        except Refused as refused:
            if (rule := denying_rule(refused.message)) is not None:
                await self._accounts.change(session.id, lambda: _opening(session), lambda account: _count_refusal(account, rule))
            raise

    async def equity(self, session: SessionRow, as_of: datetime) -> tuple[Decimal, list[str], list[dict[str, str]]]:
        """A backtest's account settled at `as_of` (naive UTC): its value in USDC there, the
        coins without a mid, and its holdings."""
        return await self._on_account(session, set(), lambda account, view, markets, now: (*equity(account, view), holdings(account)), as_of)

    async def _as_of(self, session: SessionRow) -> datetime | None:
        """The time of a backtest by time's current step (what its market is); None for a paper
        session, whose market is the venue's now."""
        if not session.backtest_by_time:
            return None
        at = await self._db.run(lambda db: db.scalar(select(BacktestStepRow.block_time).where(BacktestStepRow.session_id == session.id)
                                                     .order_by(BacktestStepRow.step.desc()).limit(1)))
        if at is None:
            raise precondition(f"backtest session {session.id} has not taken its first step")
        return at

    async def _on_account(self, session: SessionRow, coins: set[str],
                         change: Callable[[HyperliquidPaperAccount, MarketView, Markets, int], T], as_of: datetime | None = None) -> T:
        """Reads what the account needs of the market (the mids; the books of `coins` and of its
        open orders' coins), then settles the account against it and runs `change`, stored in one.
        A backtest's market is as of its step (or `as_of`), and so is its clock."""
        opening = lambda: _opening(session)  # noqa: E731
        as_of = as_of or await self._as_of(session)
        account = await self._accounts.read(session.id, opening)
        markets = await self._venue.markets()
        coins = coins | {o.coin for o in account.orders if o.status == "open"}
        view = await self._view(markets, coins, as_of)
        now = int(time.time() * 1000) if as_of is None else int(as_of.replace(tzinfo=UTC).timestamp() * 1000)

        def settled_then_changed(account: HyperliquidPaperAccount) -> T:
            settle(account, view, markets, now)
            return change(account, view, markets, now)

        return await self._accounts.change(session.id, opening, settled_then_changed)

    async def _view(self, markets: Markets, coins: set[str], as_of: datetime | None) -> MarketView:
        """The mids, and the books of `coins` the venue lists and answers for (an order's coin
        without a book is refused where it is placed; a held coin without one waits)."""
        ordered = sorted(coin for coin in coins if coin in markets.by_coin)
        mids, *books = await asyncio.gather(self._public({"type": "allMids"}, as_of),
                                            *(self._book_or_none(markets.get(c), as_of) for c in ordered))
        by_key = {m.mid_key: m.coin for m in markets.by_coin.values()}
        marks = {by_key[key]: price for key, text in _mapping(mids).items() if key in by_key and (price := _price(text)) is not None}
        return MarketView(marks=marks, books={coin: book for coin, answer in zip(ordered, books, strict=True)
                                              if (book := _book(answer)) is not None})

    async def _book_or_none(self, market: Market, as_of: datetime | None) -> object:
        """A coin's book; None when the venue refuses it (that coin waits, the account goes on)."""
        try:
            return await self._public({"type": "l2Book", "coin": market.mid_key}, as_of)
        except Refused:
            return None

    async def _public(self, request: dict, as_of: datetime | None) -> object:
        """The venue's answer to a public read now (shared for a second), or as recorded at
        `as_of` (a backtest's step)."""
        if as_of is None:
            return await self._public_reads.get(json.dumps(request, sort_keys=True), lambda: self._venue.info(request))
        series = series_name(request)
        answer = await self._market_data.at(HYPERLIQUID, series, as_of) if self._market_data is not None else None
        if answer is None:
            age = f" within {self._market_data.max_age.total_seconds():g}s" if self._market_data is not None else ""
            raise precondition(f"hyperliquid: the platform has no recorded {series} at {as_of.isoformat()}Z{age}: a backtest fills only "
                               "against recorded market data ([market_data] hyperliquid_coins; ListMarketData shows what is recorded)")
        return answer


def _count_refusal(account: HyperliquidPaperAccount, rule: str) -> None:
    # Rules are the signer's few names; the bound keeps the account's size fixed whatever it says.
    if rule in account.refusals_by_rule or len(account.refusals_by_rule) < REFUSAL_RULES_KEPT:
        account.refusals_by_rule[rule] = account.refusals_by_rule.get(rule, 0) + 1


def _opening(session: SessionRow) -> HyperliquidPaperAccount:
    """A new paper account: the allocation, when the session's starting asset is Hyperliquid USDC."""
    usdc = Decimal(int(session.allocation_amount)) / USDC_UNITS
    if session.allocation_network == "hypercore:perp":
        return HyperliquidPaperAccount(perp_usdc=usdc)
    if session.allocation_network == "hypercore:spot":
        return HyperliquidPaperAccount(spot={USDC: usdc})
    return HyperliquidPaperAccount()


def _mapping(answer: object) -> dict:
    if not isinstance(answer, dict):
        raise precondition("hyperliquid: the venue's allMids answer is not an object")
    return answer


def _price(text: object) -> Decimal | None:
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


def _book(answer: object) -> Book | None:
    """The venue's l2Book answer, bounded and checked (None: no book); a level that is not a
    positive price and size ends its side (what follows it cannot be trusted either)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("levels"), list) or len(answer["levels"]) != 2:
        return None
    sides: list[list[Level]] = []
    for side in answer["levels"]:
        levels: list[Level] = []
        for level in side[:BOOK_LEVELS_READ] if isinstance(side, list) else []:
            px, sz = (_price(level.get("px")), _price(level.get("sz"))) if isinstance(level, dict) else (None, None)
            if px is None or sz is None:
                break
            levels.append((px, sz))
        sides.append(levels)
    # Best first whatever order the answer had: an order never fills at a level it passed over.
    return Book(bids=sorted(sides[0], key=lambda level: -level[0]), asks=sorted(sides[1]))
