"""Hyperliquid for sessions: Circuit's `platforms.hyperliquid` calls, over the venue's
documented info (`POST /info`) and exchange (`POST /exchange`) endpoints.

Orders are built as the venue's own Python SDK builds them (wire fields a/b/p/s/r/t/c,
grouping "na", prices at most 5 significant figures), signed by the signer under the
wallet's Hyperliquid policy, and posted with the signature; a refused signature never
reaches the venue. A market order is an immediate-or-cancel limit at the agent's price (the
slippage cap): the venue has no unpriced orders, and neither does the policy.

API (agent) wallets: when the venue lists an agent approved for the session's wallet and
the signer holds that agent's key, L1 actions are signed by the agent, so the master key
need not trade. Transfers between spot and perp are user-signed: only the master can.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal, InvalidOperation

import grpc

from corral.limits import ACTION_MESSAGE_MAX_CHARS, shortened
from corral.v1 import runtime_pb2, signer_pb2
from orchestrator.actions.signer_client import SignerClient, signer_refusal
from orchestrator.actions.venues.http import VenueHttp
from orchestrator.config import HyperliquidConfig
from orchestrator.errors import invalid, not_found, precondition
from orchestrator.store import SessionRow

SPOT_ASSET_OFFSET = 10_000
SIGNATURE_CHAIN_ID = "0x66eee"
MARKETS_TTL_SECONDS = 300.0
AGENTS_TTL_SECONDS = 60.0
LIQUIDATIONS_DEFAULT_MS = 30 * 24 * 3600 * 1000
ACTION_TTL_MS = 60_000  # an L1 action's expiresAfter, from its nonce

SIDES = {runtime_pb2.ORDER_SIDE_BUY: "buy", runtime_pb2.ORDER_SIDE_SELL: "sell"}
TRIGGER_KINDS = {runtime_pb2.HYPERLIQUID_ORDER_TYPE_STOP: "sl", runtime_pb2.HYPERLIQUID_ORDER_TYPE_TAKE_PROFIT: "tp"}
ORDER_TYPE_NAMES = {
    runtime_pb2.HYPERLIQUID_ORDER_TYPE_MARKET: "market", runtime_pb2.HYPERLIQUID_ORDER_TYPE_LIMIT: "limit",
    runtime_pb2.HYPERLIQUID_ORDER_TYPE_STOP: "stop", runtime_pb2.HYPERLIQUID_ORDER_TYPE_TAKE_PROFIT: "take_profit",
}


@dataclass(frozen=True)
class Market:
    """One tradable coin as agents name it ("BTC", "HYPE/USDC") and as the exchange does."""

    coin: str
    asset: int
    sz_decimals: int
    spot: bool
    # Its key in allMids and l2Book ("BTC"; spot pairs by universe name, e.g. "PURR/USDC" or "@107").
    mid_key: str
    # Perps: the most leverage the venue allows on it (meta's maxLeverage; 0 when not said).
    max_leverage: int = 0

    @property
    def max_price_decimals(self) -> int:
        return (8 if self.spot else 6) - self.sz_decimals


@dataclass
class Markets:
    by_coin: dict[str, Market]
    # Spot token name -> (tokenId, weiDecimals), for balances.
    tokens: dict[str, tuple[str, int]]
    loaded_at: float

    def get(self, coin: str, spot: bool | None = None) -> Market:
        market = self.by_coin.get(coin)
        if market is None or (spot is not None and market.spot != spot):
            kind = "spot pair" if spot else "perp" if spot is not None else "coin"
            known = sorted(c for c, m in self.by_coin.items() if spot is None or m.spot == spot)
            raise not_found(f"hyperliquid: {coin!r} is not a {kind} on the venue; known: {', '.join(known[:20])}")
        return market

    def by_asset(self, asset: int) -> Market | None:
        return next((m for m in self.by_coin.values() if m.asset == asset), None)


def wire_decimal(value: Decimal) -> str:
    """A decimal as the venue writes it: no exponent, no trailing zeros, never "-0"."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def order_price(price: Decimal, market: Market, is_buy: bool) -> Decimal:
    """The venue accepts at most 5 significant figures and `max_price_decimals` decimals
    (integers always). Rounded against the agent's favour never: a buy down, a sell up, so
    the limit is never worse than the one asked for."""
    if price == price.to_integral_value():
        return price
    rounding = ROUND_DOWN if is_buy else ROUND_UP
    significant = price.quantize(Decimal(1).scaleb(price.adjusted() - 4), rounding=rounding)
    return significant.quantize(Decimal(1).scaleb(-market.max_price_decimals), rounding=rounding)


def order_size(size: Decimal, market: Market) -> Decimal:
    """Sizes have at most the coin's szDecimals; never more than asked."""
    return size.quantize(Decimal(1).scaleb(-market.sz_decimals), rounding=ROUND_DOWN)


def _decimal(text: str, field: str, positive: bool = True) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise invalid(f"hyperliquid: {field} {text!r} is not a number") from None
    if not value.is_finite() or (positive and value <= 0):
        raise invalid(f"hyperliquid: {field} must be a positive number, got {text!r}")
    if value.adjusted() >= 20:  # as the signer bounds an action's numbers: no price or size is that large
        raise invalid(f"hyperliquid: {field} must be below 10^20, got {shortened(text, 40)!r}")
    return value


def _side(letter: str) -> str:
    return "buy" if letter == "B" else "sell"


def midpoint_answer(mids: dict, markets: Markets, coins: list[str], dex: str, at: datetime) -> dict | list[dict]:
    """The SDK's midpoint_price answer from the venue's allMids of `dex`, as of `at` (UTC)."""
    spot = dex == "spot"
    stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    prices = []
    for coin in coins:
        key = markets.get(coin, spot=spot).mid_key if dex in ("perp", "spot") else coin
        if key not in mids:
            raise not_found(f"hyperliquid: the venue has no mid price for {coin!r}")
        prices.append({"coin": coin, "network": f"hypercore:{dex}", "priceUsd": mids[key], "timestamp": stamp, "isStale": False})
    return prices[0] if len(prices) == 1 else prices


class HyperliquidVenue:
    def __init__(self, config: HyperliquidConfig, signer: SignerClient) -> None:
        self.config = config
        self._http = VenueHttp("hyperliquid", config.api_url, config.request_timeout_seconds)
        self._signer = signer
        self._markets: Markets | None = None
        self._agents: dict[str, tuple[float, str]] = {}  # master (lower) -> (read at, signing wallet)
        self._last_nonce = 0
        self._nonce_lock = asyncio.Lock()

    # ---- reading ------------------------------------------------------------------------

    async def info(self, request: dict) -> object:
        return await self._http.post_json("/info", request)

    async def markets(self) -> Markets:
        if self._markets is None or time.monotonic() - self._markets.loaded_at > MARKETS_TTL_SECONDS:
            meta, spot_meta = await asyncio.gather(self.info({"type": "meta"}), self.info({"type": "spotMeta"}))
            by_coin = {
                perp["name"]: Market(perp["name"], index, int(perp["szDecimals"]), False, perp["name"], int(perp.get("maxLeverage") or 0))
                for index, perp in enumerate(meta["universe"])
            }
            tokens = {t["index"]: t for t in spot_meta["tokens"]}
            for pair in spot_meta["universe"]:
                base, quote = tokens[pair["tokens"][0]], tokens[pair["tokens"][1]]
                coin = f"{base['name']}/{quote['name']}"
                by_coin[coin] = Market(coin, SPOT_ASSET_OFFSET + int(pair["index"]), int(base["szDecimals"]), True, pair["name"])
            token_info = {t["name"]: (t.get("tokenId", ""), int(t["weiDecimals"])) for t in spot_meta["tokens"]}
            self._markets = Markets(by_coin, token_info, time.monotonic())
        return self._markets

    async def read(self, session: SessionRow, request: runtime_pb2.HyperliquidReadRequest) -> object:
        user = session.wallet_address
        kind = request.kind
        if kind == runtime_pb2.HYPERLIQUID_READ_KIND_BALANCES:
            return await self._balances(user)
        if kind == runtime_pb2.HYPERLIQUID_READ_KIND_POSITIONS:
            return await self._positions(user, request.dex if request.HasField("dex") else None)
        if kind == runtime_pb2.HYPERLIQUID_READ_KIND_OPEN_ORDERS:
            orders = await self.info({"type": "frontendOpenOrders", "user": user})
            markets = await self.markets()
            return [self._order_info(o, markets, "open") for o in orders]
        if kind == runtime_pb2.HYPERLIQUID_READ_KIND_ORDER:
            if not request.HasField("order_id"):
                raise invalid("hyperliquid: order needs an order id")
            return await self.order(user, request.order_id)
        if kind == runtime_pb2.HYPERLIQUID_READ_KIND_ORDERS:
            history, markets = await self.info({"type": "historicalOrders", "user": user}), await self.markets()
            return [
                {**self._order_info(h["order"], markets, h["status"]), "timestamp": h["order"].get("timestamp"),
                 "statusTimestamp": h.get("statusTimestamp"), "orderType": h["order"].get("orderType", "Limit")}
                for h in history
            ]
        if kind == runtime_pb2.HYPERLIQUID_READ_KIND_ORDER_FILLS:
            fills = await self.info({"type": "userFills", "user": user})
            return [
                {"orderId": f["oid"], "coin": f["coin"], "side": _side(f["side"]), "direction": f.get("dir"), "price": f["px"],
                 "size": f["sz"], "fee": f.get("fee"), "timestamp": f["time"], "isCrossed": f.get("crossed")}
                for f in fills
            ]
        if kind == runtime_pb2.HYPERLIQUID_READ_KIND_LIQUIDATIONS:
            return await self._liquidations(user, request.start_time_ms if request.HasField("start_time_ms") else None)
        if kind == runtime_pb2.HYPERLIQUID_READ_KIND_MIDPOINT_PRICE:
            return await self.midpoints(list(request.coins), request.dex if request.HasField("dex") else "perp")
        raise invalid("hyperliquid: say what to read (balances, positions, open_orders, order, orders, order_fills, liquidations, midpoint_price)")

    async def order(self, user: str, order_id: int) -> dict:
        answer = await self.info({"type": "orderStatus", "user": user, "oid": order_id})
        if answer.get("status") != "order":
            raise not_found(f"hyperliquid: order {order_id} is not known for {user}")
        return self._order_info(answer["order"]["order"], await self.markets(), answer["order"]["status"])

    def _order_info(self, order: dict, markets: Markets, status: str) -> dict:
        market = markets.by_coin.get(order["coin"]) or next((m for m in markets.by_coin.values() if m.mid_key == order["coin"]), None)
        original = Decimal(order.get("origSz", order["sz"]))
        info = {
            "orderId": order["oid"], "coin": market.coin if market else order["coin"], "side": _side(order["side"]),
            "price": order["limitPx"], "size": wire_decimal(original), "filled": wire_decimal(original - Decimal(order["sz"])),
            "status": status, "market": "spot" if market and market.spot else "perp",
        }
        if order.get("cloid"):
            info["clientOrderId"] = order["cloid"]
        return info

    async def _balances(self, user: str) -> dict:
        perp, spot, mids, markets = await asyncio.gather(
            self.info({"type": "clearinghouseState", "user": user}), self.info({"type": "spotClearinghouseState", "user": user}),
            self.info({"type": "allMids"}), self.markets(),
        )
        summary = perp["marginSummary"]
        balances = []
        for balance in spot["balances"]:
            coin = balance["coin"]
            pair = markets.by_coin.get(f"{coin}/USDC")
            price = "1" if coin == "USDC" else mids.get(pair.mid_key) if pair else None
            token_id, decimals = markets.tokens.get(coin, ("", 0))
            value = wire_decimal(Decimal(balance["total"]) * Decimal(price)) if price is not None else None
            balances.append({"coin": coin, "fullName": None, "tokenId": token_id, "total": balance["total"], "hold": balance["hold"],
                             "priceUsd": price, "valueUsd": value, "decimals": decimals})
        return {"perp": {"accountValue": summary["accountValue"], "totalMarginUsed": summary["totalMarginUsed"],
                         "withdrawable": perp["withdrawable"]}, "spot": balances}

    async def _positions(self, user: str, dex: str | None) -> list[dict]:
        request = {"type": "clearinghouseState", "user": user}
        mids_request = {"type": "allMids"}
        if dex not in (None, "", "perp"):
            request["dex"] = mids_request["dex"] = dex  # a builder-deployed perp dex
        state, mids = await asyncio.gather(self.info(request), self.info(mids_request))
        positions = []
        for entry in state["assetPositions"]:
            p = entry["position"]
            size = Decimal(p["szi"])
            positions.append({
                "coin": p["coin"], "side": "long" if size > 0 else "short", "size": wire_decimal(abs(size)),
                "entryPrice": p.get("entryPx"), "markPrice": mids.get(p["coin"]), "liquidationPrice": p.get("liquidationPx"),
                "unrealizedPnl": p.get("unrealizedPnl"), "leverage": (p.get("leverage") or {}).get("value"),
                "marginUsed": p.get("marginUsed"),
            })
        return positions

    async def _liquidations(self, user: str, start_ms: int | None) -> list[dict]:
        start = start_ms if start_ms is not None else int(time.time() * 1000) - LIQUIDATIONS_DEFAULT_MS
        updates = await self.info({"type": "userNonFundingLedgerUpdates", "user": user, "startTime": start})
        liquidations = []
        for update in updates:
            delta = update.get("delta") or {}
            if delta.get("type") != "liquidation":
                continue
            liquidations.append({
                "timestamp": update["time"],
                "liquidatedPositions": [
                    {"coin": p["coin"], "side": "long" if Decimal(p["szi"]) > 0 else "short", "size": wire_decimal(abs(Decimal(p["szi"])))}
                    for p in delta.get("liquidatedPositions", [])
                ],
                "totalNotional": delta.get("liquidatedNtlPos"), "accountValue": delta.get("accountValue"),
                "leverageType": delta.get("leverageType"), "txHash": update.get("hash"),
            })
        return liquidations

    async def midpoints(self, coins: list[str], dex: str) -> dict | list[dict]:
        if not coins:
            raise invalid("hyperliquid: midpoint_price needs a coin (or a list of coins)")
        mids_request = {"type": "allMids"}
        if dex not in ("perp", "spot"):
            mids_request["dex"] = dex
        mids, markets = await asyncio.gather(self.info(mids_request), self.markets())
        return midpoint_answer(mids, markets, coins, dex, datetime.now(UTC))

    # ---- acting -------------------------------------------------------------------------

    async def order_action(self, request: runtime_pb2.HyperliquidPlaceOrderRequest) -> tuple[dict, Market]:
        """The exchange action for an order request, checked and rounded to the venue's ticks
        and lots. Also what a suggestion shows, so manual mode refuses bad orders too. What
        the request alone shows wrong is refused before the venue is asked for its markets."""
        if request.side not in SIDES:
            raise invalid("hyperliquid: side must be 'buy' or 'sell'")
        if request.market not in (runtime_pb2.HYPERLIQUID_MARKET_PERP, runtime_pb2.HYPERLIQUID_MARKET_SPOT):
            raise invalid("hyperliquid: market must be 'perp' or 'spot'")
        kind = request.type or runtime_pb2.HYPERLIQUID_ORDER_TYPE_MARKET
        if kind not in ORDER_TYPE_NAMES:
            raise invalid("hyperliquid: type must be 'market', 'limit', 'stop' or 'take_profit'")
        if request.HasField("message") and len(request.message) > ACTION_MESSAGE_MAX_CHARS:
            raise invalid(f"hyperliquid: message is at most {ACTION_MESSAGE_MAX_CHARS} characters")
        if request.post_only and kind != runtime_pb2.HYPERLIQUID_ORDER_TYPE_LIMIT:
            raise invalid("hyperliquid: postOnly applies to limit orders only")
        if kind in TRIGGER_KINDS and not request.HasField("trigger_price"):
            raise invalid("hyperliquid: stop and take_profit orders need a triggerPrice")
        asked_size = _decimal(request.size, "size")
        asked_price = _decimal(request.price, "price (for a market order: the worst price accepted)")
        asked_trigger = _decimal(request.trigger_price, "triggerPrice") if kind in TRIGGER_KINDS else None

        market = (await self.markets()).get(request.coin, spot=request.market == runtime_pb2.HYPERLIQUID_MARKET_SPOT)
        is_buy = request.side == runtime_pb2.ORDER_SIDE_BUY
        try:
            size, price = order_size(asked_size, market), order_price(asked_price, market, is_buy)
            trigger = order_price(asked_trigger, market, is_buy) if asked_trigger is not None else None
        except InvalidOperation:  # more digits than a decimal holds: no market's tick or lot is that fine
            raise invalid("hyperliquid: size, price and triggerPrice must be numbers of at most 28 digits") from None
        if size <= 0:
            raise invalid(f"hyperliquid: size {request.size} is below {market.coin}'s lot size ({market.sz_decimals} decimals)")
        if price <= 0:
            raise invalid(f"hyperliquid: price {request.price} is below {market.coin}'s tick ({market.max_price_decimals} decimals)")
        if trigger is not None:
            order_type = {"trigger": {"isMarket": True, "triggerPx": wire_decimal(trigger), "tpsl": TRIGGER_KINDS[kind]}}
        else:
            tif = "Ioc" if kind == runtime_pb2.HYPERLIQUID_ORDER_TYPE_MARKET else "Alo" if request.post_only else "Gtc"
            order_type = {"limit": {"tif": tif}}
        wire = {"a": market.asset, "b": is_buy, "p": wire_decimal(price), "s": wire_decimal(size), "r": request.reduce_only,
                "t": order_type, "c": "0x" + secrets.token_hex(16)}
        return {"type": "order", "orders": [wire], "grouping": "na"}, market

    async def place_order(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.HyperliquidPlaceOrderRequest) -> dict:
        action, market = await self.order_action(request)
        answer = await self._post_l1(session, execution_id, action)
        return order_answer(request, market, action, answer["response"]["data"]["statuses"][0])

    async def cancel_action(self, request: runtime_pb2.HyperliquidCancelOrderRequest) -> dict:
        if request.order_id <= 0:
            raise invalid("hyperliquid: order_id must be a positive integer")
        market = (await self.markets()).get(request.coin)
        return {"type": "cancel", "cancels": [{"a": market.asset, "o": request.order_id}]}

    async def cancel_order(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.HyperliquidCancelOrderRequest) -> None:
        answer = await self._post_l1(session, execution_id, await self.cancel_action(request))
        status = answer["response"]["data"]["statuses"][0]
        if status != "success":
            raise precondition(f"hyperliquid: {status.get('error', status) if isinstance(status, dict) else status}")

    def transfer_amount(self, request: runtime_pb2.HyperliquidTransferRequest) -> str:
        return wire_decimal(_decimal(request.amount, "amount"))

    async def transfer(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.HyperliquidTransferRequest) -> None:
        self._check(await self._http.post_json("/exchange", await self.signed_transfer(session, execution_id, request)))

    async def signed_transfer(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.HyperliquidTransferRequest) -> dict:
        """Spot <-> perp USDC: a user-signed action, so the session's own wallet signs it."""
        nonce = await self._nonce()
        action = {"type": "usdClassTransfer", "amount": self.transfer_amount(request), "toPerp": request.to_perp, "nonce": nonce,
                  "signatureChainId": SIGNATURE_CHAIN_ID, "hyperliquidChain": "Mainnet" if self.config.mainnet else "Testnet"}
        signature = await self._sign(session, execution_id, session.wallet_address, action, nonce)
        return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None}

    async def _post_l1(self, session: SessionRow, execution_id: int | None, action: dict) -> dict:
        wallet = await self.signing_wallet(session.wallet_address)
        body = await self.signed_l1(session, execution_id, wallet, action)
        return self._check(await self._http.post_json("/exchange", body))

    async def signed_l1(self, session: SessionRow, execution_id: int | None, wallet: str, action: dict) -> dict:
        """The /exchange body for an L1 action, signed by the signer for `wallet` under its
        Hyperliquid policy (a refusal raises). The venue takes a nonce up to two days old: the
        expiry makes the signature worthless soon after it is made (the signer refuses L1
        actions without one)."""
        nonce = await self._nonce()
        expires = nonce + ACTION_TTL_MS
        signature = await self._sign(session, execution_id, wallet, action, nonce, expires)
        return {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None, "expiresAfter": expires}

    @staticmethod
    def _check(answer: dict) -> dict:
        if not isinstance(answer, dict) or answer.get("status") != "ok":
            said = answer.get("response") if isinstance(answer, dict) else answer
            raise precondition(f"hyperliquid: {said}")
        return answer

    async def _sign(self, session: SessionRow, execution_id: int | None, wallet: str, action: dict, nonce: int,
                    expires_after: int | None = None) -> dict:
        request = signer_pb2.SignHyperliquidActionRequest(
            wallet_address=wallet, action_json=json.dumps(action), nonce=nonce, mainnet=self.config.mainnet,
            context=signer_pb2.SigningContext(session_id=session.id, execution_id=execution_id or 0),
        )
        if expires_after is not None:
            request.expires_after = expires_after
        try:
            signed = await self._signer.sign_hyperliquid_action(request)
        except grpc.aio.AioRpcError as exc:
            raise signer_refusal(exc) from None
        return {"r": signed.r, "s": signed.s, "v": signed.v}

    async def signing_wallet(self, master: str) -> str:
        """The wallet that signs the master's L1 actions: an API wallet approved for it on the
        venue whose key the signer holds, else the master itself."""
        cached = self._agents.get(master.lower())
        if cached is not None and time.monotonic() - cached[0] < AGENTS_TTL_SECONDS:
            return cached[1]
        agents, held = await asyncio.gather(self.info({"type": "extraAgents", "user": master}), self._signer.wallets())
        held_lower = {address.lower(): address for address in held}
        now_ms = time.time() * 1000
        usable = [held_lower[a["address"].lower()] for a in agents or []
                  if a["address"].lower() in held_lower and (a.get("validUntil") or now_ms + 1) > now_ms]
        wallet = usable[0] if usable else master
        self._agents[master.lower()] = (time.monotonic(), wallet)
        return wallet

    async def _nonce(self) -> int:
        """Milliseconds, strictly increasing: the venue refuses a nonce it has seen."""
        async with self._nonce_lock:
            self._last_nonce = max(int(time.time() * 1000), self._last_nonce + 1)
            return self._last_nonce

    async def close(self) -> None:
        await self._http.close()


def order_answer(request: runtime_pb2.HyperliquidPlaceOrderRequest, market: Market, action: dict, status: dict) -> dict:
    """What the agent gets for an order the venue answered with `status` (filled, resting or an error)."""
    wire = action["orders"][0]
    info = {"coin": market.coin, "side": SIDES[request.side], "price": wire["p"], "size": wire["s"],
            "market": "spot" if market.spot else "perp", "clientOrderId": wire["c"]}
    if "error" in status:
        raise precondition(f"hyperliquid: {status['error']}")
    if "filled" in status:
        filled = status["filled"]
        return {"orderId": filled["oid"], **info, "price": filled["avgPx"], "filled": filled["totalSz"], "status": "filled"}
    # (A paper engine says how much of a resting order filled as it was placed; the venue does not.)
    return {"orderId": status["resting"]["oid"], **info, "filled": status["resting"].get("filled", "0"), "status": "open"}


def describe_order(request: runtime_pb2.HyperliquidPlaceOrderRequest, action: dict) -> dict:
    """What a user approving an order is shown."""
    wire = action["orders"][0]
    details = {"venue": "hyperliquid", "action": "order", "coin": request.coin, "side": SIDES[request.side],
               "type": ORDER_TYPE_NAMES[request.type or runtime_pb2.HYPERLIQUID_ORDER_TYPE_MARKET],
               "market": "spot" if request.market == runtime_pb2.HYPERLIQUID_MARKET_SPOT else "perp",
               "size": wire["s"], "price": wire["p"], "reduceOnly": request.reduce_only, "postOnly": request.post_only}
    if request.HasField("trigger_price"):
        details["triggerPrice"] = wire["t"]["trigger"]["triggerPx"]
    if request.HasField("message"):
        details["message"] = request.message
    return details

