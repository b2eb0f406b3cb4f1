"""Hyperliquid through the platform: an agent's `platforms.hyperliquid` calls reach a
stand-in for Hyperliquid's info and exchange API (tests/standins/hyperliquid.py, following
the published documents) as actions the signer signed; the stand-in recovers the signer
from each signature as the venue does, so an order it fills was signed right. An order the
wallet's policy refuses never reaches the venue. An API (agent) wallet trades for a master
whose own key has no Hyperliquid policy at all. Manual mode turns orders into suggestions.
A wallet runs one Hyperliquid agent at a time. A backtest by time fills against the books and
mids the platform recorded (its [market_data] samples the stand-in every second), never today's."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import grpc
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from signer import hyperliquid
from tests.conftest import REPO_ROOT
from tests.helpers import agent_from_template, approved_suggestion, venuer_results, wait_for
from tests.standins.hyperliquid import HyperliquidStandIn

VENUER = REPO_ROOT / "tests" / "agents" / "venuer"
USDC = 10**8  # Circuit counts Hyperliquid USDC in 8 decimals
POLICY = {"mainnet": True, "max_notional_per_order": "5000", "max_leverage": 10, "assets": {
    "BTC": {"index": 0, "max_size": "1", "reference_price": "60000"}, "ETH": {"index": 1, "max_size": "10", "reference_price": "3000"},
    "PURR/USDC": {"index": 10000, "max_size": "100000", "reference_price": "0.2"}}}


@pytest.fixture(scope="module")
def venue():
    with HyperliquidStandIn(mainnet=True) as venue:
        yield venue


@pytest.fixture(scope="module")
def stack(tmp_path_factory, venue):
    with DevStack(tmp_path_factory.mktemp("hyperliquid"), minute_seconds=1.0,
                  venues={"hyperliquid": {"api_url": venue.url, "mainnet": True}},
                  market_data={"hyperliquid_coins": ["BTC"], "every_seconds": 1}) as stack:
        yield stack


def register(stack, agent_image, tmp_path, name: str) -> int:
    folder = agent_from_template(VENUER, tmp_path / name, name=name, network="hypercore:perp", asset="USDC", minimum=str(10 * USDC))
    return stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(folder))).agent.id


def start(stack, agent_id: int, wallet: str, calls: list, mode: int = common_pb2.EXECUTION_MODE_AUTO):
    return stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent_id, wallet_address=wallet, settings={"calls": json.dumps(calls)}, execution_mode=mode,
        allocation_amount=str(1000 * USDC))).session


def signed_by(request: dict, mainnet: bool = True) -> str:
    """Who signed an exchange request, recovered independently of the stand-in."""
    signature = request["signature"]
    vrs = (signature["v"], int(signature["r"], 16), int(signature["s"], 16))
    action = request["action"]
    if hyperliquid.is_user_signed(action):
        typed = hyperliquid.user_signed_typed_data(action)
    else:
        digest = hyperliquid.action_hash(action, request.get("vaultAddress"), request["nonce"], request.get("expiresAfter"))
        typed = hyperliquid.typed_data(digest, mainnet)
    return Account.recover_message(encode_typed_data(full_message=typed), vrs=vrs)


def orders_posted(venue) -> list[dict]:
    return [r for r in venue.exchange_requests if r["action"]["type"] == "order"]


def test_an_agent_trades_reads_and_transfers_on_its_wallets_account(stack, venue, agent_image, tmp_path):
    wallet = stack.create_wallet()
    stack.set_policy(wallet, {"hyperliquid": {**POLICY, "class_transfers": True}})
    venue.fund_perp(wallet, "2000")
    venue.fund_spot(wallet, "USDC", "50")
    venue.set_mid("BTC", "60000")
    venue.set_mid("ETH", "3000")
    posted_before = len(orders_posted(venue))
    session = start(stack, register(stack, agent_image, tmp_path, "Perps"), wallet, [
        ["hyperliquid.place_order", [{"coin": "BTC", "side": "buy", "size": 0.01, "price": 61000.7, "market": "perp"}]],
        ["hyperliquid.place_order", [{"coin": "ETH", "side": "sell", "size": 0.5, "price": 3500, "market": "perp", "type": "limit"}]],
        ["hyperliquid.place_order", [{"coin": "BTC", "side": "sell", "size": 0.01, "price": 54000, "market": "perp", "type": "stop",
                                      "triggerPrice": 55000, "reduceOnly": True}]],
        ["hyperliquid.open_orders", []],
        ["hyperliquid.delete_order", ["$1.orderId", "ETH"]],
        ["hyperliquid.order", ["$1.orderId"]],
        ["hyperliquid.positions", []],
        ["hyperliquid.balances", []],
        ["hyperliquid.order_fills", []],
        ["hyperliquid.orders", []],
        ["hyperliquid.midpoint_price", ["BTC"]],
        ["hyperliquid.transfer", [{"amount": 25, "toPerp": True}]],
        ["hyperliquid.place_order", [{"coin": "BTC", "side": "buy", "size": 0.1, "price": 61000, "market": "perp"}]],  # 6,100 > cap
        ["hyperliquid.place_order", [{"coin": "SOL", "side": "buy", "size": 1, "price": 150, "market": "perp"}]],  # not in policy
        ["hyperliquid.place_order", [{"coin": "DOGE", "side": "buy", "size": 1, "price": 1, "market": "perp"}]],  # not on the venue
        ["hyperliquid.liquidations", []],
    ])
    (market, limit, stop, open_orders, cancelled, after_cancel, positions, balances, fills, history, mid, transfer,
     over_cap, not_allowed, unknown, liquidations) = venuer_results(stack, session.id)

    # A market order is an IOC limit at the agent's price, rounded to the venue's 5 significant
    # figures in the agent's favour (a buy never pays more than asked), filled at the mid.
    assert market["success"], market
    assert market["data"]["status"] == "filled" and D(market["data"]["filled"]) == D("0.01") and D(market["data"]["price"]) == 60000
    first = orders_posted(venue)[posted_before]
    assert first["action"] == {"type": "order", "orders": [{"a": 0, "b": True, "p": "61000", "s": "0.01", "r": False,
                                                            "t": {"limit": {"tif": "Ioc"}}, "c": market["data"]["clientOrderId"]}],
                               "grouping": "na"}
    assert signed_by(first) == wallet and first["vaultAddress"] is None
    assert limit["data"]["status"] == "open" and stop["data"]["status"] == "open"
    stop_wire = orders_posted(venue)[posted_before + 2]["action"]["orders"][0]
    assert stop_wire["t"] == {"trigger": {"isMarket": True, "triggerPx": "55000", "tpsl": "sl"}} and stop_wire["r"] is True
    assert {o["orderId"] for o in open_orders["data"]} == {limit["data"]["orderId"], stop["data"]["orderId"]}
    assert cancelled["success"] and cancelled["data"] is None and after_cancel["data"]["status"] == "canceled"
    [btc] = positions["data"]
    assert (btc["coin"], btc["side"], D(btc["size"]), D(btc["entryPrice"])) == ("BTC", "long", D("0.01"), 60000)
    assert D(balances["data"]["perp"]["accountValue"]) < 2000  # the fee was paid
    assert D({b["coin"]: b["total"] for b in balances["data"]["spot"]}["USDC"]) == 50
    assert [(f["coin"], f["side"], D(f["size"])) for f in fills["data"]] == [("BTC", "buy", D("0.01"))]
    assert {h["orderId"]: h["status"] for h in history["data"]}[limit["data"]["orderId"]] == "canceled"
    assert (mid["data"]["coin"], D(mid["data"]["priceUsd"]), mid["data"]["network"]) == ("BTC", 60000, "hypercore:perp")
    assert transfer["success"], transfer
    moved = next(r for r in venue.exchange_requests if r["action"]["type"] == "usdClassTransfer")
    assert signed_by(moved) == wallet and moved["action"]["amount"] == "25" and moved["action"]["toPerp"] is True
    assert over_cap["success"] is False and "hyperliquid-notional" in over_cap["error"]
    assert not_allowed["success"] is False and "hyperliquid-asset" in not_allowed["error"]
    assert unknown["success"] is False and "'DOGE' is not a perp on the venue" in unknown["error"]
    assert len(orders_posted(venue)) == posted_before + 3, "refused orders must never reach the venue"
    assert liquidations["success"] and liquidations["data"] == []

    # A wallet runs one Hyperliquid agent at a time.
    second = register(stack, agent_image, tmp_path, "PerpsTwo")
    with pytest.raises(grpc.RpcError) as refused:
        start(stack, second, wallet, [])
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "one Hyperliquid agent at a time" in refused.value.details()
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))


def test_an_api_wallet_trades_for_a_master_whose_key_never_signs(stack, venue, agent_image, tmp_path):
    master, api_wallet = stack.create_wallets(2)
    stack.set_policy(master, {"allowed_chain_ids": [31337]})  # no Hyperliquid section: the master key signs no action
    stack.set_policy(api_wallet, {"hyperliquid": POLICY})
    venue.fund_perp(master, "1000")
    venue.approve_agent(master, api_wallet)
    posted_before = len(venue.exchange_requests)
    session = start(stack, register(stack, agent_image, tmp_path, "Delegated"), master, [
        ["hyperliquid.place_order", [{"coin": "ETH", "side": "buy", "size": 0.1, "price": 3100, "market": "perp"}]],
        ["hyperliquid.positions", []],
        ["hyperliquid.transfer", [{"amount": 10, "toPerp": False}]],  # user-signed: only the master could, and its policy says no
    ])
    order, positions, transfer = venuer_results(stack, session.id)
    assert order["success"] and order["data"]["status"] == "filled", order
    [posted] = venue.exchange_requests[posted_before:]
    assert signed_by(posted) == api_wallet
    assert [(p["coin"], D(p["size"])) for p in positions["data"]] == [("ETH", D("0.1"))]  # on the master's account
    assert transfer["success"] is False and "no hyperliquid section" in transfer["error"]
    assert len(venue.exchange_requests) == posted_before + 1
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))


def test_manual_mode_turns_orders_into_suggestions(stack, venue, agent_image, tmp_path):
    wallet = stack.create_wallet()
    stack.set_policy(wallet, {"hyperliquid": POLICY})
    venue.fund_perp(wallet, "1000")
    posted_before = len(venue.exchange_requests)
    session = start(stack, register(stack, agent_image, tmp_path, "Careful"), wallet, [
        ["hyperliquid.place_order", [{"coin": "ETH", "side": "buy", "size": 0.123456, "price": 3100, "market": "perp",
                                      "message": "buy the dip"}]],
        ["hyperliquid.delete_order", [42, "ETH"]],
        ["hyperliquid.transfer", [{"amount": 5, "toPerp": True}]],
        ["hyperliquid.place_order", [{"coin": "ETH", "side": "buy", "size": 0.00001, "price": 3100, "market": "perp"}]],
        ["hyperliquid.balances", []],
    ], mode=common_pb2.EXECUTION_MODE_MANUAL)
    order, cancel, transfer, too_small, balances = venuer_results(stack, session.id)
    for suggested in (order, cancel, transfer):
        assert suggested["success"] and suggested["data"]["suggested"] is True, suggested
    # The user is shown the order as it will be sent: the size cut to ETH's 4 decimals.
    assert order["data"]["details"] == {"venue": "hyperliquid", "action": "order", "coin": "ETH", "side": "buy", "type": "market",
                                        "market": "perp", "size": "0.1234", "price": "3100", "reduceOnly": False, "postOnly": False,
                                        "message": "buy the dip"}
    assert too_small["success"] is False and "below ETH's lot size" in too_small["error"]
    assert balances["success"]  # reads are not suggestions
    assert len(venue.exchange_requests) == posted_before, "nothing reaches the venue before approval"

    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))
    approved = approved_suggestion(stack, order["data"]["suggestionId"])
    assert approved.status == pb.SUGGESTION_STATUS_EXECUTED, approved.error
    [posted] = venue.exchange_requests[posted_before:]
    assert posted["action"]["orders"][0]["s"] == "0.1234" and signed_by(posted) == wallet
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))


def test_a_paper_session_trades_the_live_book_on_a_paper_account_and_the_venue_sees_no_account(stack, venue, agent_image, tmp_path):
    """A paper session of a Hyperliquid agent: its orders take the venue's book (read-only,
    level by level), under a copy of the real wallet's policy (the over-cap order is refused
    as it would be); nothing is posted to the exchange and no account is read at the venue."""
    wallet = stack.create_wallet()
    stack.set_policy(wallet, {"hyperliquid": {**POLICY, "class_transfers": True}})
    venue.fund_perp(wallet, "500")
    venue.set_book("BTC", bids=[("59990", "1")], asks=[("60010", "0.005"), ("60020", "1")])
    venue.set_mid("BTC", "60000")
    venue.set_mid("ETH", "3000")
    exchange_before, info_before = len(venue.exchange_requests), len(venue.info_requests)
    real_account = lambda: {k: v for k, v in venue._info({"type": "clearinghouseState", "user": wallet}).items() if k != "time"}  # noqa: E731
    real_before = real_account()
    agent_id = register(stack, agent_image, tmp_path, "PaperPerps")
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent_id, wallet_address=wallet, allocation_amount=str(200 * USDC), paper=True, settings={"calls": json.dumps([
            ["hyperliquid.place_order", [{"coin": "BTC", "side": "buy", "size": 0.01, "price": 61000, "market": "perp"}]],
            ["hyperliquid.place_order", [{"coin": "ETH", "side": "sell", "size": 0.5, "price": 3500, "market": "perp", "type": "limit"}]],
            ["hyperliquid.open_orders", []],
            ["hyperliquid.delete_order", ["$1.orderId", "ETH"]],
            ["hyperliquid.positions", []],
            ["hyperliquid.balances", []],
            ["hyperliquid.order_fills", []],
            ["hyperliquid.place_order", [{"coin": "BTC", "side": "buy", "size": 0.1, "price": 61000, "market": "perp"}]],  # over the cap
            ["hyperliquid.place_order", [{"coin": "ETH", "side": "buy", "size": 1.5, "price": 3100, "market": "perp"}]],  # over the margin
            ["hyperliquid.transfer", [{"amount": 25, "toPerp": False}]],
            ["hyperliquid.midpoint_price", ["BTC"]],
        ])})).session
    assert session.paper_of_wallet_address == wallet and session.wallet_address != wallet
    (market, limit, open_orders, cancelled, positions, balances, fills, over_cap, over_margin, moved, mid) = venuer_results(stack, session.id)

    assert market["success"], market
    assert (market["data"]["status"], D(market["data"]["filled"]), D(market["data"]["price"])) == ("filled", D("0.01"), D("60015"))
    assert [(D(f["price"]), D(f["size"])) for f in fills["data"]] == [(60020, D("0.005")), (60010, D("0.005"))]  # newest first
    assert limit["data"]["status"] == "open" and [o["orderId"] for o in open_orders["data"]] == [limit["data"]["orderId"]]
    assert cancelled["success"], cancelled
    [btc] = positions["data"]
    assert (btc["coin"], btc["side"], D(btc["size"]), D(btc["entryPrice"])) == ("BTC", "long", D("0.01"), D("60015"))
    fee = D("600.15") * D("0.00045")
    assert D(balances["data"]["perp"]["accountValue"]) == 200 - fee + D("0.01") * (60000 - 60015)  # the allocation, on paper
    assert over_cap["success"] is False and "hyperliquid-notional" in over_cap["error"]  # the real wallet's policy, copied
    assert over_margin["success"] is False and "Insufficient margin" in over_margin["error"]
    assert moved["success"], moved
    assert D(mid["data"]["priceUsd"]) == 60000

    assert len(venue.exchange_requests) == exchange_before, "a paper session posts nothing to the venue"
    asked = venue.info_requests[info_before:]
    assert asked and not [r for r in asked if "user" in r], "a paper session reads no account at the venue"
    assert {r["type"] for r in asked} <= {"meta", "spotMeta", "allMids", "l2Book"}
    assert real_account() == real_before and real_before["withdrawable"] == "500.0"
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))


def recorded_after(stack, changed: datetime) -> int:
    """Once the platform has a sample of BTC's book and of the mids asked after the market
    `changed` (dated a second after it: a sample is dated when its answer came, and the
    stand-in answers in milliseconds): the first whole second at or after both (a backtest
    step there sees them)."""
    moment = changed + timedelta(seconds=1)

    def lasts():
        series = {s.series: s.last_at.ToDatetime() for s in stack.api.ListMarketData(pb.ListMarketDataRequest(venue="hyperliquid")).series}
        return series if all(series.get(name, datetime.min) > moment for name in ("allMids", "l2Book BTC")) else None

    newest = max(wait_for(lasts, timeout=60, what="market data sampled after the book changed").values())
    return math.ceil(newest.replace(tzinfo=UTC).timestamp())


def until_past(second: int) -> None:
    while time.time() <= second + 0.2:
        time.sleep(0.1)


def test_a_backtest_by_time_fills_against_the_recorded_books_and_mids_not_todays(stack, venue, agent_image, tmp_path):
    """The platform samples the stand-in's BTC book and mids each second. The book is A, then B;
    a backtest over those two moments buys at A's ask and sells at B's bid, its clock and mids
    are A's and B's, though the live book is C by then; its report's PnL is exactly that round
    trip less the taker fees, its steps hold the paper account's holdings, and the order the
    copied policy refused is counted by its rule. Nothing is posted to the venue."""
    wallet = stack.create_wallet()
    stack.set_policy(wallet, {"hyperliquid": POLICY})
    venue.set_book("BTC", bids=[("59990", "1")], asks=[("60010", "1")])
    venue.set_mid("BTC", "60000")
    at_a = recorded_after(stack, datetime.now(UTC).replace(tzinfo=None))
    until_past(at_a)  # every sample at or before at_a shows A
    venue.set_book("BTC", bids=[("62990", "1")], asks=[("63010", "1")])
    venue.set_mid("BTC", "63000")
    at_b = recorded_after(stack, datetime.now(UTC).replace(tzinfo=None))
    until_past(at_b)
    venue.set_book("BTC", bids=[("9990", "1")], asks=[("10010", "1")])  # today's market: never filled against
    venue.set_mid("BTC", "10000")
    exchange_before = len(venue.exchange_requests)

    agent_id = register(stack, agent_image, tmp_path, "BacktestedPerps")
    request = pb.StartSessionRequest(agent_id=agent_id, wallet_address=wallet, allocation_amount=str(1000 * USDC), settings={
        "calls": json.dumps({"runs": [
            [["hyperliquid.place_order", [{"coin": "BTC", "side": "buy", "size": 0.01, "price": 61000, "market": "perp"}]],
             ["hyperliquid.midpoint_price", ["BTC"]],
             ["hyperliquid.place_order", [{"coin": "BTC", "side": "buy", "size": 0.1, "price": 61000, "market": "perp"}]]],  # over the cap
            [["hyperliquid.place_order", [{"coin": "BTC", "side": "sell", "size": 0.01, "price": 50000, "market": "perp"}]],
             ["hyperliquid.midpoint_price", ["BTC"]]],
        ]})})
    request.backtest.from_time.FromSeconds(at_a)
    request.backtest.to_time.FromSeconds(at_b)
    request.backtest.every_seconds = at_b - at_a
    session = stack.api.StartSession(request).session
    assert session.backtest.every_seconds == at_b - at_a and session.backtest.from_time.seconds == at_a and session.paper_of_wallet_address == wallet
    report = wait_for(lambda: (r := stack.api.GetBacktestReport(pb.GetBacktestReportRequest(session_id=session.id)).report).finished and r,
                      timeout=180, what="the backtest's report")

    memory = {e.key: json.loads(e.value) for e in stack.api.ListSessionMemory(pb.ListSessionMemoryRequest(session_id=session.id)).entries
              if e.key.startswith("run-")}
    bought, mid_a, sold, mid_b = (memory[k]["data"] for k in ("run-0-call-0", "run-0-call-1", "run-1-call-0", "run-1-call-1"))
    over_cap = memory["run-0-call-2"]
    assert over_cap["success"] is False and "hyperliquid-notional" in over_cap["error"]  # the real wallet's policy, copied
    assert (bought["status"], D(bought["price"]), sold["status"], D(sold["price"])) == ("filled", 60010, "filled", 62990)
    assert (D(mid_a["priceUsd"]), D(mid_b["priceUsd"])) == (60000, 63000)
    assert mid_a["timestamp"] == datetime.fromtimestamp(at_a, UTC).isoformat().replace("+00:00", "Z")  # the agent's clock: the step's

    fees = (D("600.10") + D("629.90")) * D("0.00045")
    final = 1000 + D("0.01") * (62990 - 60010) - fees
    assert [(s.block, s.block_time.seconds, s.after_last_run) for s in report.steps] == [(0, at_a, False), (0, at_b, False), (0, at_b, True)]
    assert [D(s.equity) / USDC for s in report.steps] == [
        1000, 1000 - D("600.10") * D("0.00045") + D("0.01") * (63000 - 60010), final]  # valued at the recorded mids
    assert (D(report.final_equity) / USDC, D(report.pnl) / USDC) == (final, final - 1000)
    assert (report.trades, D(report.fees_paid) / USDC, report.runs) == (2, fees, 2)
    assert dict(report.refusals_by_rule) == {"hyperliquid-notional": 1}
    holdings = [[(p.network, p.asset_address, D(p.current_qty) / USDC) for p in s.positions] for s in report.steps]  # the paper account's
    assert holdings == [[("hypercore:perp", "USDC", 1000)],
                        [("hypercore:perp", "USDC", 1000 - D("600.10") * D("0.00045")), ("hypercore:perp", "BTC", D("0.01"))],
                        [("hypercore:perp", "USDC", final)]]
    assert len(venue.exchange_requests) == exchange_before, "a backtest posts nothing to the venue"


def test_a_backtest_by_time_where_nothing_was_recorded_is_refused_with_what_is(stack, venue, agent_image, tmp_path):
    wallet = stack.create_wallet()
    stack.set_policy(wallet, {"hyperliquid": POLICY})
    agent_id = register(stack, agent_image, tmp_path, "TooEarly")
    request = pb.StartSessionRequest(agent_id=agent_id, wallet_address=wallet, allocation_amount=str(100 * USDC),
                                     settings={"calls": "[]"})
    request.backtest.from_time.FromSeconds(1_600_000_000)
    request.backtest.to_time.FromSeconds(1_600_000_600)
    request.backtest.every_seconds = 60
    with pytest.raises(grpc.RpcError) as refused:
        stack.api.StartSession(request)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no recorded Hyperliquid market data at backtest.from_time's step 2020-09-13T12:26:40Z" in refused.value.details()
    assert "it has Hyperliquid market data from " in refused.value.details()
    by_blocks = pb.StartSessionRequest(agent_id=agent_id, wallet_address=wallet, allocation_amount=str(100 * USDC), settings={"calls": "[]"},
                                       backtest=pb.Backtest(from_block=1, to_block=2, every_blocks=1))
    with pytest.raises(grpc.RpcError) as wrong_kind:
        stack.api.StartSession(by_blocks)
    assert wrong_kind.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "runs at times" in wrong_kind.value.details()
    assert not [s for s in stack.api.ListSessions(pb.ListSessionsRequest()).sessions if s.agent_id == agent_id]

