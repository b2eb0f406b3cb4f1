"""Venue calls from an agent: a bad request gets a gRPC status that says what to fix, in auto
and manual mode alike, before the venue or the signer is asked (both are unreachable here)
and without storing anything; a platform without the venue answers UNIMPLEMENTED. Real
runtime server, real Unix socket. Also: the rounding rules orders are built with, and what
start-up recovery does with a venue suggestion cut off while it ran."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import grpc
import pytest

from corral.v1 import runtime_pb2
from orchestrator.actions.gateway import ActionGateway
from orchestrator.actions.venues.hyperliquid import HyperliquidVenue, Market, order_price, order_size, wire_decimal
from orchestrator.actions.venues.polymarket import PolymarketVenue, market_price, order_amounts
from orchestrator.actions.venues.service import Venues
from orchestrator.config import HyperliquidConfig, PolymarketConfig
from orchestrator.errors import Refused
from orchestrator.executions.runtime_service import ExecutionTicket
from orchestrator.store import AgentRow, Database, SessionRow, SuggestionRow, TransactionRow, utcnow
from tests.helpers import refused_runtime_call

TOKEN = "t" * 43
UNREACHABLE = "http://127.0.0.1:9"
OK_ORDER = {"coin": "BTC", "side": runtime_pb2.ORDER_SIDE_BUY, "size": "0.01", "price": "60000",
            "market": runtime_pb2.HYPERLIQUID_MARKET_PERP, "type": runtime_pb2.HYPERLIQUID_ORDER_TYPE_LIMIT}


def hl_order(**changes) -> runtime_pb2.HyperliquidPlaceOrderRequest:
    return runtime_pb2.HyperliquidPlaceOrderRequest(**{**OK_ORDER, **changes})


def pm_order(**changes) -> runtime_pb2.PolymarketMarketOrderRequest:
    return runtime_pb2.PolymarketMarketOrderRequest(**{"token_id": "123", "size": "5", "side": runtime_pb2.ORDER_SIDE_BUY, **changes})


CASES = [
    ("HyperliquidPlaceOrder", hl_order(side=runtime_pb2.ORDER_SIDE_UNSPECIFIED), "side must be 'buy' or 'sell'"),
    ("HyperliquidPlaceOrder", hl_order(market=runtime_pb2.HYPERLIQUID_MARKET_UNSPECIFIED), "market must be 'perp' or 'spot'"),
    ("HyperliquidPlaceOrder", hl_order(message="x" * 251), "message is at most 250 characters"),
    ("HyperliquidPlaceOrder", hl_order(post_only=True, type=runtime_pb2.HYPERLIQUID_ORDER_TYPE_MARKET), "postOnly applies to limit orders"),
    ("HyperliquidCancelOrder", runtime_pb2.HyperliquidCancelOrderRequest(order_id=0, coin="BTC"), "order_id must be a positive integer"),
    ("HyperliquidTransfer", runtime_pb2.HyperliquidTransferRequest(amount="-5", to_perp=True), "amount must be a positive number"),
    ("HyperliquidTransfer", runtime_pb2.HyperliquidTransferRequest(amount="lots", to_perp=True), "amount 'lots' is not a number"),
    ("PolymarketMarketOrder", pm_order(side=runtime_pb2.ORDER_SIDE_UNSPECIFIED), "side must be 'BUY' or 'SELL'"),
    ("PolymarketMarketOrder", pm_order(token_id="yes"), "must be the outcome token id"),
    ("PolymarketMarketOrder", pm_order(size="0"), "size must be positive"),
    ("PolymarketMarketOrder", pm_order(size="NaN"), "size must be positive"),
    ("PolymarketRedeemPositions", runtime_pb2.PolymarketRedeemPositionsRequest(), "needs tokenIds"),
]


def runtime_call(tmp_path, mode: str, venues: Venues, method: str, request, paper_of: str | None = None, backtest_every: int | None = None
                 ) -> tuple[grpc.aio.AioRpcError, Database]:
    db = Database(f"sqlite:///{tmp_path / 'o.db'}")
    session = SessionRow(id=3, agent_id=1, wallet_address="0x" + "22" * 20, execution_mode=mode, settings={},
                         allocation_network="hypercore:perp", allocation_asset="USDC", allocation_amount="0", paper_of_wallet=paper_of,
                         backtest_every_blocks=backtest_every)
    session.agent = AgentRow(id=1, name="a", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml="")
    ticket = ExecutionTicket(execution_id=9, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[])
    gateway = ActionGateway(db, sender=None, signer=None, venues=venues)

    try:
        return refused_runtime_call(tmp_path / "r.sock", ticket, db, gateway, method, request), db
    finally:
        asyncio.run(venues.close())


def configured() -> Venues:
    return Venues(HyperliquidVenue(HyperliquidConfig(api_url=UNREACHABLE), signer=None),
                  PolymarketVenue(PolymarketConfig(clob_url=UNREACHABLE, data_url=UNREACHABLE), signer=None, sender=None))


PAPER_CALLS = [("HyperliquidPlaceOrder", hl_order(), "keeps no paper venue accounts"),
               ("HyperliquidRead", runtime_pb2.HyperliquidReadRequest(), "keeps no paper venue accounts"),
               ("PolymarketMarketOrder", pm_order(), "keeps no paper venue accounts"),
               ("PolymarketPositions", runtime_pb2.PolymarketPositionsRequest(), "keeps no paper venue accounts")]


@pytest.mark.parametrize("mode", ["auto", "manual"])
@pytest.mark.parametrize("method, request_message, fragment", PAPER_CALLS, ids=[c[0] for c in PAPER_CALLS])
def test_a_paper_session_reaches_no_real_venue_not_even_to_read(tmp_path, mode, method, request_message, fragment):
    """A paper session's venue calls go to a paper engine (Hyperliquid; tests/e2e/test_hyperliquid.py),
    never to the real venue: without one they are refused. The venues here are unreachable, so
    a call that got past the refusal would fail otherwise."""
    error, db = runtime_call(tmp_path, mode, configured(), method, request_message, paper_of="0x" + "33" * 20)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
    assert fragment in error.details()
    with db.session() as s:
        assert s.query(SuggestionRow).count() == 0 and s.query(TransactionRow).count() == 0


@pytest.mark.parametrize("method, request_message", [(method, request) for method, request, _ in PAPER_CALLS], ids=[c[0] for c in PAPER_CALLS])
def test_a_backtest_reaches_no_venue_not_even_a_paper_engine(tmp_path, method, request_message):
    """A backtest's blocks are past and a venue's book is today's: refused, though the platform
    keeps paper venue accounts (the venues here are unreachable, so a call let through would fail
    otherwise). Only a backtest by time of a Hyperliquid agent gets a paper engine
    (tests/unit/test_market_data.py)."""
    venues = configured()
    venues = Venues(venues.hyperliquid, venues.polymarket, paper_db=Database(f"sqlite:///{tmp_path / 'paper.db'}"))
    error, db = runtime_call(tmp_path, "auto", venues, method, request_message, paper_of="0x" + "33" * 20, backtest_every=2)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
    assert "a backtest cannot use" in error.details() and "its runs are at past blocks" in error.details()
    with db.session() as s:
        assert s.query(SuggestionRow).count() == 0 and s.query(TransactionRow).count() == 0


@pytest.mark.parametrize("mode", ["auto", "manual"])
@pytest.mark.parametrize("method, request_message, fragment", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_bad_venue_requests_are_refused_before_the_venue_is_asked(tmp_path, mode, method, request_message, fragment):
    error, db = runtime_call(tmp_path, mode, configured(), method, request_message)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and fragment in error.details(), error.details()
    with db.session() as s:
        assert s.query(SuggestionRow).count() == 0 and s.query(TransactionRow).count() == 0


@pytest.mark.parametrize("method, request_message", [
    ("HyperliquidPlaceOrder", hl_order()), ("HyperliquidRead", runtime_pb2.HyperliquidReadRequest(kind=1)),
    ("PolymarketMarketOrder", pm_order()), ("PolymarketPositions", runtime_pb2.PolymarketPositionsRequest()),
])
def test_a_venue_the_platform_has_not_configured_is_unimplemented(tmp_path, method, request_message):
    error, _ = runtime_call(tmp_path, "auto", Venues(), method, request_message)
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED and "is not configured on this platform" in error.details()


def test_an_unreachable_venue_is_unavailable_not_an_internal_error(tmp_path):
    error, _ = runtime_call(tmp_path, "auto", configured(), "HyperliquidRead", runtime_pb2.HyperliquidReadRequest(kind=1))
    assert error.code() == grpc.StatusCode.UNAVAILABLE and "hyperliquid: the venue did not answer" in error.details()


BTC = Market("BTC", 0, 5, False, "BTC")
ETH = Market("ETH", 1, 4, False, "ETH")
PURR = Market("PURR/USDC", 10000, 0, True, "PURR/USDC")


@pytest.mark.parametrize("price, market, is_buy, expected", [
    ("61000.7", BTC, True, "61000"), ("61000.2", BTC, False, "61001"),    # 5 significant figures, never worse for the agent
    ("3000.567", ETH, True, "3000.5"), ("3000.561", ETH, False, "3000.6"),
    ("12.3456", ETH, True, "12.34"),                                     # ETH prices have 6 - 4 = 2 decimals
    ("0.123456789", PURR, True, "0.12345"), ("65000", BTC, True, "65000"),  # integers always pass
])
def test_prices_are_cut_to_the_venues_ticks_in_the_agents_favour(price, market, is_buy, expected):
    assert wire_decimal(order_price(Decimal(price), market, is_buy)) == expected


def test_sizes_are_cut_to_the_lot_and_written_as_the_venue_writes_them():
    assert wire_decimal(order_size(Decimal("0.123456"), ETH)) == "0.1234"
    assert wire_decimal(order_size(Decimal("0.00001"), ETH)) == "0"
    assert wire_decimal(Decimal("1.500")) == "1.5" and wire_decimal(Decimal("-0.0")) == "0" and wire_decimal(Decimal("1E+2")) == "100"


BOOK = {"bids": [{"price": "0.40", "size": "100"}, {"price": "0.45", "size": "10"}],
        "asks": [{"price": "0.60", "size": "1000"}, {"price": "0.50", "size": "100"}]}  # best last, as the CLOB lists them


def test_market_orders_are_priced_and_sized_as_py_clob_client_does():
    # BUY 100 USD: the best ask (0.50) holds 50 USD, so the order must reach 0.60.
    assert market_price(BOOK, "BUY", Decimal(100)) == Decimal("0.60")
    assert order_amounts("BUY", Decimal(100), Decimal("0.60"), "0.01") == (100_000_000, 166_666_600)
    assert market_price(BOOK, "SELL", Decimal(5)) == Decimal("0.45")
    assert order_amounts("SELL", Decimal(10), Decimal("0.45"), "0.01") == (10_000_000, 4_500_000)
    with pytest.raises(Refused, match="cannot fill"):
        market_price(BOOK, "SELL", Decimal(111))


def test_recovery_fails_a_venue_suggestion_cut_off_while_it_ran(tmp_path):
    """Whether the venue took an order cannot be known from here: it is never run twice."""
    db = Database(f"sqlite:///{tmp_path / 'o.db'}", replica_id="r1")
    with db.session() as s:
        s.add(AgentRow(id=1, name="a", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml="",
                       registered_at=utcnow()))
        s.flush()
        s.add(SessionRow(id=3, agent_id=1, wallet_address="0x" + "22" * 20, status="running", execution_mode="manual", settings={},
                         allocation_network="hypercore:perp", allocation_asset="USDC", allocation_amount="0", created_at=utcnow()))
        s.flush()
        s.add(SuggestionRow(id=5, session_id=3, execution_id=None, kind="hl_order", replica_id="r1", request=hl_order().SerializeToString(),
                            details={}, status="approving", result={}, error="", created_at=utcnow()))
        s.commit()
    assert ActionGateway(db, sender=None, signer=None).suggestions.recover("r1") == 1
    with db.session() as s:
        row = s.get(SuggestionRow, 5)
        assert row.status == "failed" and "check the venue" in row.error


def test_recovery_takes_only_its_own_sessions_transaction_for_a_suggestion(tmp_path):
    """A transaction of another session under the suggestion's request id (claimed before such ids
    were refused) is not taken for the approved suggestion's: it stays pending, to run again."""
    db = Database(f"sqlite:///{tmp_path / 'o.db'}", replica_id="r1")
    with db.session() as s:
        s.add(AgentRow(id=1, name="a", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml="",
                       registered_at=utcnow()))
        s.flush()
        for session_id in (3, 4):
            s.add(SessionRow(id=session_id, agent_id=1, wallet_address="0x" + "22" * 20, status="running", execution_mode="manual",
                             settings={}, allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0",
                             created_at=utcnow()))
        s.flush()
        s.add(TransactionRow(session_id=4, execution_id=None, request_id="suggestion-5", replica_id="r1", network="ethereum:31337",
                             from_address="0x" + "22" * 20, to_address="0x" + "33" * 20, value="1", data="0x", message="",
                             status="confirmed", tx_hash="0x" + "ab" * 32, created_at=utcnow(), updated_at=utcnow()))
        s.add(SuggestionRow(id=5, session_id=3, execution_id=None, kind="transaction", replica_id="r1", request=b"", details={},
                            status="approving", result={}, error="", created_at=utcnow()))
        s.commit()
    ActionGateway(db, sender=None, signer=None).suggestions.recover("r1")
    with db.session() as s:
        row = s.get(SuggestionRow, 5)
        assert (row.status, row.result) == ("pending", {})
