"""The Hyperliquid stand-in (tests/standins/hyperliquid.py): it accepts what Corral's signer
signs (signer.hyperliquid.sign, with throwaway keys), refuses what the venue would refuse, and
reports trades back in the venue's shapes."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal

import pytest
import requests
from eth_account import Account
from eth_keys import keys

from signer import hyperliquid
from tests.standins.hyperliquid import HyperliquidStandIn

MASTER = keys.PrivateKey(b"\x11" * 32)
AGENT = keys.PrivateKey(b"\x22" * 32)
STRANGER = keys.PrivateKey(b"\x33" * 32)
BTC, ETH, PURR = 0, 1, 10000
_nonces = itertools.count(int(time.time() * 1000))


def address(key: keys.PrivateKey) -> str:
    return Account.from_key(key.to_bytes()).address.lower()


@pytest.fixture
def venue():
    with HyperliquidStandIn() as v:
        v.fund_perp(address(MASTER), "1000")
        yield v


def send(venue, key, action: dict, nonce: int | None = None, mainnet: bool = True, expires: int | None = None) -> dict:
    if nonce is None:  # a user-signed action carries its nonce, and the request's must equal it
        nonce = action["nonce"] if action["type"] == "usdClassTransfer" else next(_nonces)
    signed, _ = hyperliquid.sign(key, action, None, nonce, expires, mainnet)
    body = {"action": action, "nonce": nonce, "signature": {"r": signed.r, "s": signed.s, "v": signed.v}, "vaultAddress": None}
    if expires is not None:
        body["expiresAfter"] = expires
    response = requests.post(venue.url + "/exchange", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def info(venue, kind: str, user: str | None = None, **extra):
    body = {"type": kind, **({"user": user} if user else {}), **extra}
    response = requests.post(venue.url + "/info", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def order(asset=ETH, is_buy=True, px="3100", sz="0.1", tif="Ioc", reduce_only=False, **extra) -> dict:
    wire = {"a": asset, "b": is_buy, "p": px, "s": sz, "r": reduce_only, "t": {"limit": {"tif": tif}}, **extra}
    return {"type": "order", "orders": [wire], "grouping": "na"}


def statuses(response: dict) -> list:
    assert response["status"] == "ok", response
    return response["response"]["data"]["statuses"]


def class_transfer(amount: str, to_perp: bool) -> dict:
    return {"type": "usdClassTransfer", "hyperliquidChain": "Mainnet", "signatureChainId": "0x66eee", "amount": amount,
            "toPerp": to_perp, "nonce": next(_nonces)}


def test_markets_and_mids_read_as_the_venue_publishes_them(venue):
    assert [u["name"] for u in info(venue, "meta")["universe"]] == ["BTC", "ETH", "SOL"]
    spot = info(venue, "spotMeta")
    assert [p["name"] for p in spot["universe"]] == ["PURR/USDC", "@107"]
    assert {t["name"]: t["index"] for t in spot["tokens"]} == {"USDC": 0, "PURR": 1, "HYPE": 150}
    venue.set_mid("HYPE/USDC", "31.5")
    assert info(venue, "allMids") == {"BTC": "60000.0", "ETH": "3000.0", "SOL": "150.0", "PURR/USDC": "0.2", "@107": "31.5"}
    response = requests.post(venue.url + "/info", json={"type": "noSuchThing"}, timeout=5)
    assert response.status_code == 422 and "noSuchThing" in response.text


def test_a_marketable_ioc_buy_fills_at_the_mid_and_shows_in_the_account(venue):
    user = address(MASTER)
    [status] = statuses(send(venue, MASTER, order(px="3100", sz="0.1")))
    oid = status["filled"]["oid"]
    assert status["filled"] == {"totalSz": "0.1", "avgPx": "3000.0", "oid": oid}

    state = info(venue, "clearinghouseState", user)
    [position] = state["assetPositions"]
    assert position["type"] == "oneWay"
    assert position["position"]["coin"] == "ETH" and position["position"]["szi"] == "0.1"
    assert position["position"]["entryPx"] == "3000.0" and position["position"]["leverage"] == {"type": "cross", "value": 20}
    fee = Decimal("300") * Decimal("0.00045")
    assert Decimal(state["marginSummary"]["accountValue"]) == 1000 - fee
    assert Decimal(state["marginSummary"]["totalMarginUsed"]) == Decimal("15")  # 300 / 20x

    venue.set_mid("ETH", "3100")
    state = info(venue, "clearinghouseState", user)
    assert state["assetPositions"][0]["position"]["unrealizedPnl"] == "10.0"
    assert Decimal(state["marginSummary"]["accountValue"]) == 1010 - fee
    assert Decimal(state["withdrawable"]) == 1010 - fee - Decimal("15.5")

    [fill] = info(venue, "userFills", user)
    assert fill["coin"] == "ETH" and fill["side"] == "B" and fill["dir"] == "Open Long" and fill["px"] == "3000.0"
    assert fill["oid"] == oid and fill["crossed"] is True and Decimal(fill["fee"]) == fee and fill["feeToken"] == "USDC"
    assert info(venue, "historicalOrders", user)[0]["status"] == "filled"
    assert info(venue, "orderStatus", user, oid=oid)["order"]["status"] == "filled"


def test_closing_realizes_pnl(venue):
    user = address(MASTER)
    statuses(send(venue, MASTER, order(px="3100", sz="0.1")))
    venue.set_mid("ETH", "3200")
    [status] = statuses(send(venue, MASTER, order(is_buy=False, px="3100", sz="0.1", reduce_only=True)))
    assert "filled" in status
    state = info(venue, "clearinghouseState", user)
    assert state["assetPositions"] == []
    fees = (Decimal(300) + Decimal(320)) * Decimal("0.00045")
    assert Decimal(state["marginSummary"]["accountValue"]) == 1020 - fees
    assert info(venue, "userFills", user)[0]["dir"] == "Close Long" and info(venue, "userFills", user)[0]["closedPnl"] == "20.0"


def test_a_resting_gtc_order_is_listed_until_cancelled(venue):
    user = address(MASTER)
    cloid = "0x" + "00" * 15 + "07"
    [status] = statuses(send(venue, MASTER, order(px="2900", tif="Gtc", c=cloid)))
    oid = status["resting"]["oid"]
    assert info(venue, "openOrders", user)[0]["oid"] == oid
    [front] = info(venue, "frontendOpenOrders", user)
    assert front["orderType"] == "Limit" and front["tif"] == "Gtc" and front["isTrigger"] is False and front["cloid"] == cloid
    assert front["limitPx"] == "2900.0" and front["sz"] == "0.1" and front["side"] == "B"
    assert info(venue, "clearinghouseState", user)["assetPositions"] == []

    assert statuses(send(venue, MASTER, {"type": "cancel", "cancels": [{"a": ETH, "o": oid}]})) == ["success"]
    assert info(venue, "openOrders", user) == []
    assert info(venue, "orderStatus", user, oid=oid)["order"]["status"] == "canceled"
    [again] = statuses(send(venue, MASTER, {"type": "cancel", "cancels": [{"a": ETH, "o": oid}]}))
    assert again == {"error": f"Order was never placed, already canceled, or filled. asset={ETH}"}
    assert info(venue, "orderStatus", user, oid=999999) == {"status": "unknownOid"}


def test_cancel_by_cloid(venue):
    cloid = "0x" + "ab" * 16
    statuses(send(venue, MASTER, order(px="2900", tif="Gtc", c=cloid)))
    assert statuses(send(venue, MASTER, {"type": "cancelByCloid", "cancels": [{"asset": ETH, "cloid": cloid}]})) == ["success"]
    assert info(venue, "openOrders", address(MASTER)) == []


def test_a_signature_by_an_unknown_key_or_for_the_other_network_is_refused(venue):
    refused = send(venue, STRANGER, order())
    assert refused == {"status": "err", "response": f"User or API Wallet {address(STRANGER)} does not exist."}
    testnet = send(venue, MASTER, order(), mainnet=False)  # recovers some other address
    assert testnet["status"] == "err" and "does not exist" in testnet["response"]
    assert len(venue.exchange_requests) == 2  # refused bodies are recorded too
    assert info(venue, "clearinghouseState", address(MASTER))["assetPositions"] == []


def test_an_approved_agent_trades_on_the_masters_account(venue):
    venue.approve_agent(address(MASTER).upper().replace("0X", "0x"), address(AGENT), name="corral")
    [status] = statuses(send(venue, AGENT, order()))
    assert "filled" in status
    assert info(venue, "clearinghouseState", address(MASTER))["assetPositions"][0]["position"]["szi"] == "0.1"
    assert info(venue, "clearinghouseState", address(AGENT))["assetPositions"] == []
    [agent] = info(venue, "extraAgents", address(MASTER))
    assert agent["address"] == address(AGENT) and agent["name"] == "corral" and agent["validUntil"] > time.time() * 1000


def test_a_nonce_is_used_once_and_must_be_recent(venue):
    nonce = next(_nonces)
    assert "resting" in statuses(send(venue, MASTER, order(px="2900", tif="Gtc"), nonce=nonce))[0]
    reused = send(venue, MASTER, order(px="2900", tif="Gtc"), nonce=nonce)
    assert reused["status"] == "err" and reused["response"].startswith("Invalid nonce")
    stale = send(venue, MASTER, order(px="2900", tif="Gtc"), nonce=int(time.time() * 1000) - 3 * 86_400_000)
    assert stale["status"] == "err" and stale["response"].startswith("Invalid nonce")
    assert len(info(venue, "openOrders", address(MASTER))) == 1


def test_a_class_transfer_moves_usdc_and_only_the_user_may_sign_it(venue):
    user = address(MASTER)
    venue.fund_spot(user, "USDC", "100")
    assert send(venue, MASTER, class_transfer("40", to_perp=True)) == {"status": "ok", "response": {"type": "default"}}
    assert send(venue, MASTER, class_transfer("15.5", to_perp=False))["status"] == "ok"
    assert info(venue, "clearinghouseState", user)["marginSummary"]["accountValue"] == "1024.5"
    [usdc] = info(venue, "spotClearinghouseState", user)["balances"]
    assert usdc["coin"] == "USDC" and usdc["token"] == 0 and usdc["total"] == "75.5"

    too_much = send(venue, MASTER, class_transfer("500", to_perp=True))
    assert too_much["status"] == "err"
    venue.approve_agent(user, address(AGENT))
    by_agent = send(venue, AGENT, class_transfer("1", to_perp=True))
    assert by_agent["status"] == "err" and "API Wallet" in by_agent["response"]
    assert info(venue, "spotClearinghouseState", user)["balances"][0]["total"] == "75.5"


def test_a_trigger_order_rests_until_filled(venue):
    user = address(MASTER)
    statuses(send(venue, MASTER, order(px="3100", sz="0.1")))
    stop = {"type": "order", "grouping": "na", "orders": [{"a": ETH, "b": False, "p": "2700", "s": "0.1", "r": True,
                                                             "t": {"trigger": {"isMarket": True, "triggerPx": "2800", "tpsl": "sl"}}}]}
    [status] = statuses(send(venue, MASTER, stop))
    oid = status["resting"]["oid"]
    [front] = info(venue, "frontendOpenOrders", user)
    assert front["isTrigger"] is True and front["orderType"] == "Stop Market" and front["triggerPx"] == "2800.0"
    assert front["triggerCondition"] == "Price below 2800" and front["reduceOnly"] is True and front["tif"] is None
    venue.set_mid("ETH", "2500")  # the stand-in has no book: a moving mid triggers nothing
    assert info(venue, "clearinghouseState", user)["assetPositions"] != []

    venue.fill_resting(oid)
    assert info(venue, "clearinghouseState", user)["assetPositions"] == []
    fill = info(venue, "userFills", user)[0]
    assert fill["px"] == "2800.0" and fill["dir"] == "Close Long" and fill["closedPnl"] == "-20.0"
    assert info(venue, "openOrders", user) == [] and info(venue, "orderStatus", user, oid=oid)["order"]["status"] == "filled"


@pytest.mark.parametrize("wire, error", [
    (order(px="3000.55"), "Order has invalid price."),  # 6 significant figures
    (order(asset=BTC, px="60000.5", sz="0.001"), "Order has invalid price."),
    (order(px="3000.123"), "Order has invalid price."),  # ETH: at most 6 - 4 = 2 decimals
    (order(sz="0.00001"), "Order has invalid size."),  # ETH szDecimals 4
    (order(sz="0.001"), "Order must have minimum value of $10."),
    (order(px="2900"), f"Order could not immediately match against any resting orders. asset={ETH}"),
    (order(px="3100", tif="Alo"), f"Post only order would have immediately matched, bbo was 3000.0. asset={ETH}"),
    (order(is_buy=False, px="2900", reduce_only=True), f"Reduce only order would increase position. asset={ETH}"),
    (order(sz="7"), f"Insufficient margin to place order. asset={ETH}"),  # 21,000 / 20x > 1,000
])
def test_orders_the_venue_would_refuse_are_refused(venue, wire, error):
    assert statuses(send(venue, MASTER, wire)) == [{"error": error}]
    assert info(venue, "openOrders", address(MASTER)) == [] and info(venue, "userFills", address(MASTER)) == []


def test_an_integer_price_passes_whatever_its_significant_figures(venue):
    assert "filled" in statuses(send(venue, MASTER, order(asset=BTC, px="61000", sz="0.001")))[0]


def test_spot_fills_move_balances(venue):
    user = address(MASTER)
    venue.fund_spot(user, "USDC", "30")
    [status] = statuses(send(venue, MASTER, order(asset=PURR, px="0.21", sz="100")))
    assert status["filled"]["avgPx"] == "0.2"
    balances = {b["coin"]: b for b in info(venue, "spotClearinghouseState", user)["balances"]}
    assert balances["USDC"]["total"] == "10.0" and balances["PURR"]["total"] == "99.93"  # 0.07% fee in PURR
    assert balances["PURR"]["entryNtl"] == "20.0"
    assert statuses(send(venue, MASTER, order(asset=PURR, px="0.21", sz="100"))) == [
        {"error": f"Insufficient spot balance asset={PURR}"}]
    [status] = statuses(send(venue, MASTER, order(asset=PURR, is_buy=False, px="0.25", sz="60", tif="Gtc")))
    assert info(venue, "spotClearinghouseState", user)["balances"][1]["hold"] == "60.0"
    venue.fill_resting(status["resting"]["oid"])
    balances = {b["coin"]: b["total"] for b in info(venue, "spotClearinghouseState", user)["balances"]}
    assert balances == {"USDC": "24.9895", "PURR": "39.93"}
    assert info(venue, "userFills", user)[0]["crossed"] is False


def test_leverage_and_unsupported_actions(venue):
    assert send(venue, MASTER, {"type": "updateLeverage", "asset": ETH, "isCross": True, "leverage": 5})["status"] == "ok"
    assert send(venue, MASTER, {"type": "updateLeverage", "asset": ETH, "isCross": True, "leverage": 26})["status"] == "err"
    statuses(send(venue, MASTER, order()))
    position = info(venue, "clearinghouseState", address(MASTER))["assetPositions"][0]["position"]
    assert position["leverage"] == {"type": "cross", "value": 5} and position["marginUsed"] == "60.0"
    withdraw = send(venue, MASTER, {"type": "withdraw3", "destination": address(MASTER), "amount": "1"})
    assert withdraw["status"] == "err" and "unsupported action" in withdraw["response"] and "stand-in" in withdraw["response"]


def test_liquidations_are_listed_by_time(venue):
    user = address(MASTER)
    venue.record_liquidation(user, "ETH", "0.5", "1500", "70")
    now = int(time.time() * 1000)
    [update] = info(venue, "userNonFundingLedgerUpdates", user, startTime=now - 60_000)
    assert update["delta"] == {"type": "liquidation", "liquidatedNtlPos": "1500.0", "accountValue": "70.0", "leverageType": "Cross",
                               "liquidatedPositions": [{"coin": "ETH", "szi": "0.5"}]}
    assert info(venue, "userNonFundingLedgerUpdates", user, startTime=now + 60_000) == []


def test_the_expiry_is_signed_and_enforced(venue):
    now = int(time.time() * 1000)
    assert "filled" in statuses(send(venue, MASTER, order(), expires=now + 60_000))[0]
    expired = send(venue, MASTER, order(), expires=now - 1)
    assert expired["status"] == "err" and "expired" in expired["response"]


def test_a_fill_through_zero_flips_the_position(venue):
    statuses(send(venue, MASTER, order(px="3100", sz="0.1")))
    statuses(send(venue, MASTER, order(is_buy=False, px="2900", sz="0.3")))
    position = info(venue, "clearinghouseState", address(MASTER))["assetPositions"][0]["position"]
    assert position["szi"] == "-0.2" and position["entryPx"] == "3000.0" and position["liquidationPx"] is not None
    assert info(venue, "userFills", address(MASTER))[0]["dir"] == "Long > Short"


def test_recovery_agrees_with_the_venue_sdks_reference_vector(venue):
    # hyperliquid-python-sdk tests/signing_test.py: this key signs this order with nonce 0 on mainnet as (r, s, v).
    # Recovering the funded user gets the request as far as the nonce check (0 is far outside the window).
    key = keys.PrivateKey(bytes.fromhex("0123456789012345678901234567890123456789012345678901234567890123"))
    venue.fund_perp(address(key), "10")
    action = {"type": "order", "orders": [{"a": 1, "b": True, "p": "100", "s": "100", "r": False, "t": {"limit": {"tif": "Gtc"}}}],
              "grouping": "na"}
    signature = {"r": hex(0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e),
                 "s": hex(0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e), "v": 28}
    body = {"action": action, "nonce": 0, "signature": signature, "vaultAddress": None}
    refused = requests.post(venue.url + "/exchange", json=body, timeout=5).json()
    assert refused["status"] == "err" and refused["response"].startswith("Invalid nonce"), refused


def test_a_testnet_stand_in_takes_testnet_signatures():
    with HyperliquidStandIn(mainnet=False) as testnet:
        testnet.fund_perp(address(MASTER), "1000")
        assert "filled" in statuses(send(testnet, MASTER, order(), mainnet=False))[0]
        assert "does not exist" in send(testnet, MASTER, order(), mainnet=True)["response"]
