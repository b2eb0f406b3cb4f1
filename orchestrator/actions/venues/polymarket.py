"""Polymarket for sessions: Circuit's `platforms.polymarket` calls.

- `market_order`: a fill-or-kill CLOB order priced from the book, built as py-clob-client
  builds one (its market-price walk and rounding per tick size) but with an expiry
  (`order_ttl_seconds`: the signer signs no order that never expires), signed by the signer as the
  CTF Exchange's EIP-712 Order, and posted with the CLOB's HMAC (L2) headers. The API
  credentials behind those headers are derived once per wallet with an L1 (ClobAuth)
  signature, also from the signer, and kept in memory only.
- `positions`: the data API's positions of the session's wallet, in Circuit's shape.
- `redeem_positions`: a `redeemPositions` call on the Conditional Tokens contract, sent as a
  transaction of the session through the normal path (the signer's EVM policy decides it,
  the ledger records the collateral that comes back).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation

import grpc
from eth_abi import encode
from eth_utils import keccak

from corral.v1 import runtime_pb2, signer_pb2
from orchestrator.actions.signer_client import SignerClient, signer_refusal
from orchestrator.actions.transactions import TransactionSender
from orchestrator.actions.venues.http import VenueHttp, VenueRefused
from orchestrator.config import PolymarketConfig
from orchestrator.errors import Refused, invalid, not_found, precondition
from orchestrator.store import SessionRow

ZERO_ADDRESS = "0x" + "00" * 20
COLLATERAL_DECIMALS = 6
SIDES = {runtime_pb2.ORDER_SIDE_BUY: "BUY", runtime_pb2.ORDER_SIDE_SELL: "SELL"}
# py-clob-client's ROUNDING_CONFIG: decimals of (price, size, amount) per tick size.
ROUNDING = {"0.1": (1, 2, 3), "0.01": (2, 2, 4), "0.001": (3, 2, 5), "0.0001": (4, 2, 6)}
REDEEM_SELECTOR = keccak(text="redeemPositions(address,bytes32,bytes32,uint256[])")[:4]
# A binary market's two outcomes as index sets: Polymarket redeems both at once.
BINARY_INDEX_SETS = [1, 2]


@dataclass(frozen=True)
class SignedOrder:
    """A market order ready to post: its /order fields (signed), and what it was priced from."""

    fields: dict
    order_hash: str
    side: str
    price: Decimal  # the worst price it accepts
    book: dict


def order_answer(order_id: str, side: str, shares: Decimal, usd: Decimal, price: Decimal, tx_hashes: list[str]) -> dict:
    """What the agent gets for a matched order (Circuit's shape)."""
    return {"success": True, "orderInfo": {
        "orderId": order_id, "side": side, "size": str(shares),
        "priceUsd": str(_round(usd / shares, 4, ROUND_HALF_EVEN)) if shares else str(price), "totalPriceUsd": str(usd),
        "txHashes": tx_hashes,
    }}


@dataclass(frozen=True)
class ApiCredentials:
    api_key: str
    secret: str
    passphrase: str


def _round(value: Decimal, places: int, rounding: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=rounding)


def _places(value: Decimal) -> int:
    return max(0, -value.normalize().as_tuple().exponent)


def market_price(book: dict, side: str, amount: Decimal) -> Decimal:
    """The worst price the order must accept to fill `amount` (USD for BUY, shares for SELL)
    from the book, walking from the best level as py-clob-client does; FOK: all or nothing."""
    levels = book["asks"] if side == "BUY" else book["bids"]
    filled = Decimal(0)
    for level in reversed(levels):  # the CLOB lists the best level last
        price, size = Decimal(str(level["price"])), Decimal(str(level["size"]))
        filled += size * price if side == "BUY" else size
        if filled >= amount:
            return price
    raise precondition(f"polymarket: the book cannot fill {amount} {'USD' if side == 'BUY' else 'shares'} at once (no match)")


def order_amounts(side: str, amount: Decimal, price: Decimal, tick_size: str) -> tuple[int, int]:
    """(makerAmount, takerAmount) in 6-decimal units, rounded as py-clob-client's
    get_market_order_amounts rounds them: BUY gives USD for shares, SELL shares for USD."""
    price_places, size_places, amount_places = ROUNDING[tick_size]
    price = _round(price, price_places, ROUND_HALF_EVEN)
    maker = _round(amount, size_places, ROUND_FLOOR)
    taker = maker / price if side == "BUY" else maker * price
    if _places(taker) > amount_places:
        taker = _round(taker, amount_places + 4, ROUND_CEILING)
        if _places(taker) > amount_places:
            taker = _round(taker, amount_places, ROUND_FLOOR)
    units = Decimal(10) ** COLLATERAL_DECIMALS
    return int(_round(maker * units, 0, ROUND_HALF_EVEN)), int(_round(taker * units, 0, ROUND_HALF_EVEN))


class PolymarketVenue:
    def __init__(self, config: PolymarketConfig, signer: SignerClient, sender: TransactionSender) -> None:
        self.config = config
        self._clob = VenueHttp("polymarket", config.clob_url, config.request_timeout_seconds)
        self._data = VenueHttp("polymarket", config.data_url, config.request_timeout_seconds)
        self._signer = signer
        self._sender = sender
        self._credentials: dict[str, ApiCredentials] = {}

    # ---- orders -------------------------------------------------------------------------

    def check_order(self, request: runtime_pb2.PolymarketMarketOrderRequest) -> tuple[str, Decimal]:
        """(side, size), or a refusal saying what to fix; also checked before a suggestion."""
        if request.side not in SIDES:
            raise invalid("polymarket: side must be 'BUY' or 'SELL'")
        if not request.token_id.isdigit():
            raise invalid(f"polymarket: tokenId {request.token_id!r} must be the outcome token id (a decimal integer string)")
        try:
            size = Decimal(request.size)
        except InvalidOperation:
            raise invalid(f"polymarket: size {request.size!r} is not a number") from None
        if not size.is_finite() or size <= 0:
            raise invalid(f"polymarket: size must be positive (BUY: USD to spend, SELL: shares), got {request.size!r}")
        return SIDES[request.side], size

    async def market_order(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.PolymarketMarketOrderRequest) -> dict:
        signed = await self.signed_order(session, execution_id, request)
        try:
            answer = await self._post_order(session, execution_id, signed.fields)
        except VenueRefused as refused:
            if refused.http_status != 401:
                raise
            # The CLOB no longer knows the credentials (revoked, rotated): derive them again, once.
            self._credentials.pop(session.wallet_address.lower(), None)
            answer = await self._post_order(session, execution_id, signed.fields)
        if not answer.get("success"):
            raise precondition(f"polymarket: {answer.get('errorMsg') or 'the order was not accepted'}")
        making = Decimal(str(answer.get("makingAmount") or Decimal(signed.fields["makerAmount"]) / 10**COLLATERAL_DECIMALS))
        taking = Decimal(str(answer.get("takingAmount") or Decimal(signed.fields["takerAmount"]) / 10**COLLATERAL_DECIMALS))
        shares, usd = (taking, making) if signed.side == "BUY" else (making, taking)
        return order_answer(answer.get("orderID") or signed.order_hash, signed.side, shares, usd, signed.price,
                            list(answer.get("transactionsHashes") or []))

    async def signed_order(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.PolymarketMarketOrderRequest
                           ) -> SignedOrder:
        """A fill-or-kill order priced from the token's book as read now, signed by the signer
        for the session's wallet under its Polymarket policy (a refusal raises)."""
        side, size = self.check_order(request)
        token = request.token_id
        tick, neg_risk, fee, book = await asyncio.gather(
            self._clob.request("GET", "/tick-size", params={"token_id": token}),
            self._clob.request("GET", "/neg-risk", params={"token_id": token}),
            self._clob.request("GET", "/fee-rate", params={"token_id": token}),
            self.book(token),
        )
        tick_size = format(Decimal(str(tick["minimum_tick_size"])).normalize(), "f")
        if tick_size not in ROUNDING:
            raise precondition(f"polymarket: token {token} has tick size {tick_size}, which this platform does not know")
        price = market_price(book, side, size)
        maker_amount, taker_amount = order_amounts(side, size, price, tick_size)
        if maker_amount <= 0 or taker_amount <= 0:
            raise invalid(f"polymarket: order too small ({size} at {price})")
        wallet = session.wallet_address
        expiration = str(int(time.time()) + self.config.order_ttl_seconds)
        order = signer_pb2.PolymarketOrder(
            salt=str(secrets.randbelow(2**32)), maker=wallet, signer=wallet, taker=ZERO_ADDRESS, token_id=token,
            maker_amount=str(maker_amount), taker_amount=str(taker_amount), expiration=expiration, nonce="0",
            fee_rate_bps=str(int(fee.get("base_fee", 0))), side=0 if side == "BUY" else 1, signature_type=0,
        )
        exchange = self.config.neg_risk_exchange_address if neg_risk.get("neg_risk") else self.config.exchange_address
        try:
            signed = await self._signer.sign_polymarket_order(signer_pb2.SignPolymarketOrderRequest(
                wallet_address=wallet, chain_id=self.config.chain_id, exchange_address=exchange, order=order,
                context=signer_pb2.SigningContext(session_id=session.id, execution_id=execution_id or 0),
            ))
        except grpc.aio.AioRpcError as exc:
            raise signer_refusal(exc) from None
        fields = {
            "salt": int(order.salt), "maker": order.maker, "signer": order.signer, "taker": order.taker, "tokenId": token,
            "makerAmount": order.maker_amount, "takerAmount": order.taker_amount, "expiration": expiration, "nonce": "0",
            "feeRateBps": order.fee_rate_bps, "side": side, "signatureType": 0, "signature": signed.signature,
        }
        return SignedOrder(fields, signed.order_hash, side, price, book)

    async def book(self, token_id: str) -> dict:
        """The token's order book, as the CLOB lists it (best level last)."""
        return await self._clob.request("GET", "/book", params={"token_id": token_id})

    async def _post_order(self, session: SessionRow, execution_id: int | None, order: dict) -> dict:
        credentials = await self._api_credentials(session, execution_id)
        body = json.dumps({"order": order, "owner": credentials.api_key, "orderType": "FOK"})
        headers = self._l2_headers(session.wallet_address, credentials, "POST", "/order", body)
        return await self._clob.request("POST", "/order", body=body, headers=headers)

    async def _api_credentials(self, session: SessionRow, execution_id: int | None) -> ApiCredentials:
        wallet = session.wallet_address.lower()
        if wallet not in self._credentials:
            timestamp, nonce = int(time.time()), 0
            try:
                signed = await self._signer.sign_polymarket_auth(signer_pb2.SignPolymarketAuthRequest(
                    wallet_address=session.wallet_address, chain_id=self.config.chain_id, timestamp=timestamp, nonce=nonce,
                    context=signer_pb2.SigningContext(session_id=session.id, execution_id=execution_id or 0),
                ))
            except grpc.aio.AioRpcError as exc:
                raise signer_refusal(exc) from None
            headers = {"POLY_ADDRESS": session.wallet_address, "POLY_SIGNATURE": signed.signature,
                       "POLY_TIMESTAMP": str(timestamp), "POLY_NONCE": str(nonce)}
            # As py-clob-client's create_or_derive_api_creds: create, else derive the existing one.
            try:
                answer = await self._clob.request("POST", "/auth/api-key", headers=headers)
            except Refused:
                answer = await self._clob.request("GET", "/auth/derive-api-key", headers=headers)
            self._credentials[wallet] = ApiCredentials(answer["apiKey"], answer["secret"], answer["passphrase"])
        return self._credentials[wallet]

    @staticmethod
    def _l2_headers(wallet: str, credentials: ApiCredentials, method: str, path: str, body: str) -> dict[str, str]:
        timestamp = str(int(time.time()))
        digest = hmac.new(base64.urlsafe_b64decode(credentials.secret), (timestamp + method + path + body).encode(), hashlib.sha256).digest()
        return {"POLY_ADDRESS": wallet, "POLY_SIGNATURE": base64.urlsafe_b64encode(digest).decode(), "POLY_TIMESTAMP": timestamp,
                "POLY_API_KEY": credentials.api_key, "POLY_PASSPHRASE": credentials.passphrase}

    # ---- positions and redemptions -------------------------------------------------------

    async def _raw_positions(self, wallet: str) -> list[dict]:
        answer = await self._data.request("GET", "/positions", params={"user": wallet, "sizeThreshold": "0"})
        return answer if isinstance(answer, list) else []

    async def positions(self, session: SessionRow) -> dict:
        positions = [self.position(p) for p in await self._raw_positions(session.wallet_address)]
        return {"totalValue": float(sum(Decimal(str(p["valueUsd"] or 0)) for p in positions)), "positions": positions}

    def position(self, p: dict) -> dict:
        shares = Decimal(str(p.get("size", 0)))
        return {
            "contractAddress": self.config.conditional_tokens_address, "tokenId": str(p.get("asset")), "decimals": COLLATERAL_DECIMALS,
            "conditionId": p.get("conditionId"), "formattedShares": format(shares.normalize(), "f"),
            "shares": str(int(shares * 10**COLLATERAL_DECIMALS)), "valueUsd": p.get("currentValue"), "question": p.get("title"),
            "outcome": p.get("outcome"), "priceUsd": p.get("curPrice"), "averagePriceUsd": p.get("avgPrice"),
            "isRedeemable": bool(p.get("redeemable")), "isNegativeRisk": bool(p.get("negativeRisk")), "imageUrl": p.get("icon"),
            "initialValue": p.get("initialValue"), "pnlUsd": p.get("cashPnl"), "pnlPercent": p.get("percentPnl"),
            "pnlRealizedUsd": p.get("realizedPnl"), "pnlRealizedPercent": p.get("percentRealizedPnl"), "endDate": p.get("endDate"),
        }

    async def redeemable(self, session: SessionRow, token_ids: list[str]) -> list[dict]:
        """The session's positions for `token_ids`; NOT_FOUND for one it does not hold (nothing
        is sent then)."""
        if not token_ids:
            raise invalid("polymarket: redeem_positions needs tokenIds (the outcome tokens to redeem)")
        held = {str(p.get("asset")): p for p in await self._raw_positions(session.wallet_address)}
        missing = [t for t in token_ids if t not in held]
        if missing:
            raise not_found(f"polymarket: the session's wallet holds no position in token(s) {', '.join(missing)}")
        return [held[t] for t in token_ids]

    async def redeem_positions(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.PolymarketRedeemPositionsRequest
                               ) -> list[dict]:
        results, sent = [], {}  # condition id -> tx hash: both outcomes go in one call
        for raw in await self.redeemable(session, list(request.token_ids)):
            position = self.position(raw)
            if not position["isRedeemable"]:
                results.append({"success": False, "position": position, "transactionHash": None,
                                "error": "not redeemable yet: the market has not resolved"})
                continue
            if position["isNegativeRisk"]:
                results.append({"success": False, "position": position, "transactionHash": None,
                                "error": "negative-risk markets redeem through the NegRiskAdapter, which this platform does not support yet"})
                continue
            condition = position["conditionId"]
            if condition not in sent:
                tx = await self._sender.sign_and_send(session, execution_id, self._redeem_request(condition))
                sent[condition] = tx.tx_hash
            results.append({"success": True, "position": position, "transactionHash": sent[condition]})
        return results

    def _redeem_request(self, condition_id: str) -> runtime_pb2.SignAndSendRequest:
        calldata = REDEEM_SELECTOR + encode(
            ["address", "bytes32", "bytes32", "uint256[]"],
            [self.config.collateral_address, b"\x00" * 32, bytes.fromhex(condition_id.removeprefix("0x")), BINARY_INDEX_SETS],
        )
        return runtime_pb2.SignAndSendRequest(
            request_id=f"polymarket-redeem-{secrets.token_hex(8)}", network=self.config.network,
            message=f"Polymarket: redeem condition {condition_id[:10]}…",
            evm=runtime_pb2.EvmTransactionRequest(to_address=self.config.conditional_tokens_address, data="0x" + calldata.hex(), value="0"),
        )

    async def close(self) -> None:
        await self._clob.close()
        await self._data.close()


def describe_order(request: runtime_pb2.PolymarketMarketOrderRequest) -> dict:
    side = SIDES[request.side]
    return {"venue": "polymarket", "action": "market_order", "tokenId": request.token_id, "side": side,
            "size": request.size, "sizeUnit": "USD" if side == "BUY" else "shares"}
