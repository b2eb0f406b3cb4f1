"""A stand-in for Polymarket's CLOB and data APIs, for tests only.

It serves, on one local port, the parts of https://docs.polymarket.com that the platform
uses, in the wire formats of the CLOB and of py-clob-client / py-order-utils:

- CLOB market data: GET /book, /tick-size, /neg-risk, /fee-rate (by `token_id`).
- L1 authentication (GET /auth/derive-api-key, POST /auth/api-key): an EIP-712 `ClobAuth`
  signature in the POLY_ADDRESS / POLY_SIGNATURE / POLY_TIMESTAMP / POLY_NONCE headers.
- L2 authentication (POST /order): POLY_ADDRESS, POLY_SIGNATURE, POLY_TIMESTAMP,
  POLY_API_KEY, POLY_PASSPHRASE, where the signature is
  urlsafe_b64(HMAC-SHA256(urlsafe_b64decode(secret), timestamp + method + path + body)).
  The body part is the request body exactly as received: py-clob-client signs the string it
  sends (compact json.dumps in current releases; in old ones `str(dict)` with ' swapped for ",
  which equals the `json.dumps` that `requests` then sent), the TypeScript client JSON.stringify.
- POST /order: a signed CTF Exchange order (its EIP-712 signature is checked) matched against
  the book the test set. Matching does NOT settle on chain (on the real venue the operator then
  calls the exchange contract): the stand-in keeps an off-chain record of matched shares, and
  the "transactionsHashes" it answers are synthetic.
- Data API GET /positions: the user's ERC-1155 balances on the ConditionalTokens contract (read
  over web3, so splits, transfers and redemptions show at once) plus the off-chain matches.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal, localcontext
from functools import partial

from aiohttp import web
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from web3 import Web3

from devtools import contracts
from signer.polymarket import BUY, SELL, PolymarketOrder

UNIT = 10**6  # USDC and outcome shares both have 6 decimals
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
ORDER_TYPES = ("FOK", "FAK", "GTC", "GTD")

# py-clob-client's signing/eip712.py and signing/model.py: written out here rather than taken
# from signer/polymarket.py, so a mistake there is caught by this independent copy.
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"
CLOB_AUTH_TYPES = {
    "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}, {"name": "chainId", "type": "uint256"}],
    "ClobAuth": [{"name": "address", "type": "address"}, {"name": "timestamp", "type": "string"},
                 {"name": "nonce", "type": "uint256"}, {"name": "message", "type": "string"}],
}

# The ConditionalTokens functions the data API reads (same ABI as the deployed contract).
_CTF_ABI = [
    {"type": "function", "name": "balanceOfBatch", "stateMutability": "view",
     "inputs": [{"name": "owners", "type": "address[]"}, {"name": "ids", "type": "uint256[]"}],
     "outputs": [{"name": "", "type": "uint256[]"}]},
    {"type": "function", "name": "payoutDenominator", "stateMutability": "view",
     "inputs": [{"name": "", "type": "bytes32"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "payoutNumerators", "stateMutability": "view",
     "inputs": [{"name": "", "type": "bytes32"}, {"name": "", "type": "uint256"}], "outputs": [{"name": "", "type": "uint256"}]},
]


@dataclass
class Market:
    """One binary market. `token_ids`: the CTF position ids of outcome 0 and 1 (on the deployed
    ConditionalTokens: getPositionId(collateral, getCollectionId(0, conditionId, 1 << i)))."""

    condition_id: str
    question_id: str
    question: str
    token_ids: tuple[int, int]
    outcomes: tuple[str, str] = ("Yes", "No")
    tick_size: str = "0.01"
    neg_risk: bool = False
    end_date: str = "2026-12-31T00:00:00Z"
    slug: str = ""
    event_slug: str = ""
    icon: str = ""
    min_order_size: str = "5"


@dataclass
class _Holding:
    """The stand-in's off-chain record of one (user, token): base units of shares and USDC."""

    shares: int = 0  # matched shares; negative after selling shares held on chain
    bought: int = 0  # shares bought here, and the USDC paid for them (the average price)
    cost: int = 0
    realized: int = 0  # USDC gained or lost by sales against that average price


class _Refused(Exception):
    def __init__(self, status: int, body: dict) -> None:
        super().__init__(body)
        self.status, self.body = status, body


def _error(status: int, message: str) -> _Refused:
    return _Refused(status, {"error": message})


def _order_error(message: str) -> _Refused:
    # The CLOB's refusal of an order; "error" too, for clients that read only that key.
    return _Refused(400, {"success": False, "errorMsg": message, "error": message})


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _human(base_units: Decimal | int) -> str:
    """Base units as the CLOB prints amounts: a decimal string of whole tokens."""
    return _text((Decimal(base_units) / UNIT).quantize(Decimal("0.000001")))


class PolymarketStandIn:
    def __init__(self, web3_url: str, chain_id: int, exchange_address: str, ctf_address: str, collateral_address: str,
                 fee_rate_bps: int = 0, neg_risk_exchange_address: str | None = None) -> None:
        self.chain_id = chain_id
        self.exchange_address = Web3.to_checksum_address(exchange_address)
        self.neg_risk_exchange_address = neg_risk_exchange_address and Web3.to_checksum_address(neg_risk_exchange_address)
        self.collateral_address = Web3.to_checksum_address(collateral_address)
        self.fee_rate_bps = fee_rate_bps
        self.web3 = Web3(Web3.HTTPProvider(web3_url))
        self.ctf = self.web3.eth.contract(address=Web3.to_checksum_address(ctf_address), abi=_CTF_ABI)
        self.url = ""
        self.orders: list[dict] = []  # every accepted POST /order body
        self.order_requests: list = []  # every POST /order body as received (parsed JSON, else the text)
        self._markets: dict[int, tuple[Market, int]] = {}  # token id -> (market, outcome index)
        # Price levels best first: bids by descending price, asks by ascending price.
        self._books: dict[int, tuple[list[list[Decimal]], list[list[Decimal]]]] = {}
        self._holdings: dict[tuple[str, int], _Holding] = {}
        self._api_keys: dict[str, tuple[str, str, str]] = {}  # apiKey -> (address, secret, passphrase)
        self._order_hashes: set[str] = set()
        self._last_trade: dict[int, Decimal] = {}
        self._lock = threading.Lock()  # the test's thread and the server's share the state above
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- set-up by the test ----------------------------------------------------------

    def add_market(self, market: Market) -> None:
        with self._lock:
            for index, token_id in enumerate(market.token_ids):
                self._markets[int(token_id)] = (market, index)

    def set_book(self, token_id: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
        """Replaces the book of `token_id` with (price, size) levels, sizes in shares."""
        def levels(pairs, best_first_descending):
            parsed = [[Decimal(price), Decimal(size)] for price, size in pairs]
            return sorted(parsed, key=lambda level: level[0], reverse=best_first_descending)

        with self._lock:
            self._books[int(token_id)] = (levels(bids, True), levels(asks, False))

    def revoke_api_keys(self) -> None:
        """Forgets every API key, as the CLOB's DELETE /auth/api-key does for its owner: L2
        requests with them are 401 until the client authenticates again."""
        with self._lock:
            self._api_keys.clear()

    # -- lifecycle: an aiohttp app on its own event loop in a background thread ------

    def start(self) -> "PolymarketStandIn":
        started = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._runner = web.AppRunner(self._app())
                self._loop.run_until_complete(self._runner.setup())
                self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", 0).start())
                host, port = self._runner.addresses[0][:2]
                self.url = f"http://{host}:{port}"
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                return
            finally:
                started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="polymarket-standin", daemon=True)
        self._thread.start()
        started.wait(30)
        if failure or not self.url:
            raise RuntimeError(f"the Polymarket stand-in did not start: {failure}")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> "PolymarketStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[_refusals])
        app.router.add_get("/book", self._book)
        app.router.add_get("/tick-size", partial(self._market_field, answer=lambda m: {"minimum_tick_size": float(m.tick_size)}))
        app.router.add_get("/neg-risk", partial(self._market_field, answer=lambda m: {"neg_risk": m.neg_risk}))
        app.router.add_get("/fee-rate", partial(self._market_field, answer=lambda m: {"base_fee": self.fee_rate_bps}))
        app.router.add_get("/auth/derive-api-key", self._api_key)
        app.router.add_post("/auth/api-key", self._api_key)
        app.router.add_post("/order", self._post_order)
        app.router.add_get("/positions", self._positions)
        return app

    # -- market data -----------------------------------------------------------------

    def _token(self, request: web.Request) -> tuple[int, Market, int]:
        try:
            token_id = int(request.query.get("token_id", ""))
        except ValueError:
            raise _error(400, "Invalid token id") from None
        if token_id not in self._markets:
            raise _error(404, "No orderbook exists for the requested token id")
        market, index = self._markets[token_id]
        return token_id, market, index

    async def _market_field(self, request: web.Request, answer) -> web.Response:
        with self._lock:
            _, market, _ = self._token(request)
        return web.json_response(answer(market))

    async def _book(self, request: web.Request) -> web.Response:
        with self._lock:
            token_id, market, _ = self._token(request)
            bids, asks = self._books.get(token_id, ([], []))
            book = {
                "market": market.condition_id, "asset_id": str(token_id), "timestamp": str(int(time.time() * 1000)),
                # Best last, as the CLOB lists them (py-clob-client's calculate_market_price walks them reversed).
                "bids": [{"price": _text(price), "size": _text(size)} for price, size in reversed(bids)],
                "asks": [{"price": _text(price), "size": _text(size)} for price, size in reversed(asks)],
                "min_order_size": market.min_order_size, "tick_size": market.tick_size, "neg_risk": market.neg_risk,
                "last_trade_price": _text(self._last_trade.get(token_id, Decimal(0))),
            }
        book["hash"] = hashlib.sha1(json.dumps(book, sort_keys=True).encode()).hexdigest()
        return web.json_response(book)

    def _midpoint(self, token_id: int) -> Decimal:
        bids, asks = self._books.get(token_id, ([], []))
        best = [levels[0][0] for levels in (bids, asks) if levels]
        return sum(best, Decimal(0)) / len(best) if best else Decimal(0)

    # -- authentication --------------------------------------------------------------

    async def _api_key(self, request: web.Request) -> web.Response:
        """L1: the ClobAuth signature must recover POLY_ADDRESS. Creating and deriving both
        answer the credentials derived from (address, nonce), so they are the same each time."""
        headers = request.headers
        try:
            address = Web3.to_checksum_address(headers["POLY_ADDRESS"])
            nonce = int(headers.get("POLY_NONCE", "0"))
            typed_data = {
                "types": CLOB_AUTH_TYPES, "primaryType": "ClobAuth",
                "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": self.chain_id},
                "message": {"address": address, "timestamp": headers["POLY_TIMESTAMP"], "nonce": nonce, "message": CLOB_AUTH_MESSAGE},
            }
            recovered = Account.recover_message(encode_typed_data(full_message=typed_data), signature=headers["POLY_SIGNATURE"])
        except Exception:  # a missing header, a malformed address or signature: eth libraries raise many types
            raise _error(401, "Invalid L1 Request headers") from None
        if recovered != address:
            raise _error(401, "Invalid L1 Request headers")
        seed = hmac.new(b"polymarket stand-in", f"{address.lower()}:{nonce}".encode(), hashlib.sha512).digest()
        credentials = {
            "apiKey": str(uuid.UUID(bytes=seed[:16], version=4)),
            "secret": base64.urlsafe_b64encode(seed[16:48]).decode(),
            "passphrase": seed[48:].hex(),
        }
        with self._lock:
            self._api_keys[credentials["apiKey"]] = (address, credentials["secret"], credentials["passphrase"])
        return web.json_response(credentials)

    def _l2_key(self, request: web.Request, body: str) -> tuple[str, str]:
        """L2: the HMAC of timestamp + method + path + the body as received; returns the API key and its address."""
        headers = request.headers
        api_key = headers.get("POLY_API_KEY", "")
        with self._lock:
            entry = self._api_keys.get(api_key)
        if entry is None:
            raise _error(401, "Unauthorized/Invalid api key")
        address, secret, passphrase = entry
        message = headers.get("POLY_TIMESTAMP", "") + request.method + request.path + body
        digest = hmac.new(base64.urlsafe_b64decode(secret), message.encode(), hashlib.sha256).digest()
        expected = base64.urlsafe_b64encode(digest).decode()
        if not (hmac.compare_digest(headers.get("POLY_SIGNATURE", ""), expected) and headers.get("POLY_PASSPHRASE") == passphrase
                and headers.get("POLY_ADDRESS", "").lower() == address.lower()):
            raise _error(401, "Unauthorized/Invalid api key")
        return api_key, address

    # -- orders ----------------------------------------------------------------------

    async def _post_order(self, request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        with self._lock:
            self.order_requests.append(body)
        api_key = self._l2_key(request, raw)
        if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
            raise _order_error("Invalid order payload")
        message, order_hash, token_id = self._verify(body, api_key)
        held = 0
        if message["side"] == SELL:  # the seller must hold the shares: on chain, plus (or minus) matched here
            held = await asyncio.to_thread(self._chain_balances, message["maker"], [token_id])
            held = held[0]
        with self._lock:
            answer = self._match(body, message, order_hash, token_id, held)
            self.orders.append(body)
        return web.json_response(answer)

    def _verify(self, body: dict, api_key: tuple[str, str]) -> tuple[dict, str, int]:
        """The order as the exchange would verify it, and as the CLOB checks it against its key and market."""
        wire = body["order"]
        try:
            message = {name: int(wire[name]) for name in (
                "salt", "tokenId", "makerAmount", "takerAmount", "expiration", "nonce", "feeRateBps", "signatureType")}
            message.update({name: Web3.to_checksum_address(wire[name]) for name in ("maker", "signer", "taker")})
            message["side"] = {"BUY": BUY, "SELL": SELL}[wire["side"]]
            signature = wire["signature"]
        except (KeyError, ValueError, TypeError):
            raise _order_error("Invalid order payload") from None
        token_id = message["tokenId"]
        with self._lock:
            known = self._markets.get(token_id)
        if known is None:
            raise _order_error(f"invalid token id {token_id}: no such market")
        market = known[0]
        exchange = self.neg_risk_exchange_address if market.neg_risk else self.exchange_address
        if not exchange:
            raise _order_error("neg risk market, but the stand-in has no neg risk exchange")
        signable = encode_typed_data(full_message=PolymarketOrder(self.chain_id, exchange, message).typed_data())
        order_hash = "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex()
        try:
            recovered = Account.recover_message(signable, signature=signature)
        except Exception:  # malformed signature bytes
            recovered = None
        if recovered != message["signer"] or (message["signatureType"] == 0 and message["maker"] != message["signer"]):
            raise _order_error("invalid signature")
        # The key was derived by the order's signer (L1 proves control of that wallet).
        if body.get("owner") != api_key[0] or api_key[1] != message["signer"]:
            raise _order_error("the order owner has to be the owner of the API KEY")
        if message["feeRateBps"] != self.fee_rate_bps:
            raise _order_error(f"invalid fee rate ({message['feeRateBps']}), current market's taker fee: {self.fee_rate_bps}")
        if message["makerAmount"] <= 0 or message["takerAmount"] <= 0:
            raise _order_error("invalid amounts: makerAmount and takerAmount must be positive")
        if message["expiration"] and message["expiration"] < time.time():
            raise _order_error("order has expired")
        if body.get("orderType", "GTC") not in ORDER_TYPES:
            raise _order_error(f"invalid order type {body.get('orderType')!r}")
        return message, order_hash, token_id

    def _match(self, body: dict, message: dict, order_hash: str, token_id: int, held_on_chain: int) -> dict:
        """Takes liquidity at the book's prices up to the order's limit price. BUY spends
        makerAmount USDC for at least takerAmount shares; SELL sells makerAmount shares for
        at least takerAmount USDC. Called with the lock held."""
        if order_hash in self._order_hashes:
            raise _order_error(f"order {order_hash} is invalid. Duplicated.")
        buying = message["side"] == BUY
        maker = message["maker"].lower()
        holding = self._holdings.setdefault((maker, token_id), _Holding())
        if not buying and held_on_chain + holding.shares < message["makerAmount"]:
            raise _order_error("not enough balance / allowance")
        bids, asks = self._books.setdefault(token_id, ([], []))
        levels = asks if buying else bids
        with localcontext() as context:
            context.prec = 60
            maker_amount, taker_amount = Decimal(message["makerAmount"]), Decimal(message["takerAmount"])
            limit = maker_amount / taker_amount if buying else taker_amount / maker_amount  # USDC per share
            remaining, received, fills = maker_amount, Decimal(0), []
            for price, size in levels:
                if remaining < 1 or (price > limit if buying else price < limit):
                    break
                # Whole base units of shares: what the chain would transfer.
                shares = min(size * UNIT, (remaining / price).to_integral_value("ROUND_FLOOR") if buying else remaining)
                remaining -= shares * price if buying else shares
                received += shares if buying else shares * price
                fills.append((price, shares))
            order_type = body.get("orderType", "GTC")
            complete = remaining < 1  # under one base unit of USDC left: the rounding of whole shares
            if order_type == "FOK" and not complete:
                raise _order_error("order couldn't be fully filled. FOK orders are fully filled or killed.")
            if order_type == "FAK" and not fills:
                raise _order_error("no orders found to match with FAK order. "
                                   "FAK orders are partially filled or killed if no match is found.")
            for (price, shares), level in zip(fills, levels, strict=False):  # the levels the fills took, best first
                level[1] -= shares / UNIT
                self._last_trade[token_id] = price
            levels[:] = [level for level in levels if level[1] > 0]
            # A complete BUY pays all of makerAmount (less than a base unit was rounding).
            made = int(maker_amount) if buying and complete else int(maker_amount - remaining)
            taken = int(received.to_integral_value("ROUND_FLOOR"))
        self._record(holding, buying, shares=taken if buying else made, usdc=made if buying else taken)
        self._order_hashes.add(order_hash)
        # A GTC/GTD remainder is reported "live" but does not rest on the book (not matched later).
        return {
            "success": True, "errorMsg": "", "orderID": order_hash, "status": "matched" if fills else "live",
            "transactionsHashes": ["0x" + keccak(text=f"settlement of {order_hash}").hex()] if fills else [],
            "makingAmount": _human(made) if fills else "", "takingAmount": _human(taken) if fills else "",
        }

    @staticmethod
    def _record(holding: _Holding, buying: bool, shares: int, usdc: int) -> None:
        if buying:
            holding.shares += shares
            holding.bought += shares
            holding.cost += usdc
        elif shares:
            holding.shares -= shares
            average = Decimal(holding.cost) / holding.bought if holding.bought else Decimal(0)
            holding.realized += usdc - int(average * shares)

    # -- data API --------------------------------------------------------------------

    def _chain_balances(self, user: str, token_ids: list[int]) -> list[int]:
        user = Web3.to_checksum_address(user)
        return self.ctf.functions.balanceOfBatch([user] * len(token_ids), token_ids).call()

    def _chain_payouts(self, condition_id: str) -> list[Decimal] | None:
        """Each outcome's payout per share once the condition is resolved; None before."""
        denominator = self.ctf.functions.payoutDenominator(condition_id).call()
        if denominator == 0:
            return None
        return [Decimal(self.ctf.functions.payoutNumerators(condition_id, i).call()) / denominator for i in range(2)]

    async def _positions(self, request: web.Request) -> web.Response:
        query = request.query
        if not Web3.is_address(query.get("user", "")):
            raise _error(400, "user is required: a 0x-prefixed address")
        user = Web3.to_checksum_address(query["user"])
        threshold = Decimal(query.get("sizeThreshold", "1"))  # the data API's default: 1 share
        conditions = {c.lower() for c in query.get("market", "").split(",") if c}
        with self._lock:
            markets = {id(market): market for market, _ in self._markets.values()}.values()
            markets = [m for m in markets if not conditions or m.condition_id.lower() in conditions]
        chain = await asyncio.to_thread(
            lambda: [(self._chain_balances(user, list(m.token_ids)), self._chain_payouts(m.condition_id)) for m in markets])
        items = []
        with self._lock:
            for market, (balances, payouts) in zip(markets, chain, strict=True):
                sizes = [balances[i] + self._holdings.get((user.lower(), token), _Holding()).shares
                         for i, token in enumerate(market.token_ids)]
                for index, size in enumerate(sizes):
                    if size > 0 and Decimal(size) / UNIT >= threshold:
                        items.append(self._position(user, market, index, sizes, payouts))
        if query.get("redeemable") in ("true", "false"):
            items = [item for item in items if item["redeemable"] == (query["redeemable"] == "true")]
        if query.get("mergeable") in ("true", "false"):
            items = [item for item in items if item["mergeable"] == (query["mergeable"] == "true")]
        return web.json_response(items)

    def _position(self, user: str, market: Market, index: int, sizes: list[int], payouts: list[Decimal] | None) -> dict:
        """One data-API position item. Cost basis: the stand-in's own fills; shares it did not
        fill (split or received on chain) are valued at the current price, so they show no PnL."""
        token_id, other = market.token_ids[index], market.token_ids[1 - index]
        holding = self._holdings.get((user.lower(), token_id), _Holding())
        size = Decimal(sizes[index]) / UNIT
        current_price = payouts[index] if payouts is not None else self._midpoint(token_id)
        average = Decimal(holding.cost) / holding.bought if holding.bought else current_price
        initial, current = size * average, size * current_price
        cash_pnl, realized = current - initial, Decimal(holding.realized) / UNIT

        def number(value: Decimal) -> float:
            return float(round(value, 6))

        return {
            "proxyWallet": user, "asset": str(token_id), "conditionId": market.condition_id,
            "size": number(size), "avgPrice": number(average), "initialValue": number(initial), "currentValue": number(current),
            "cashPnl": number(cash_pnl), "percentPnl": number(cash_pnl / initial * 100) if initial else 0.0,
            "totalBought": number(Decimal(holding.bought) / UNIT), "realizedPnl": number(realized),
            "percentRealizedPnl": number(realized / initial * 100) if initial else 0.0, "curPrice": number(current_price),
            "redeemable": payouts is not None, "mergeable": payouts is None and min(sizes) > 0,
            "title": market.question, "slug": market.slug, "icon": market.icon, "eventSlug": market.event_slug,
            "outcome": market.outcomes[index], "outcomeIndex": index, "oppositeOutcome": market.outcomes[1 - index],
            "oppositeAsset": str(other), "endDate": market.end_date, "negativeRisk": market.neg_risk,
        }


@web.middleware
async def _refusals(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except _Refused as refused:
        return web.json_response(refused.body, status=refused.status)


class PolymarketChain:
    """USDC and Conditional Tokens on a dev stack's anvil, for the stand-in to read: two binary
    markets, one to be resolved YES by the tests, one left open."""

    def __init__(self, stack) -> None:
        w3 = self.web3 = stack.web3
        self.deployer, self.oracle, self.maker = w3.eth.accounts[0], w3.eth.accounts[1], w3.eth.accounts[2]
        self.usdc = contracts.at(w3, "TestToken", contracts.deploy(w3, "TestToken", "USD Coin", "USDC", 6))
        self.ctf = contracts.at(w3, "ConditionalTokens", contracts.deploy(w3, "ConditionalTokens"))
        self.resolved, self.open = self.market("Will it rain?"), self.market("Will it snow?")

    def transact(self, function, sender: str) -> None:
        receipt = self.web3.eth.wait_for_transaction_receipt(function.transact({"from": sender}), timeout=30)
        assert receipt.status == 1

    def market(self, question: str) -> Market:
        question_id = Web3.keccak(text=question)
        self.transact(self.ctf.functions.prepareCondition(self.oracle, question_id, 2), self.deployer)
        condition = self.ctf.functions.getConditionId(self.oracle, question_id, 2).call()
        tokens = tuple(self.ctf.functions.getPositionId(self.usdc.address, self.ctf.functions.getCollectionId(ZERO32, condition, i).call()).call()
                       for i in (1, 2))
        return Market(condition_id="0x" + condition.hex(), question_id="0x" + question_id.hex(), question=question, token_ids=tokens)

    def give_outcome_tokens(self, market: Market, to: str, shares: int) -> None:
        """A market maker splits collateral into YES and NO and hands YES shares over."""
        self.transact(self.usdc.functions.mint(self.maker, shares), self.deployer)
        self.transact(self.usdc.functions.approve(self.ctf.address, shares), self.maker)
        self.transact(self.ctf.functions.splitPosition(self.usdc.address, ZERO32, market.condition_id, [1, 2], shares), self.maker)
        self.transact(self.ctf.functions.safeTransferFrom(self.maker, Web3.to_checksum_address(to), market.token_ids[0], shares, b""), self.maker)

    def resolve_yes(self, market: Market) -> None:
        self.transact(self.ctf.functions.reportPayouts(market.question_id, [1, 0]), self.oracle)

    def usdc_of(self, owner: str) -> int:
        return self.usdc.functions.balanceOf(Web3.to_checksum_address(owner)).call()

    def shares_of(self, owner: str, token: int) -> int:
        return self.ctf.functions.balanceOf(Web3.to_checksum_address(owner), token).call()
