"""The Polymarket paper engine (orchestrator/actions/venues/paper_polymarket.py) without a
venue: FOK fills walk the book best first and never past the worst price, a book that cannot
fill the whole order fills nothing, shares and USDC move with their cost, and refusals use the
CLOB's words and change nothing."""

from __future__ import annotations

from decimal import Decimal as D

from orchestrator.actions.venues.paper_polymarket import TOKENS_HELD_MAX, PolymarketPaperAccount, best_first, fill, mid, trade

# As the CLOB lists a book: best level last.
BOOK = {"bids": [{"price": "0.40", "size": "100"}, {"price": "0.45", "size": "100"}],
        "asks": [{"price": "0.55", "size": "100"}, {"price": "0.50", "size": "50"}]}


def test_a_buy_spends_its_usdc_from_the_best_ask_and_a_sell_sells_from_the_best_bid():
    assert fill(best_first(BOOK, "BUY"), "BUY", D(30), worst=D("0.55")) == (D("59.090909"), D(30))
    assert fill(best_first(BOOK, "SELL"), "SELL", D(150), worst=D("0.40")) == (D(150), D("65"))
    assert mid(BOOK) == D("0.475")


def test_never_past_the_worst_price_and_all_or_nothing():
    assert fill(best_first(BOOK, "BUY"), "BUY", D(30), worst=D("0.50")) is None  # 25 USD is all there is at 0.50
    assert fill(best_first(BOOK, "SELL"), "SELL", D(201), worst=D("0.01")) is None


def test_a_bad_level_ends_the_walk():
    book = {"asks": [{"price": "0.6", "size": "10"}, {"price": "1.5", "size": "10"}, {"price": "0.5", "size": "10"}]}
    assert best_first(book, "BUY") == [(D("0.5"), D(10))]
    assert best_first({"asks": "nonsense"}, "BUY") == [] and best_first(None, "BUY") == []


def test_trades_move_shares_at_cost_and_refusals_change_nothing():
    account = PolymarketPaperAccount()
    assert trade(account, "7", "BUY", D(40), D(20), fee=D("0.2"), order_id="0x1", now=1) is None
    assert account.positions["7"].cost == D("20.2")
    assert trade(account, "7", "SELL", D(10), D("4.5"), fee=D(0), order_id="0x2", now=2) is None
    assert account.positions["7"].shares == 30 and account.realized["7"] == D("4.5") - D("5.05")
    before = account.model_copy(deep=True)
    assert trade(account, "7", "SELL", D(31), D(10), D(0), "0x3", 3) == "not enough balance / allowance"
    assert trade(account, "8", "SELL", D(1), D(1), D(0), "0x4", 3) == "not enough balance / allowance"
    assert account == before


def test_a_remainder_below_the_venues_lot_is_written_off_with_the_sale():
    account = PolymarketPaperAccount()
    trade(account, "7", "BUY", D("59.090909"), D(30), D(0), "0x1", 1)
    assert trade(account, "7", "SELL", D("59.09"), D("26.5905"), D(0), "0x2", 2) is None
    assert "7" not in account.positions and "7" not in account.realized
    assert account.realized_closed == D("26.5905") - D(30)  # the whole cost, the unsellable 0.000909 shares included


def test_a_paper_account_holds_a_bounded_number_of_tokens():
    account = PolymarketPaperAccount()
    for token in range(TOKENS_HELD_MAX):
        assert trade(account, str(token), "BUY", D(1), D("0.5"), D(0), "0x", 1) is None
    assert "at most" in trade(account, "new", "BUY", D(1), D("0.5"), D(0), "0x", 1)
    assert trade(account, "0", "BUY", D(1), D("0.5"), D(0), "0x", 1) is None  # more of one held is fine
