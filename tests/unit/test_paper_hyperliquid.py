"""The Hyperliquid paper engine (orchestrator/actions/venues/paper_hyperliquid.py) without a
venue: orders take the book level by level up to their price, refusals use the venue's words
and change nothing, resting orders fill once the book moves through them, triggers fire on the
mid, and a perp position's entry, realized PnL and fees add up."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from orchestrator.actions.venues.hyperliquid import Market, Markets
from orchestrator.actions.venues.paper_hyperliquid import (
    Book,
    HyperliquidPaperAccount,
    MarketView,
    _book,
    account_value,
    cancel,
    place,
    settle,
    transfer,
)

BTC = Market("BTC", 0, 5, False, "BTC", 40)
PURR = Market("PURR/USDC", 10000, 0, True, "PURR/USDC")
MARKETS = Markets({"BTC": BTC, "PURR/USDC": PURR}, {"USDC": ("0x6d", 8), "PURR": ("0xc1", 5)}, 0.0)


def view(mid: str = "60000", bids=(("59990", "0.5"), ("59980", "1")), asks=(("60010", "0.5"), ("60020", "1")), coin: str = "BTC") -> MarketView:
    return MarketView(marks={coin: D(mid)}, books={coin: Book(bids=[(D(p), D(s)) for p, s in bids], asks=[(D(p), D(s)) for p, s in asks])})


def wire(buy: bool, px: str, sz: str, tif: str = "Ioc", reduce_only: bool = False, trigger: dict | None = None) -> dict:
    return {"a": 0, "b": buy, "p": px, "s": sz, "r": reduce_only, "t": {"trigger": trigger} if trigger else {"limit": {"tif": tif}}, "c": "0x01"}


def test_a_market_buy_walks_the_book_up_to_its_price_and_pays_the_taker_fee():
    account = HyperliquidPaperAccount(perp_usdc=D(10_000))
    answer = place(account, BTC, wire(True, "60015", "0.8"), view(), MARKETS, now=1)
    # 0.5 at 60,010 then nothing more at or under 60,015: an IOC's rest is cancelled.
    assert answer == {"filled": {"totalSz": "0.5", "avgPx": "60010", "oid": 1}}
    position = account.positions["BTC"]
    assert (position.size, position.entry_px) == (D("0.5"), D(60010))
    assert account.perp_usdc == D(10_000) - D("0.5") * 60010 * D("0.00045")
    deeper = place(account, BTC, wire(True, "60020", "1"), view(), MARKETS, now=2)
    assert deeper["filled"]["totalSz"] == "1" and D(deeper["filled"]["avgPx"]) == D("60015")  # half at each level
    assert [f.px for f in account.fills] == [D(60010), D(60010), D(60020)]


def test_refusals_are_the_venues_and_change_nothing():
    account = HyperliquidPaperAccount(perp_usdc=D(100))
    before = account.model_copy(deep=True)
    assert "could not immediately match" in place(account, BTC, wire(True, "59000", "0.01"), view(), MARKETS, 1)["error"]
    assert "Insufficient margin" in place(account, BTC, wire(True, "60010", "0.5"), view(), MARKETS, 1)["error"]  # $30k at 20x > $100
    assert "minimum value of $10" in place(account, BTC, wire(True, "60010", "0.0001"), view(), MARKETS, 1)["error"]
    assert "Post only order would have immediately matched, bbo was 60010" in place(
        account, BTC, wire(True, "60010", "0.001", tif="Alo"), view(), MARKETS, 1)["error"]
    assert "Reduce only order would increase position" in place(
        account, BTC, wire(False, "59990", "0.001", reduce_only=True), view(), MARKETS, 1)["error"]
    assert account == before


def test_a_resting_limit_fills_at_its_price_as_much_as_the_book_shows_through_it():
    account = HyperliquidPaperAccount(perp_usdc=D(10_000))
    assert place(account, BTC, wire(True, "59000", "0.1", tif="Gtc"), view(), MARKETS, 1) == {"resting": {"oid": 1, "filled": "0"}}
    settle(account, view(), MARKETS, now=2)
    assert account.orders[0].status == "open" and not account.fills
    settle(account, view("58950", bids=[("58940", "1")], asks=[("58960", "0.04"), ("59000", "0.01"), ("59010", "5")]), MARKETS, now=3)
    [fill] = account.fills
    assert (fill.px, fill.sz, fill.crossed) == (D(59000), D("0.05"), False)  # what the book showed at or through 59,000
    assert fill.fee == D(59000) * D("0.05") * D("0.00015") and account.orders[0].status == "open"
    settle(account, view("58000", bids=[("57990", "1")], asks=[("58010", "1")]), MARKETS, now=4)
    assert account.orders[0].status == "filled" and sum(f.sz for f in account.fills) == D("0.1")


def test_a_post_only_order_that_does_not_cross_rests_and_a_partly_crossing_limit_says_what_filled():
    account = HyperliquidPaperAccount(perp_usdc=D(10_000))
    assert place(account, BTC, wire(True, "59000", "0.01", tif="Alo"), view(), MARKETS, 1) == {"resting": {"oid": 1, "filled": "0"}}
    assert place(account, BTC, wire(True, "60015", "0.8", tif="Gtc"), view(), MARKETS, 2) == {"resting": {"oid": 2, "filled": "0.5"}}


def test_resting_orders_hold_margin_and_balance_and_are_bounded_in_number():
    from orchestrator.actions.venues.paper_hyperliquid import OPEN_ORDERS_MAX

    account = HyperliquidPaperAccount(perp_usdc=D(100))
    assert "resting" in place(account, BTC, wire(True, "50000", "0.03", tif="Gtc"), view(), MARKETS, 1)  # $75 of margin at 20x
    assert "Insufficient margin" in place(account, BTC, wire(True, "50000", "0.02", tif="Gtc"), view(), MARKETS, 2)["error"]
    spot = HyperliquidPaperAccount(spot={"USDC": D(20)})
    book = view("0.2", bids=[("0.1", "1000")], asks=[("0.3", "1000")], coin="PURR/USDC")
    assert "resting" in place(spot, PURR, wire(True, "0.2", "90", tif="Gtc"), book, MARKETS, 1)
    assert "Insufficient spot balance" in place(spot, PURR, wire(True, "0.2", "60", tif="Gtc"), book, MARKETS, 2)["error"]
    many = HyperliquidPaperAccount(perp_usdc=D(10**9))
    for n in range(OPEN_ORDERS_MAX):
        place(many, BTC, wire(True, "50000", "0.001", tif="Gtc"), view(), MARKETS, n)
    assert "Too many open orders" in place(many, BTC, wire(True, "50000", "0.001", tif="Gtc"), view(), MARKETS, 0)["error"]


def test_an_account_under_its_maintenance_margin_is_liquidated_and_never_shows_less_than_nothing():
    from corral.v1 import runtime_pb2
    from orchestrator.actions.venues.paper_hyperliquid import read_account

    account = HyperliquidPaperAccount(perp_usdc=D(1000))
    place(account, BTC, wire(True, "60020", "0.3"), view(bids=[("59990", "1")], asks=[("60010", "1")]), MARKETS, 1)  # $18k at 20x
    settle(account, view("58000"), MARKETS, 2)
    assert "BTC" in account.positions  # -$603: above its $217.50 of maintenance (half the initial margin at 40x)
    settle(account, view("56000"), MARKETS, 3)
    assert not account.positions and account.perp_usdc == 0
    [liquidation] = read_account(account, runtime_pb2.HyperliquidReadRequest(kind=runtime_pb2.HYPERLIQUID_READ_KIND_LIQUIDATIONS),
                                 view("56000"), MARKETS)
    assert liquidation["liquidatedPositions"] == [{"coin": "BTC", "side": "long", "size": "0.3"}] and D(liquidation["accountValue"]) < 0


def test_a_stop_triggers_on_the_mid_and_closes_at_the_book_realizing_the_loss():
    account = HyperliquidPaperAccount(perp_usdc=D(10_000))
    place(account, BTC, wire(True, "60010", "0.1"), view(), MARKETS, 1)
    stop = place(account, BTC, wire(False, "54000", "0.1", reduce_only=True, trigger={"isMarket": True, "triggerPx": "55000", "tpsl": "sl"}),
                 view(), MARKETS, 2)
    assert "resting" in stop
    settle(account, view("56000"), MARKETS, 3)
    assert "BTC" in account.positions  # not yet
    settle(account, view("54900", bids=[("54800", "5")], asks=[("55000", "5")]), MARKETS, 4)
    assert "BTC" not in account.positions and account.orders[-1].status == "filled"
    fees = D("0.1") * 60010 * D("0.00045") + D("0.1") * 54800 * D("0.00045")
    assert account.perp_usdc == D(10_000) + D("0.1") * (54800 - 60010) - fees
    assert account_value(account, view()) == account.perp_usdc


def test_spot_buys_and_sells_move_usdc_and_the_base_and_need_the_balance():
    book = view("0.2", bids=[("0.1999", "1000")], asks=[("0.2001", "1000")], coin="PURR/USDC")
    account = HyperliquidPaperAccount(spot={"USDC": D(100)})
    assert "Insufficient spot balance" in place(account, PURR, wire(True, "0.21", "600"), book, MARKETS, 1)["error"]
    assert "filled" in place(account, PURR, wire(True, "0.21", "400"), book, MARKETS, 1)
    assert account.spot["PURR"] == 400 and account.spot["USDC"] == D(100) - D("80.04") - D("80.04") * D("0.0007")
    assert "filled" in place(account, PURR, wire(False, "0.19", "400"), book, MARKETS, 2)
    assert account.spot["PURR"] == 0


def test_cancel_and_transfer():
    account = HyperliquidPaperAccount(perp_usdc=D(100), spot={"USDC": D(5)})
    place(account, BTC, wire(True, "50000", "0.001", tif="Gtc"), view(), MARKETS, 1)
    assert cancel(account, BTC, 1, 2) is None and account.orders[0].status == "canceled"
    assert "never placed, already canceled, or filled" in cancel(account, BTC, 1, 3)
    assert transfer(account, D(6), True, view(), MARKETS) == "Insufficient balance for transfer"
    assert transfer(account, D(5), True, view(), MARKETS) is None and account.perp_usdc == 105
    assert transfer(account, D(105), False, view(), MARKETS) is None and account.spot["USDC"] == 105


@pytest.mark.parametrize("answer", [None, {"levels": []}, [], {"levels": [[], [], []]}])
def test_a_missing_book_is_none_and_an_order_on_it_is_refused_by_name(answer):
    assert _book(answer) is None
    account = HyperliquidPaperAccount(perp_usdc=D(10_000))
    no_book = MarketView(marks={"BTC": D(60000)}, books={})
    assert "gives no order book for BTC" in place(account, BTC, wire(True, "60010", "0.01"), no_book, MARKETS, 1)["error"]


def test_a_book_is_bounded_read_best_first_and_cut_at_a_bad_level():
    asks = [{"px": str(60010 + i), "sz": "1", "n": 1} for i in range(500)]
    bids = [{"px": "59990", "sz": "1"}, {"px": "59999", "sz": "1"}, {"px": "NaN", "sz": "1"}, {"px": "59000", "sz": "1"}]
    book = _book({"levels": [bids, list(reversed(asks))]})
    assert [px for px, _ in book.bids] == [D(59999), D(59990)]
    assert len(book.asks) == 100 and book.asks[0][0] < book.asks[-1][0]


def test_a_backtests_equity_values_spot_at_the_mids_and_never_a_perp_without_one_at_its_entry():
    from orchestrator.actions.venues.paper_hyperliquid import PerpPosition, equity

    account = HyperliquidPaperAccount(perp_usdc=D(1000), spot={"USDC": D(50), "PURR": D(100)},
                                      positions={"BTC": PerpPosition(size=D("0.1"), entry_px=D(60000))})
    marks = MarketView(marks={"BTC": D(61000), "PURR/USDC": D("0.2")}, books={})
    assert equity(account, marks) == (D(1000) + D("0.1") * 1000 + 50 + 20, [])
    assert equity(account, MarketView(marks={"PURR/USDC": D("0.2")}, books={}))[1] == ["BTC"]  # not valued at 60,000


def test_a_backtests_holdings_are_the_accounts_in_eight_decimals_a_short_negative_nothing_held_left_out():
    from orchestrator.actions.venues.paper_hyperliquid import PerpPosition, _count_refusal, holdings

    account = HyperliquidPaperAccount(perp_usdc=D("12.5"), spot={"USDC": D(0), "PURR": D("100.5")},
                                      positions={"ETH": PerpPosition(size=D("-0.25"), entry_px=D(3000)),
                                                 "BTC": PerpPosition(size=D(0), entry_px=D(60000))})
    assert holdings(account) == [
        {"network": "hypercore:perp", "asset_address": "USDC", "current_qty": "1250000000"},
        {"network": "hypercore:perp", "asset_address": "ETH", "current_qty": "-25000000"},
        {"network": "hypercore:spot", "asset_address": "PURR", "current_qty": "10050000000"},
    ]
    assert holdings(HyperliquidPaperAccount()) == [{"network": "hypercore:perp", "asset_address": "USDC", "current_qty": "0"}]

    for n in range(200):  # refusals are counted by rule, and the rules an account names are bounded
        _count_refusal(account, "hyperliquid-notional" if n % 2 else f"rule-{n}")
    assert account.refusals_by_rule["hyperliquid-notional"] == 100 and len(account.refusals_by_rule) == 64


def test_an_account_rests_orders_on_at_most_20_coins_since_each_call_reads_their_books():
    from orchestrator.actions.venues.paper_hyperliquid import RESTING_COINS_MAX

    coins = [Market(f"C{n}", n, 2, False, f"C{n}", 20) for n in range(RESTING_COINS_MAX + 1)]
    markets = Markets({m.coin: m for m in coins}, {}, 0.0)
    account = HyperliquidPaperAccount(perp_usdc=D(100_000))
    stop = {"isMarket": True, "triggerPx": "90", "tpsl": "sl"}
    for market in coins[:-1]:
        assert "resting" in place(account, market, wire(False, "90", "1", trigger=stop), view(coin=market.coin), markets, now=1)
    refused = place(account, coins[-1], wire(False, "90", "1", trigger=stop), view(coin=coins[-1].coin), markets, now=1)
    assert refused == {"error": f"a paper account rests orders on at most 20 coins at once (each call reads their books); "
                                f"cancel one first. asset={RESTING_COINS_MAX}"}
    # What does not rest may still trade there, and a coin already resting takes more.
    assert "filled" in place(account, coins[-1], wire(True, "60015", "0.01"), view(coin=coins[-1].coin), markets, now=1)
    assert "resting" in place(account, coins[0], wire(False, "80", "1", trigger=stop), view(coin=coins[0].coin), markets, now=1)
    assert sum(1 for o in account.orders if o.status == "open") == RESTING_COINS_MAX + 1
