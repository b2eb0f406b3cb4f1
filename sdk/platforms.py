"""`agent.platforms.hyperliquid` and `agent.platforms.polymarket`, under Circuit's method
names (snake_case and camelCase), returning `{success, data, error}` and never raising.

    order = agent.platforms.hyperliquid.place_order(
        {"coin": "BTC", "side": "buy", "size": 0.001, "price": 61000, "market": "perp", "type": "market"})
    if order.success:
        agent.log(f"{order.data.status} {order.data.filled} at {order.data.price}")

Hyperliquid amounts are formatted decimals (strings), as on the venue; a market order's
`price` is the worst price accepted. Polymarket `market_order` sizes are USD for BUY and
shares for SELL. In manual mode orders, cancels, transfers and redemptions come back as
suggestions (`data.suggested`, `data.suggestionId`, `data.details`). Names this SDK does not
have (e.g. `send_usdc`) answer "not available" instead of raising.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from google.protobuf.json_format import MessageToDict
from pydantic import BaseModel

from corral.v1 import runtime_pb2
from sdk.envelopes import Envelope, RuntimeCall, SignAndSendData, _Response, never_raises, not_available

if TYPE_CHECKING:
    from google.protobuf.message import Message


class VenueData(_Response):
    """A venue object (an order, a position, a balance...): read fields as attributes in
    either naming (`data.orderId`, `data.order_id`) or as keys (`data["orderId"]`)."""


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return VenueData(**{k: _wrap(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _fields(request: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A request given as a dict, a pydantic model or keyword arguments."""
    if isinstance(request, BaseModel):
        request = request.model_dump(by_alias=True, exclude_none=True)
    fields = dict(request or {}) if isinstance(request, dict) or request is None else None
    if fields is None:
        raise TypeError(f"the request must be a dict (or keyword arguments), not {type(request).__name__}")
    fields.update(kwargs)
    return fields


def _pick(fields: dict[str, Any], *names: str, default: Any = None) -> Any:
    return next((fields[n] for n in names if fields.get(n) is not None), default)


def _decimal_text(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a number")
    return str(value)  # repr of a float ("0.001", "1e-05"): the platform reads both exactly


def _side(value: Any) -> runtime_pb2.OrderSide:
    side = str(value or "").lower()
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {value!r}")
    return runtime_pb2.ORDER_SIDE_BUY if side == "buy" else runtime_pb2.ORDER_SIDE_SELL


class _VenueApi:
    _name = "platform"

    def __init__(self, call: RuntimeCall) -> None:
        self._call = call

    def _send(self, method: str, request: Message) -> Envelope[Any]:
        envelope = self._call(method, request, lambda r: r)
        if not envelope.success:
            return envelope
        response = cast(runtime_pb2.VenueResponse, envelope.data)  # the response itself (to_data above)
        if response.suggested:
            details = MessageToDict(response.suggestion_details)
            return Envelope(success=True, data=SignAndSendData(suggested=True, suggestionId=response.suggestion_id, details=details))
        return Envelope(success=True, data=_wrap(json.loads(response.data_json)) if response.data_json else None)

    def __getattr__(self, name: str) -> Any:
        # A method of a newer SDK this one does not have: answers "not available", never raises.
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: not_available(f"{self._name}.{name}")


class HyperliquidApi(_VenueApi):
    _name = "platforms.hyperliquid"

    def _read(self, kind: runtime_pb2.HyperliquidReadKind, **fields: Any) -> Envelope[Any]:
        return self._send("HyperliquidRead", runtime_pb2.HyperliquidReadRequest(kind=kind, **fields))

    @never_raises()
    def place_order(self, request: Any = None, **kwargs: Any) -> Envelope[Any]:
        """{coin, side: buy|sell, size, price (the worst price for a market order), market:
        perp|spot, type?: market|limit|stop|take_profit, triggerPrice?, reduceOnly?, postOnly?,
        message?, expiresAt?} -> OrderInfo {orderId, coin, side, price, size, filled, status,
        market, clientOrderId}."""
        fields = _fields(request, kwargs)
        coin = _pick(fields, "coin", "symbol")  # `symbol` before Circuit 2.8
        if not coin:
            raise ValueError("coin is required, e.g. 'BTC' or 'HYPE/USDC'")
        market = str(_pick(fields, "market", default="perp")).lower()
        order_type = str(_pick(fields, "type", "orderType", "order_type", default="market")).lower()
        types = {"market": runtime_pb2.HYPERLIQUID_ORDER_TYPE_MARKET, "limit": runtime_pb2.HYPERLIQUID_ORDER_TYPE_LIMIT,
                 "stop": runtime_pb2.HYPERLIQUID_ORDER_TYPE_STOP, "take_profit": runtime_pb2.HYPERLIQUID_ORDER_TYPE_TAKE_PROFIT}
        if market not in ("perp", "spot"):
            raise ValueError(f"market must be 'perp' or 'spot', got {market!r}")
        if order_type not in types:
            raise ValueError(f"type must be one of {', '.join(types)}, got {order_type!r}")
        price = _pick(fields, "price")
        if price is None:
            raise ValueError("price is required (for a market order: the worst price you accept)")
        request_pb = runtime_pb2.HyperliquidPlaceOrderRequest(
            coin=str(coin), side=_side(fields.get("side")), size=_decimal_text(_pick(fields, "size"), "size"),
            price=_decimal_text(price, "price"), type=types[order_type],
            market=runtime_pb2.HYPERLIQUID_MARKET_PERP if market == "perp" else runtime_pb2.HYPERLIQUID_MARKET_SPOT,
            reduce_only=bool(_pick(fields, "reduceOnly", "reduce_only", default=False)),
            post_only=bool(_pick(fields, "postOnly", "post_only", default=False)),
        )
        if (trigger := _pick(fields, "triggerPrice", "trigger_price")) is not None:
            request_pb.trigger_price = _decimal_text(trigger, "triggerPrice")
        if (message := fields.get("message")) is not None:
            request_pb.message = str(message)
        if (expires := _pick(fields, "expiresAt", "expires_at")) is not None:
            request_pb.expires_at = str(expires)
        return self._send("HyperliquidPlaceOrder", request_pb)

    placeOrder = place_order

    @never_raises()
    def order(self, order_id: Any) -> Envelope[Any]:
        return self._read(runtime_pb2.HYPERLIQUID_READ_KIND_ORDER, order_id=int(order_id))

    @never_raises()
    def delete_order(self, order_id: Any, coin: str) -> Envelope[Any]:
        """Cancels an open order; data is None."""
        return self._send("HyperliquidCancelOrder", runtime_pb2.HyperliquidCancelOrderRequest(order_id=int(order_id), coin=str(coin)))

    deleteOrder = delete_order

    @never_raises()
    def balances(self) -> Envelope[Any]:
        """{perp: {accountValue, totalMarginUsed, withdrawable}, spot: [{coin, total, hold, ...}]}"""
        return self._read(runtime_pb2.HYPERLIQUID_READ_KIND_BALANCES)

    @never_raises()
    def positions(self, dex: str | None = None) -> Envelope[Any]:
        return self._read(runtime_pb2.HYPERLIQUID_READ_KIND_POSITIONS, **({"dex": dex} if dex else {}))

    @never_raises()
    def open_orders(self) -> Envelope[Any]:
        return self._read(runtime_pb2.HYPERLIQUID_READ_KIND_OPEN_ORDERS)

    openOrders = open_orders

    @never_raises()
    def order_fills(self) -> Envelope[Any]:
        return self._read(runtime_pb2.HYPERLIQUID_READ_KIND_ORDER_FILLS)

    orderFills = order_fills

    @never_raises()
    def orders(self) -> Envelope[Any]:
        """Historical orders, with their status."""
        return self._read(runtime_pb2.HYPERLIQUID_READ_KIND_ORDERS)

    @never_raises()
    def transfer(self, request: Any = None, **kwargs: Any) -> Envelope[Any]:
        """{amount (USDC), toPerp: bool, expiresAt?}: between the account's spot and perp."""
        fields = _fields(request, kwargs)
        to_perp = _pick(fields, "toPerp", "to_perp")
        if not isinstance(to_perp, bool):
            raise ValueError("toPerp is required: true moves spot -> perp, false perp -> spot")
        request_pb = runtime_pb2.HyperliquidTransferRequest(amount=_decimal_text(_pick(fields, "amount"), "amount"), to_perp=to_perp)
        if (expires := _pick(fields, "expiresAt", "expires_at")) is not None:
            request_pb.expires_at = str(expires)
        return self._send("HyperliquidTransfer", request_pb)

    @never_raises()
    def liquidations(self, start_time: int | None = None, **kwargs: Any) -> Envelope[Any]:
        start = start_time if start_time is not None else kwargs.get("startTime")
        return self._read(runtime_pb2.HYPERLIQUID_READ_KIND_LIQUIDATIONS, **({"start_time_ms": int(start)} if start is not None else {}))

    @never_raises()
    def midpoint_price(self, coin: str | list[str], dex: str = "perp") -> Envelope[Any]:
        """One coin -> {coin, network, priceUsd, timestamp, isStale}; a list -> a list."""
        coins = [coin] if isinstance(coin, str) else list(coin)
        envelope = self._read(runtime_pb2.HYPERLIQUID_READ_KIND_MIDPOINT_PRICE, coins=coins, dex=dex or "perp")
        if envelope.success and not isinstance(coin, str) and not isinstance(envelope.data, list):
            return Envelope(success=True, data=[envelope.data])
        return envelope

    midpointPrice = midpoint_price

    def __repr__(self) -> str:
        return "<platforms.hyperliquid>"


class PolymarketApi(_VenueApi):
    _name = "platforms.polymarket"

    @never_raises()
    def market_order(self, request: Any = None, **kwargs: Any) -> Envelope[Any]:
        """{tokenId, size (BUY: USD to spend, SELL: shares), side: BUY|SELL, expiresAt?} ->
        {success, orderInfo: {orderId, side, size, priceUsd, totalPriceUsd, txHashes}}."""
        fields = _fields(request, kwargs)
        token = _pick(fields, "tokenId", "token_id")
        if token is None:
            raise ValueError("tokenId is required (the outcome token to trade)")
        request_pb = runtime_pb2.PolymarketMarketOrderRequest(
            token_id=str(token), size=_decimal_text(_pick(fields, "size"), "size"), side=_side(fields.get("side")),
        )
        if (expires := _pick(fields, "expiresAt", "expires_at")) is not None:
            request_pb.expires_at = str(expires)
        return self._send("PolymarketMarketOrder", request_pb)

    marketOrder = market_order

    @never_raises()
    def redeem_positions(self, request: Any = None, **kwargs: Any) -> Envelope[Any]:
        """{tokenIds: [...]} (required): redeems resolved positions -> [{success, position, transactionHash}]."""
        fields = _fields(request, kwargs)
        tokens = _pick(fields, "tokenIds", "token_ids", default=[])
        if isinstance(tokens, (str, int)):
            tokens = [tokens]
        return self._send("PolymarketRedeemPositions", runtime_pb2.PolymarketRedeemPositionsRequest(token_ids=[str(t) for t in tokens]))

    redeemPositions = redeem_positions

    @never_raises()
    def positions(self) -> Envelope[Any]:
        """{totalValue, positions: [PolymarketPosition]}"""
        return self._send("PolymarketPositions", runtime_pb2.PolymarketPositionsRequest())

    def __repr__(self) -> str:
        return "<platforms.polymarket>"


class _UnknownVenue(_VenueApi):
    def __repr__(self) -> str:
        return f"<{self._name}: not available on this platform>"


class PlatformsApi:
    """`agent.platforms`: `.hyperliquid` and `.polymarket`; any other venue name gives a
    namespace whose calls all answer "not available"."""

    def __init__(self, call: RuntimeCall) -> None:
        self._call = call
        self.hyperliquid = HyperliquidApi(call)
        self.polymarket = PolymarketApi(call)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        venue = _UnknownVenue(self._call)
        venue._name = f"platforms.{name}"
        return venue
