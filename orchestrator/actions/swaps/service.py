"""Swap quotes and their execution for a session.

quote: validate the request -> ask every compatible engine -> keep the best output that
passes the price-impact filter -> store it (with an expiry) -> return Circuit's quote shape.
execute: the stored quote, handed back unchanged, not expired, not yet executed -> send its
steps in order through the sign-and-send path (the signer's policy decides each) and stop
at the first that fails (spot-first: a later step never runs without the earlier one).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import timedelta
from decimal import Decimal

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct
from pydantic import ValidationError
from sqlalchemy import select

from corral.limits import ACTION_MESSAGE_MAX_CHARS
from corral.v1 import runtime_pb2
from orchestrator.actions.swaps.model import EngineQuote, QuoteRequest, SwapError
from orchestrator.actions.transactions import TransactionSender
from orchestrator.actions.transactions.intents import swap_step_request_id
from orchestrator.errors import Refused
from orchestrator.store import Database, QuoteRow, SessionRow, TransactionRow, utcnow


class Swaps:
    def __init__(self, db: Database, sender: TransactionSender, engines: list, quote_ttl_seconds: float) -> None:
        self._db = db
        self._sender = sender
        self._engines = engines
        self._ttl = quote_ttl_seconds

    async def quote(self, session: SessionRow, request: dict) -> dict:
        try:
            parsed = QuoteRequest.model_validate(request)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "request"
            raise SwapError("INVALID_REQUEST", f"{where}: {first['msg']}", grpc.StatusCode.INVALID_ARGUMENT) from None
        if parsed.from_.network != parsed.to.network:
            raise SwapError("NO_COMPATIBLE_ENGINES", "cross-chain swaps (bridges) have no engine on this platform yet")
        engines = [e for e in self.session_engines(session) if e.supports(parsed) and (not parsed.engines or e.name in parsed.engines)]
        if not engines:
            raise SwapError("NO_COMPATIBLE_ENGINES", f"no engine swaps {parsed.token_in} for {parsed.token_out} on {parsed.from_.network}")
        expires = utcnow() + timedelta(seconds=self._ttl)
        deadline = int(time.time() + self._ttl)
        quotes: list[EngineQuote] = []
        failures: list[str] = []
        for engine in engines:
            try:
                quotes.append(await engine.quote(session.wallet_address, parsed, deadline))
            except Refused as refused:
                failures.append(refused.message)
        if not quotes:
            raise SwapError("ALL_ENGINES_FAILED", "; ".join(failures))
        best = max(quotes, key=lambda q: q.amount_out)
        if best.price_impact_percent > Decimal(parsed.price_impact):
            raise SwapError("PRICE_IMPACT_TOO_HIGH", f"price impact {best.price_impact_percent}% is above the allowed {parsed.price_impact}%")
        quote_id = secrets.token_hex(16)
        # Stored as the agent will hand it back: through the wire's JSON-like Struct.
        data = as_wire_json(_quote_data(quote_id, session, parsed, best, deadline, self._ttl))
        with self._db.session() as db:
            db.add(QuoteRow(id=quote_id, session_id=session.id, engine=best.engine, data=data, created_at=utcnow(), expires_at=expires,
                            result=None))
            db.commit()
        return data

    def session_engines(self, session: SessionRow) -> list:
        """The engines on the chains `session` acts on (a paper session's: on its fork)."""
        return [engine for e in self._engines if (engine := e.for_session(session)) is not None]

    async def execute(self, session: SessionRow, execution_id: int | None, data: dict) -> dict:
        row = self.stored_quote(session, data)
        if row.result is not None:
            return row.result  # executed already: the same answer, nothing sent twice
        if utcnow() > row.expires_at:
            raise SwapError("QUOTE_STALE", f"quote {row.id} expired at {row.expires_at:%H:%M:%S} UTC; ask for a new one")
        result = await self._run_steps(session, execution_id, row)
        with self._db.session() as db:
            db.get(QuoteRow, row.id).result = result
            db.commit()
        return result

    def stored_quote(self, session: SessionRow, data: dict) -> QuoteRow:
        """The quote `data` stands for: made for this session and handed back unchanged."""
        quote_id = (data.get("quoteContext") or {}).get("quoteId") if isinstance(data, dict) else None
        if not quote_id:
            raise SwapError("INVALID_REQUEST", "No quote provided: pass the data of a swap.quote() result", grpc.StatusCode.INVALID_ARGUMENT)
        with self._db.session() as db:
            row = db.get(QuoteRow, quote_id)
        if row is None or row.session_id != session.id:
            raise SwapError("INVALID_REQUEST", f"quote {quote_id} was not made for this session", grpc.StatusCode.INVALID_ARGUMENT)
        if _fingerprint(as_wire_json(data)) != _fingerprint(row.data):
            raise SwapError("INVALID_REQUEST", "the quote was changed; pass it back exactly as swap.quote() returned it",
                            grpc.StatusCode.INVALID_ARGUMENT)
        return row

    async def execute_approved(self, session: SessionRow, execution_id: int | None, data: dict) -> dict:
        """A person approved this quote (manual mode), maybe long after it was made. Still
        fresh: executed as is. Expired: quoted again with the same request, and executed
        only if the new quote still gives at least the minimum the person approved."""
        try:
            return await self.execute(session, execution_id, data)
        except SwapError as error:
            if error.swap_code != "QUOTE_STALE":
                raise
        send, receive = data["assetSend"], data["assetReceive"]
        fresh = await self.quote(session, {
            "from": {"network": send["network"], "address": send["address"]},
            "to": {"network": receive["network"], "address": receive["address"]},
            "amount": send["amount"], "slippage": data.get("slippage", "0.5"), "priceImpact": data.get("maxPriceImpact", "100.0"),
        })
        approved, now = int(receive["minimumAmount"]), int(fresh["assetReceive"]["minimumAmount"])
        if now < approved:
            raise SwapError("QUOTE_STALE", f"the price moved since approval: a fresh quote's minimum {now} is below the approved {approved}")
        return await self.execute(session, execution_id, fresh)

    async def _run_steps(self, session: SessionRow, execution_id: int | None, row: QuoteRow) -> dict:
        """Sends the quote's steps in order (spot first: a step that fails stops the ones after
        it). The status is success (all confirmed), failure (one failed; nothing after it was
        sent) or delayed (one was broadcast but not confirmed in time; it may still land, so
        nothing after it was sent). This engine swaps on one chain, so never refund."""
        network = row.data["assetSend"]["network"]
        steps = row.data["steps"]
        sent: list[dict] = []
        error, status = None, "success"
        for n, step in enumerate(steps):
            details = step["transactionDetails"]
            request = runtime_pb2.SignAndSendRequest(
                request_id=swap_step_request_id(row.id, n), network=network, message=step["description"][:ACTION_MESSAGE_MAX_CHARS],
                evm=runtime_pb2.EvmTransactionRequest(to_address=details["to"], data=details["data"], value=details["value"]),
            )
            try:
                tx = await self._sender.sign_and_send(session, execution_id, request)
            except Refused as refused:
                status = "delayed" if refused.code == grpc.StatusCode.DEADLINE_EXCEEDED else "failure"
                error = f"step {n + 1} of {len(steps)} ({step['description']}) {'is not confirmed yet' if status == 'delayed' else 'failed'}: {refused.message}"
                entry = {"step": n + 1, "description": step["description"], "status": "pending" if status == "delayed" else "failed",
                         "error": refused.message}
                if tx_hash := self._tx_hash(request.request_id):
                    entry["txHash"] = tx_hash
                sent.append(entry)
                break
            sent.append({"step": n + 1, "description": step["description"], "status": "confirmed", "txHash": tx.tx_hash})
        hashes = [s["txHash"] for s in sent if "txHash" in s]
        result = {
            "status": status,
            "in": {"network": network, "txs": hashes},
            "out": {"network": network, "txs": hashes[-1:] if status == "success" else []},
            "lastUpdated": int(time.time() * 1000),
            "steps": sent,
        }
        if error:
            result["error"] = error + (f"; not sent: steps {len(sent) + 1}..{len(steps)}" if len(sent) < len(steps) else "")
        return result

    def _tx_hash(self, request_id: str) -> str:
        """The hash of a step's transaction if it got as far as being signed."""
        with self._db.session() as db:
            return db.scalar(select(TransactionRow.tx_hash).where(TransactionRow.request_id == request_id)) or ""


def _quote_data(quote_id: str, session: SessionRow, request: QuoteRequest, quote: EngineQuote, deadline: int, ttl: float) -> dict:
    network = request.from_.network
    chain_id = int(network.split(":", 1)[1])
    return {
        "engine": quote.engine,
        "assetSend": {"network": network, "address": request.token_in, "token": request.token_in, "amount": str(quote.amount_in)},
        "assetReceive": {"network": network, "address": request.token_out, "token": request.token_out, "amount": str(quote.amount_out),
                         "minimumAmount": str(quote.minimum_out)},
        "priceImpact": {"percentage": str(quote.price_impact_percent)},
        "fees": [],
        "steps": [
            {"type": "transaction", "description": step.description, "metadata": {},
             "transactionDetails": {"type": "evm", "from": session.wallet_address, "to": step.to, "chainId": chain_id,
                                    "value": step.value, "data": step.data}}
            for step in quote.steps
        ],
        "slippage": request.slippage,
        "maxPriceImpact": request.price_impact,
        "quoteContext": {"quoteId": quote_id, "deadline": deadline},
        "quoteFreshness": {"issuedAtMs": int(time.time() * 1000), "ttlMs": int(ttl * 1000), "resolvedSlippage": request.slippage,
                           "minimumOutputAtIssue": str(quote.minimum_out)},
    }


def as_wire_json(data: dict) -> dict:
    """`data` as it comes out of a protobuf Struct (every number a float), so a quote
    compares equal to itself after a trip to the agent and back."""
    struct = Struct()
    struct.update(data)
    return MessageToDict(struct)


def _fingerprint(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
