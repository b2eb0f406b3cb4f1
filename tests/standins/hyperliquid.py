"""A stand-in for the Hyperliquid API, tests only.

An aiohttp server on 127.0.0.1 answering POST /info and POST /exchange in the shapes of the
venue's API documents (hyperliquid-docs, for-developers/api: info-endpoint and its perpetuals
and spot pages, exchange-endpoint, signing, nonces-and-api-wallets). There is no order book:
a marketable order fills in full at the mid the test set, anything else rests until the test
calls fill_resting(oid). `l2Book` is served for paper engines (read-only): the book the
test set with set_book(), or five levels each side around the mid. What it checks as the venue does: signatures (recovered here, not by
Corral's signer, so a wrong hash, key or network recovers another address and is refused with
"User or API Wallet ... does not exist."), API wallets, nonces, tick and lot sizes, the $10
minimum, reduce-only, margin and spot balances.

    with HyperliquidStandIn() as venue:
        venue.fund_perp("0xabc...", "1000")
        requests.post(venue.url + "/exchange", json=signed_body)
        venue.exchange_requests  # every body, refused ones included

Deviations from the venue (deliberate, to stay small):
- No funding, no automatic liquidation; moving a mid fills or triggers nothing.
- One fee rate per market kind, maker or taker: perp 0.045% of notional from the perp
  account; spot 0.07% of the received asset.
- isCross=false leverage is recorded and shown, but margin is accounted as cross. Resting
  perp orders reserve no margin (checked when placed); resting spot orders hold balance.
- Orders refused with a per-order error get no oid and no historicalOrders entry.
- grouping "na" only; vaultAddress is part of the signed hash but vault trading is refused;
  nonces are a set per signer (the venue keeps each signer's 100 highest).
- record_liquidation() only writes the ledger entry; it moves no balance or position.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import msgpack
from aiohttp import web
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

DAY_MS = 86_400_000
PERP_FEE = Decimal("0.00045")
SPOT_FEE = Decimal("0.0007")
MIN_NOTIONAL = Decimal(10)
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
EIP712_DOMAIN = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                 {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]
USER_INFO = ("clearinghouseState", "spotClearinghouseState", "openOrders", "frontendOpenOrders", "userFills",
             "historicalOrders", "orderStatus", "extraAgents", "userNonFundingLedgerUpdates")
L1_ACTIONS = ("order", "cancel", "cancelByCloid", "updateLeverage")
# User-signed actions: EIP-712 over the action's own fields (the SDK's USD_CLASS_TRANSFER_SIGN_TYPES).
USER_SIGNED = {"usdClassTransfer": ("HyperliquidTransaction:UsdClassTransfer", [
    {"name": "hyperliquidChain", "type": "string"}, {"name": "amount", "type": "string"},
    {"name": "toPerp", "type": "bool"}, {"name": "nonce", "type": "uint64"}])}


@dataclass(frozen=True)
class Market:
    asset: int  # the id /exchange takes: the perp's index, or 10000 + the spot pair's index
    coin: str  # the name /info uses: "BTC", "PURR/USDC", "@107"
    sz_decimals: int
    max_leverage: int = 0  # perps only
    base: int | None = None  # spot only: the base token's index (the quote is USDC, token 0)

    @property
    def is_spot(self) -> bool:
        return self.base is not None

    @property
    def px_decimals(self) -> int:  # the venue's rule: MAX_DECIMALS (6 perp, 8 spot) - szDecimals
        return (8 if self.is_spot else 6) - self.sz_decimals


PERPS = [Market(0, "BTC", 5, 40), Market(1, "ETH", 4, 25), Market(2, "SOL", 2, 20)]
TOKENS = {
    0: {"name": "USDC", "szDecimals": 8, "weiDecimals": 8, "index": 0, "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054"},
    1: {"name": "PURR", "szDecimals": 0, "weiDecimals": 5, "index": 1, "tokenId": "0xc1fb593aeffbeb02f85e0308e9956a90"},
    150: {"name": "HYPE", "szDecimals": 2, "weiDecimals": 8, "index": 150, "tokenId": "0x0d01dc56dcaaca66ad901c959b4011ec"},
}
SPOT_PAIRS = [{"name": "PURR/USDC", "tokens": [1, 0], "index": 0, "isCanonical": True},
              {"name": "@107", "tokens": [150, 0], "index": 107, "isCanonical": False}]
SPOTS = [Market(10000 + p["index"], p["name"], TOKENS[p["tokens"][0]]["szDecimals"], base=p["tokens"][0]) for p in SPOT_PAIRS]
MARKETS = {m.asset: m for m in PERPS + SPOTS}
COIN_ALIASES = {"HYPE/USDC": "@107"}  # the UI's name for a non-canonical pair -> its universe name
DEFAULT_MIDS = {"BTC": "60000", "ETH": "3000", "SOL": "150", "PURR/USDC": "0.2", "@107": "25"}


class Refused(Exception):
    """An action the venue answers with {"status": "err", "response": message}."""


class Unprocessable(Exception):
    """A body the venue cannot deserialize: HTTP 422."""


def _now() -> int:
    return int(time.time() * 1000)


def _dec(value) -> Decimal:
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise Unprocessable(f"not a decimal: {value!r}") from None
    if not out.is_finite():
        raise Unprocessable(f"not a finite decimal: {value!r}")
    return out


def _s(x: Decimal) -> str:
    """A decimal string as the venue writes numbers: no trailing zeros, integers as "60000.0"."""
    text = f"{(x + 0).normalize():f}"  # + 0 turns -0 into 0
    return text if "." in text else text + ".0"


def _q(x: Decimal, decimals: int) -> Decimal:
    return x.quantize(Decimal(1).scaleb(-decimals))


def _usd(x: Decimal) -> Decimal:  # perp USDC has 6 decimals
    return _q(x, 6)


def _decimals(x: Decimal) -> int:
    return max(0, -x.normalize().as_tuple().exponent)


def _valid_px(px: Decimal, m: Market) -> bool:
    # At most 5 significant figures (integers always pass) and at most px_decimals decimals.
    if px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    return len(px.normalize().as_tuple().digits) <= 5 and _decimals(px) <= m.px_decimals


def _address(value) -> str:
    if not (isinstance(value, str) and len(value) == 42 and value[:2].lower() == "0x"):
        raise Unprocessable(f"not an address: {value!r}")
    int(value[2:], 16)
    return value.lower()


@dataclass
class Order:
    oid: int
    user: str
    market: Market
    is_buy: bool
    limit_px: Decimal
    sz: Decimal  # what is left to fill
    orig_sz: Decimal
    reduce_only: bool
    tif: str | None  # None for trigger orders
    trigger: dict | None  # {"isMarket", "triggerPx", "tpsl"} as sent
    cloid: str | None
    timestamp: int
    status: str = "open"
    status_ts: int = 0
    hold: tuple[int, Decimal] | None = None  # spot: (token, amount) held while resting

    def frontend(self) -> dict:
        trig = self.trigger
        if trig is None:
            order_type, condition = "Limit", "N/A"
        else:
            order_type = ("Take Profit" if trig["tpsl"] == "tp" else "Stop") + (" Market" if trig["isMarket"] else " Limit")
            # A take-profit sell and a stop buy wait for the price to rise; the other two for it to fall.
            above = (trig["tpsl"] == "tp") != self.is_buy
            condition = f"Price {'above' if above else 'below'} {trig['triggerPx']}"
        return {"coin": self.market.coin, "side": "B" if self.is_buy else "A", "limitPx": _s(self.limit_px), "sz": _s(self.sz),
                "oid": self.oid, "timestamp": self.timestamp, "triggerCondition": condition, "isTrigger": trig is not None,
                "triggerPx": _s(_dec(trig["triggerPx"])) if trig else "0.0", "children": [], "isPositionTpsl": False,
                "reduceOnly": self.reduce_only, "orderType": order_type, "origSz": _s(self.orig_sz), "tif": self.tif,
                "cloid": self.cloid}

    def historical(self) -> dict:
        return {"order": self.frontend(), "status": self.status, "statusTimestamp": self.status_ts}


@dataclass
class Position:
    szi: Decimal = Decimal(0)  # signed size: > 0 long, < 0 short
    entry_px: Decimal = Decimal(0)


@dataclass
class UserAccount:
    perp_usd: Decimal = Decimal(0)  # deposits + realized pnl - fees; unrealized pnl comes from the mids
    spot: dict[int, Decimal] = field(default_factory=dict)  # token index -> total
    hold: dict[int, Decimal] = field(default_factory=dict)  # token index -> held by resting spot orders
    entry_ntl: dict[int, Decimal] = field(default_factory=dict)  # token index -> USDC paid for what is held
    positions: dict[int, Position] = field(default_factory=dict)
    leverage: dict[int, tuple[int, bool]] = field(default_factory=dict)  # asset -> (leverage, is_cross)
    fills: list[dict] = field(default_factory=list)
    ledger: list[dict] = field(default_factory=list)

    def available(self, token: int) -> Decimal:
        return self.spot.get(token, Decimal(0)) - self.hold.get(token, Decimal(0))

    def move(self, token: int, amount: Decimal) -> None:
        self.spot[token] = _q(self.spot.get(token, Decimal(0)) + amount, TOKENS[token]["weiDecimals"])

    def leverage_of(self, m: Market) -> tuple[int, bool]:
        return self.leverage.get(m.asset, (min(20, m.max_leverage), True))


class HyperliquidStandIn:
    """The server plus its state. Test hooks (set_mid, fund_perp, fund_spot, approve_agent,
    record_liquidation, fill_resting) are plain thread-safe calls; addresses are kept lowercase."""

    def __init__(self, mainnet: bool = True):
        self.mainnet = mainnet
        self.url = ""
        self.exchange_requests: list[dict] = []
        self.info_requests: list[dict] = []
        # The server thread and the test thread both touch the state below: every access holds the lock.
        self._lock = threading.RLock()
        self._mids = {coin: Decimal(px) for coin, px in DEFAULT_MIDS.items()}
        self._books: dict[str, tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]] = {}
        self._accounts: dict[str, UserAccount] = {}
        self._agents: dict[str, tuple[str, str, int]] = {}  # agent -> (master, name, validUntil)
        self._nonces: dict[str, set[int]] = {}  # signer -> nonces it has used
        self._orders: dict[int, Order] = {}
        self._next_oid = 1000
        self._next_tid = 1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle: an aiohttp app on its own event loop in a background thread ---

    def start(self) -> HyperliquidStandIn:
        started, failure = threading.Event(), []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            app = web.Application()
            app.router.add_post("/info", functools.partial(self._serve, log=self.info_requests, handle=self._info))
            app.router.add_post("/exchange", functools.partial(self._serve, log=self.exchange_requests, handle=self._exchange))
            runner = web.AppRunner(app, access_log=None)
            try:
                loop.run_until_complete(runner.setup())
                loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())  # port 0: the OS picks a free one
                self.url, self._loop = f"http://127.0.0.1:{runner.addresses[0][1]}", loop
            except Exception as exc:
                failure.append(exc)
            started.set()
            if self._loop is loop:
                loop.run_forever()  # until stop()
                loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="hyperliquid-standin", daemon=True)
        self._thread.start()
        if not started.wait(10) or failure:
            raise RuntimeError(f"the Hyperliquid stand-in did not start: {failure}")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> HyperliquidStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- test hooks ---

    def set_mid(self, coin: str, price) -> None:
        coin = COIN_ALIASES.get(coin, coin)
        with self._lock:
            if coin not in self._mids:
                raise KeyError(f"unknown coin {coin!r}; the stand-in lists {sorted(self._mids)}")
            self._mids[coin] = _dec(price)

    def set_book(self, coin: str, bids: list[tuple], asks: list[tuple]) -> None:
        """The L2 book `l2Book` serves for `coin`: (price, size) levels, best first."""
        coin = COIN_ALIASES.get(coin, coin)
        with self._lock:
            self._books[coin] = ([(_dec(px), _dec(sz)) for px, sz in bids], [(_dec(px), _dec(sz)) for px, sz in asks])

    def _l2_book(self, coin: str) -> dict:
        if coin not in self._mids:
            return None  # the venue answers null for a coin it does not list
        bids, asks = self._books.get(coin) or _default_book(self._mids[coin])
        level = lambda px, sz: {"px": _s(px), "sz": _s(sz), "n": 1}  # noqa: E731
        return {"coin": coin, "time": _now(), "levels": [[level(*b) for b in bids], [level(*a) for a in asks]]}

    def fund_perp(self, user: str, usd) -> None:
        with self._lock:
            acct = self._account(user)
            acct.perp_usd = _usd(acct.perp_usd + _dec(usd))

    def fund_spot(self, user: str, coin: str, amount) -> None:
        token = next((i for i, t in TOKENS.items() if t["name"] == coin), None)
        if token is None:
            raise KeyError(f"unknown spot token {coin!r}")
        with self._lock:
            self._account(user).move(token, _dec(amount))

    def approve_agent(self, master: str, agent: str, name: str = "corral") -> None:
        """What a master's approveAgent action would do: the agent may sign L1 actions for it."""
        with self._lock:
            self._account(master)  # only an existing account can approve an agent
            self._agents[agent.lower()] = (master.lower(), name, _now() + 180 * DAY_MS)

    def record_liquidation(self, user: str, coin: str, szi: str, notional: str, account_value: str) -> None:
        with self._lock:
            now = _now()
            self._account(user).ledger.append({"time": now, "hash": self._hash("liquidation", user, now), "delta": {
                "type": "liquidation", "liquidatedNtlPos": _s(_dec(notional)), "accountValue": _s(_dec(account_value)),
                "leverageType": "Cross", "liquidatedPositions": [{"coin": coin, "szi": _s(_dec(szi))}]}})

    def fill_resting(self, oid: int) -> None:
        """Fill an open limit order at its limit price, or a trigger order at its trigger price
        (market) or limit price (limit), as if the book had come to it."""
        with self._lock:
            order = self._orders.get(oid)
            if order is None or order.status != "open":
                raise ValueError(f"order {oid} is not open")
            self._release_hold(order)
            trig = order.trigger
            px = _dec(trig["triggerPx"]) if trig and trig["isMarket"] else order.limit_px
            if order.reduce_only and not order.market.is_spot and self._increases(order.user, order.market, order.is_buy, order.sz):
                order.status, order.status_ts = "reduceOnlyCanceled", _now()
                return
            self._fill(order, px, crossed=trig is not None)  # a triggered order takes liquidity; a limit one made it

    # --- HTTP ---

    async def _serve(self, request: web.Request, log: list, handle) -> web.Response:
        try:
            body = json.loads(await request.text())  # key order kept: the L1 hash depends on it
        except ValueError:
            return web.Response(status=422, text="Failed to deserialize the JSON body into the target type")
        if not isinstance(body, dict):
            return web.Response(status=422, text="Failed to deserialize the JSON body: expected an object")
        with self._lock:
            log.append(body)
            try:
                return web.json_response(handle(body))
            except Refused as exc:
                return web.json_response({"status": "err", "response": str(exc)})
            except (Unprocessable, KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
                return web.Response(status=422, text=f"Failed to deserialize the JSON body into the target type: {exc!r}")

    # --- /info ---

    def _info(self, body: dict):
        kind = body.get("type")
        if kind == "meta":
            return {"universe": [{"name": m.coin, "szDecimals": m.sz_decimals, "maxLeverage": m.max_leverage} for m in PERPS]}
        if kind == "spotMeta":
            return {"universe": SPOT_PAIRS, "tokens": [{**t, "isCanonical": True, "evmContract": None, "fullName": None}
                                                       for t in TOKENS.values()]}
        if kind == "allMids":
            return {coin: _s(px) for coin, px in self._mids.items()}
        if kind == "l2Book":
            return self._l2_book(str(body.get("coin")))
        if kind not in USER_INFO:
            raise Unprocessable(f"unknown info type {kind!r} (this stand-in serves meta, spotMeta, allMids, l2Book, {', '.join(USER_INFO)})")
        user = _address(body.get("user"))
        acct = self._accounts.get(user) or UserAccount()  # an unknown user reads as an empty account, as on the venue
        orders = sorted((o for o in self._orders.values() if o.user == user), key=lambda o: o.oid, reverse=True)  # newest first
        if kind == "clearinghouseState":
            return self._clearinghouse_state(acct)
        if kind == "spotClearinghouseState":
            return {"balances": [{"coin": TOKENS[t]["name"], "token": t, "total": _s(total), "hold": _s(acct.hold.get(t, Decimal(0))),
                                  "entryNtl": _s(_q(acct.entry_ntl.get(t, Decimal(0)), 8))} for t, total in sorted(acct.spot.items())]}
        if kind == "frontendOpenOrders":
            return [o.frontend() for o in orders if o.status == "open"]
        if kind == "openOrders":  # the plain subset of the frontend fields
            keys = ("coin", "side", "limitPx", "sz", "oid", "timestamp", "origSz", "cloid")
            return [{k: o.frontend()[k] for k in keys} for o in orders if o.status == "open"]
        if kind == "userFills":
            return acct.fills[::-1]  # newest first
        if kind == "historicalOrders":
            return [o.historical() for o in orders]
        if kind == "orderStatus":
            oid = body.get("oid")  # an oid, or a cloid string
            found = [o for o in orders if o.oid == oid or (isinstance(oid, str) and o.cloid == oid.lower())]
            return {"status": "order", "order": found[0].historical()} if found else {"status": "unknownOid"}
        if kind == "extraAgents":
            return [{"name": name, "address": agent, "validUntil": until}
                    for agent, (master, name, until) in self._agents.items() if master == user]
        start, end = int(body["startTime"]), int(body.get("endTime") or _now())  # userNonFundingLedgerUpdates
        return [u for u in acct.ledger if start <= u["time"] <= end]

    def _clearinghouse_state(self, acct: UserAccount) -> dict:
        rows, ntl, raw, margin, maintenance, upnl = [], Decimal(0), acct.perp_usd, Decimal(0), {}, Decimal(0)
        for asset, pos in sorted(acct.positions.items()):
            m, mark = MARKETS[asset], self._mids[MARKETS[asset].coin]
            lev, cross = acct.leverage_of(m)
            value, pnl = abs(pos.szi) * mark, pos.szi * (mark - pos.entry_px)
            used = value / lev
            ntl, raw, margin, upnl = ntl + value, raw - pos.szi * pos.entry_px, margin + used, upnl + pnl
            # Maintenance margin is half the initial margin at the market's maximum leverage.
            maintenance[asset] = value / (2 * m.max_leverage)
            leverage = {"type": "cross", "value": lev} if cross else {
                "type": "isolated", "value": lev, "rawUsd": _s(_usd(used - pos.szi * pos.entry_px))}
            rows.append((asset, pos, {"coin": m.coin, "szi": _s(pos.szi), "leverage": leverage, "entryPx": _s(_q(pos.entry_px, 8)),
                                      "positionValue": _s(_usd(value)), "unrealizedPnl": _s(_usd(pnl)),
                                      "returnOnEquity": _s(_q(pnl / (abs(pos.szi) * pos.entry_px / lev), 8)),
                                      "marginUsed": _s(_usd(used)), "maxLeverage": m.max_leverage,
                                      "cumFunding": {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"}}))
        account_value = acct.perp_usd + upnl
        total_mm = sum(maintenance.values(), Decimal(0))
        positions = []
        for asset, pos, row in rows:
            # Cross liquidation: the mark P at which accountValue + szi*(P - mark) meets the maintenance
            # margin (this position's |szi|*P/(2*maxLeverage) plus the others'), the others' mids fixed.
            mark, r = self._mids[MARKETS[asset].coin], Decimal(1) / (2 * MARKETS[asset].max_leverage)
            px = (pos.szi * mark + total_mm - maintenance[asset] - account_value) / (pos.szi - abs(pos.szi) * r)
            row["liquidationPx"] = _s(_q(px, 6)) if px > 0 else None
            positions.append({"type": "oneWay", "position": row})
        summary = {"accountValue": _s(_usd(account_value)), "totalNtlPos": _s(_usd(ntl)), "totalRawUsd": _s(_usd(raw)),
                   "totalMarginUsed": _s(_usd(margin))}
        return {"marginSummary": summary, "crossMarginSummary": dict(summary), "crossMaintenanceMarginUsed": _s(_usd(total_mm)),
                "withdrawable": _s(_usd(max(Decimal(0), account_value - margin))), "assetPositions": positions, "time": _now()}

    # --- /exchange ---

    def _exchange(self, body: dict) -> dict:
        action, nonce, signature = body["action"], body["nonce"], body["signature"]
        vault, expires = body.get("vaultAddress"), body.get("expiresAfter")
        if not isinstance(nonce, int) or not isinstance(action, dict):
            raise Unprocessable("nonce must be an integer and action an object")
        kind = action.get("type")
        if kind not in L1_ACTIONS and kind not in USER_SIGNED:
            raise Refused(f"unsupported action {kind!r}: this stand-in for the Hyperliquid API implements only "
                          f"{', '.join((*L1_ACTIONS, *USER_SIGNED))}")
        signer = self._recover(action, nonce, vault, expires, signature)
        if kind in USER_SIGNED:
            if signer in self._agents:  # the venue takes user-signed actions from the account's own key only
                raise Refused(f"API Wallet {signer} cannot sign {kind}: user-signed actions must be signed by the user")
            user = signer
        else:
            user = self._agents.get(signer, (signer,))[0]
        if user not in self._accounts:
            raise Refused(f"User or API Wallet {signer} does not exist.")
        self._use_nonce(signer, nonce)
        if expires is not None and expires < _now():
            raise Refused(f"Action expired: expiresAfter {expires} is in the past")
        if vault is not None:
            raise Refused("vault trading (vaultAddress) is not supported by this stand-in")
        if kind == "usdClassTransfer":
            return self._act_class_transfer(user, action, nonce)
        act = {"order": self._act_order, "cancel": self._act_cancel, "cancelByCloid": self._act_cancel,
               "updateLeverage": self._act_leverage}[kind]
        return act(user, action)

    def _recover(self, action: dict, nonce: int, vault: str | None, expires: int | None, signature: dict) -> str:
        if action["type"] in USER_SIGNED:
            primary, fields = USER_SIGNED[action["type"]]
            typed = {"domain": {"name": "HyperliquidSignTransaction", "version": "1", "chainId": int(action["signatureChainId"], 16),
                                "verifyingContract": ZERO_ADDRESS},
                     "types": {primary: fields, "EIP712Domain": EIP712_DOMAIN}, "primaryType": primary,
                     "message": {f["name"]: action[f["name"]] for f in fields}}
        else:
            # The phantom agent of hyperliquid-python-sdk's sign_l1_action: the action is not signed
            # itself, a hash of it (with nonce, vault and expiry) is, under chainId 1337.
            data = msgpack.packb(action) + nonce.to_bytes(8, "big")
            data += b"\x00" if vault is None else b"\x01" + bytes.fromhex(vault[2:])
            if expires is not None:
                data += b"\x00" + expires.to_bytes(8, "big")
            typed = {"domain": {"chainId": 1337, "name": "Exchange", "verifyingContract": ZERO_ADDRESS, "version": "1"},
                     "types": {"Agent": [{"name": "source", "type": "string"}, {"name": "connectionId", "type": "bytes32"}],
                               "EIP712Domain": EIP712_DOMAIN},
                     "primaryType": "Agent", "message": {"source": "a" if self.mainnet else "b", "connectionId": keccak(data)}}
        vrs = (signature["v"], int(signature["r"], 16), int(signature["s"], 16))
        try:
            return Account.recover_message(encode_typed_data(full_message=typed), vrs=vrs).lower()
        except Exception as exc:  # eth-account raises several types for an unrecoverable signature
            raise Refused(f"Invalid signature: {exc}") from None

    def _use_nonce(self, signer: str, nonce: int) -> None:
        now, used = _now(), self._nonces.setdefault(signer, set())
        if nonce in used:
            raise Refused(f"Invalid nonce: duplicate nonce {nonce} for {signer}")
        if not now - 2 * DAY_MS < nonce < now + DAY_MS:
            raise Refused(f"Invalid nonce: {nonce} is not within (now - 2 days, now + 1 day) of {now}")
        used.add(nonce)

    def _act_order(self, user: str, action: dict) -> dict:
        if action.get("grouping", "na") != "na":
            raise Refused(f"grouping {action['grouping']!r} is not supported by this stand-in (only \"na\")")
        statuses = [self._place(user, wire) for wire in action["orders"]]
        return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}

    def _place(self, user: str, w: dict) -> dict:
        m = MARKETS.get(w["a"])
        if m is None:
            return {"error": f"Unknown asset {w['a']}."}
        is_buy, px, sz, reduce_only, t = bool(w["b"]), _dec(w["p"]), _dec(w["s"]), bool(w["r"]), w["t"]
        trigger, tif = t.get("trigger"), t["limit"]["tif"] if "limit" in t else None
        if trigger is None and tif not in ("Gtc", "Ioc", "Alo"):
            raise Unprocessable(f"unknown order type {t!r}")
        if not _valid_px(px, m) or (trigger is not None and not _valid_px(_dec(trigger["triggerPx"]), m)):
            return {"error": "Order has invalid price."}
        if sz <= 0 or _decimals(sz) > m.sz_decimals:
            return {"error": "Order has invalid size."}
        if px * sz < MIN_NOTIONAL:
            return {"error": "Order must have minimum value of $10."}
        mid = self._mids[m.coin]
        marketable = trigger is None and (px >= mid if is_buy else px <= mid)
        if tif == "Ioc" and not marketable:
            return {"error": f"Order could not immediately match against any resting orders. asset={m.asset}"}
        if tif == "Alo" and marketable:
            return {"error": f"Post only order would have immediately matched, bbo was {_s(mid)}. asset={m.asset}"}
        acct = self._accounts[user]
        fill_px = mid if marketable else (_dec(trigger["triggerPx"]) if trigger and trigger["isMarket"] else px)
        if m.is_spot:
            token, need = (0, sz * fill_px) if is_buy else (m.base, sz)
            if acct.available(token) < need:
                return {"error": f"Insufficient spot balance asset={m.asset}"}
        else:
            if reduce_only and self._increases(user, m, is_buy, sz):
                return {"error": f"Reduce only order would increase position. asset={m.asset}"}
            pos = acct.positions.get(m.asset, Position())
            opening = sz if pos.szi == 0 or (pos.szi > 0) == is_buy else max(Decimal(0), sz - abs(pos.szi))
            withdrawable = Decimal(self._clearinghouse_state(acct)["withdrawable"])
            if opening * fill_px / acct.leverage_of(m)[0] > withdrawable:
                return {"error": f"Insufficient margin to place order. asset={m.asset}"}
        now, cloid = _now(), w.get("c")
        order = Order(self._next_oid, user, m, is_buy, px, sz, sz, reduce_only, tif, trigger, cloid.lower() if cloid else None,
                      now, status_ts=now)
        self._next_oid += 1
        self._orders[order.oid] = order
        ids = {"oid": order.oid, **({"cloid": order.cloid} if order.cloid else {})}
        if marketable:
            self._fill(order, mid, crossed=True)
            return {"filled": {"totalSz": _s(sz), "avgPx": _s(mid), **ids}}
        if m.is_spot:  # a resting spot order holds what it would spend
            order.hold = (token, need)
            acct.hold[token] = acct.hold.get(token, Decimal(0)) + need
        return {"resting": ids}

    def _increases(self, user: str, m: Market, is_buy: bool, sz: Decimal) -> bool:
        """Whether a reduce-only perp order would open, grow or flip the position."""
        szi = self._accounts[user].positions.get(m.asset, Position()).szi
        return szi == 0 or (szi > 0) == is_buy or sz > abs(szi)

    def _release_hold(self, order: Order) -> None:
        if order.hold is not None:
            self._accounts[order.user].hold[order.hold[0]] -= order.hold[1]
            order.hold = None

    def _fill(self, order: Order, px: Decimal, crossed: bool) -> None:
        acct, m, sz = self._accounts[order.user], order.market, order.sz
        # startPosition: the base token's balance (spot) or the signed position size (perp) before the fill.
        start = acct.spot.get(m.base, Decimal(0)) if m.is_spot else acct.positions.get(m.asset, Position()).szi
        fill = self._spot_fill if m.is_spot else self._perp_fill
        fee, fee_token, closed, direction = fill(acct, m, order.is_buy, sz, px)
        now, tid = _now(), self._next_tid
        self._next_tid += 1
        acct.fills.append({"coin": m.coin, "px": _s(px), "sz": _s(sz), "side": "B" if order.is_buy else "A", "time": now,
                           "startPosition": _s(start), "dir": direction, "closedPnl": _s(_usd(closed)),
                           "hash": self._hash("fill", order.oid, tid), "oid": order.oid, "crossed": crossed, "fee": _s(fee),
                           "tid": tid, "feeToken": fee_token})
        order.sz, order.status, order.status_ts = Decimal(0), "filled", now

    def _perp_fill(self, acct: UserAccount, m: Market, is_buy: bool, sz: Decimal, px: Decimal) -> tuple[Decimal, str, Decimal, str]:
        pos = acct.positions.setdefault(m.asset, Position())
        start, delta, closed = pos.szi, sz if is_buy else -sz, Decimal(0)
        if start == 0 or (start > 0) == is_buy:  # opening or adding: the entry is the size-weighted average
            pos.entry_px = (abs(start) * pos.entry_px + sz * px) / (abs(start) + sz)
        else:  # reducing: the closed part realizes pnl against the entry; a flip opens the rest at px
            closed = min(sz, abs(start)) * (px - pos.entry_px) * (1 if start > 0 else -1)
            if sz > abs(start):
                pos.entry_px = px
        pos.szi = start + delta
        if pos.szi == 0:
            del acct.positions[m.asset]
        fee = _usd(sz * px * PERP_FEE)
        acct.perp_usd = _usd(acct.perp_usd + closed - fee)
        return fee, "USDC", closed, _direction(start, pos.szi)

    def _spot_fill(self, acct: UserAccount, m: Market, is_buy: bool, sz: Decimal, px: Decimal) -> tuple[Decimal, str, Decimal, str]:
        notional, base = sz * px, m.base
        if is_buy:  # the fee is taken from what is received: the base token on a buy, USDC on a sell
            fee = _q(sz * SPOT_FEE, TOKENS[base]["weiDecimals"])
            acct.move(0, -notional)
            acct.move(base, sz - fee)
            acct.entry_ntl[base] = acct.entry_ntl.get(base, Decimal(0)) + notional
            return fee, TOKENS[base]["name"], Decimal(0), "Buy"
        held = acct.spot.get(base, Decimal(0))
        fee = _q(notional * SPOT_FEE, TOKENS[0]["weiDecimals"])
        acct.entry_ntl[base] = acct.entry_ntl.get(base, Decimal(0)) * (held - sz) / held  # the cost of what is left
        acct.move(base, -sz)
        acct.move(0, notional - fee)
        return fee, "USDC", Decimal(0), "Sell"

    def _act_cancel(self, user: str, action: dict) -> dict:
        statuses = []
        for c in action["cancels"]:
            if action["type"] == "cancel":
                asset, match = c["a"], (lambda o, c=c: o.oid == c["o"])
            else:
                asset, match = c["asset"], (lambda o, c=c: o.cloid is not None and o.cloid == str(c["cloid"]).lower())
            order = next((o for o in self._orders.values()
                          if o.user == user and o.market.asset == asset and o.status == "open" and match(o)), None)
            if order is None:
                statuses.append({"error": f"Order was never placed, already canceled, or filled. asset={asset}"})
                continue
            self._release_hold(order)
            order.status, order.status_ts = "canceled", _now()
            statuses.append("success")
        return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}

    def _act_leverage(self, user: str, action: dict) -> dict:
        m, leverage = MARKETS.get(action["asset"]), action["leverage"]
        if m is None or m.is_spot:
            raise Refused(f"Invalid asset {action['asset']} for updateLeverage")
        if not isinstance(leverage, int) or not 1 <= leverage <= m.max_leverage:
            raise Refused(f"Invalid leverage value: {leverage} (max {m.max_leverage} for {m.coin})")
        self._accounts[user].leverage[m.asset] = (leverage, bool(action["isCross"]))
        return {"status": "ok", "response": {"type": "default"}}

    def _act_class_transfer(self, user: str, action: dict, nonce: int) -> dict:
        if action["nonce"] != nonce:
            raise Refused(f"Invalid nonce: the action's nonce {action['nonce']} is not the request's {nonce}")
        if action["hyperliquidChain"] != ("Mainnet" if self.mainnet else "Testnet"):
            raise Refused(f"Invalid hyperliquidChain {action['hyperliquidChain']!r}")
        amount = _dec(action["amount"])
        if amount <= 0 or _decimals(amount) > 6:
            raise Refused(f"Invalid amount {action['amount']!r}")
        acct = self._accounts[user]
        if action["toPerp"]:
            if acct.available(0) < amount:
                raise Refused("Insufficient balance for usd class transfer: spot USDC is below the amount")
            acct.move(0, -amount)
            acct.perp_usd += amount
        else:
            if Decimal(self._clearinghouse_state(acct)["withdrawable"]) < amount:
                raise Refused("Insufficient balance for usd class transfer: perp withdrawable is below the amount")
            acct.perp_usd -= amount
            acct.move(0, amount)
        return {"status": "ok", "response": {"type": "default"}}

    # --- helpers ---

    def _account(self, user: str) -> UserAccount:
        return self._accounts.setdefault(_address(user), UserAccount())

    @staticmethod
    def _hash(*parts) -> str:  # a transaction hash: deterministic, unique enough for a test
        return "0x" + keccak(repr(parts).encode()).hex()


def _default_book(mid: Decimal) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """Five levels each side, a basis point apart, about $100,000 each."""
    step = mid / 10_000
    size = (Decimal(100_000) / mid).quantize(Decimal(1)) or Decimal(1)
    ticks = lambda px: px.quantize(Decimal(1).scaleb(px.adjusted() - 4))  # noqa: E731 — 5 significant figures
    return ([(ticks(mid - step * k), size) for k in range(1, 6)], [(ticks(mid + step * k), size) for k in range(1, 6)])


def _direction(start: Decimal, end: Decimal) -> str:
    """A perp fill's "dir", from the signed position size before and after it."""
    if start * end < 0:
        return "Long > Short" if start > 0 else "Short > Long"
    return ("Open " if abs(end) > abs(start) else "Close ") + ("Long" if start > 0 or end > 0 else "Short")
