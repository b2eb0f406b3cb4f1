"""Manual mode: an agent's value- or signature-producing calls become suggestions that a
person approves or rejects.

- `suggest_*` validate the request exactly as the auto path would (so a bad one gets the
  same clear error) and store it with what the user is shown.
- `approve` moves pending -> approving with a conditional update, so two approvals of one
  suggestion cannot both run it; then it runs the auto path and records the result.
- `reject`, expiry (`expires_at`) and the start of the session's next run discard pending
  suggestions; discarded ones are soft-deleted (kept, with `deleted_at`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import grpc
from google.protobuf.json_format import MessageToDict
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from corral.v1 import runtime_pb2
from orchestrator.actions import messages
from orchestrator.actions.signer_client import SignerClient
from orchestrator.actions.swaps.service import Swaps
from orchestrator.actions.transactions import TransactionSender
from orchestrator.actions.venues.service import ACTIONS as VENUE_ACTIONS
from orchestrator.actions.venues.service import Venues
from orchestrator.errors import Refused, invalid, not_found, precondition
from orchestrator.store import Database, SessionRow, SuggestionRow, TransactionRow, events, utcnow

log = logging.getLogger("corral.suggestions")

DISCARDED = ("rejected", "expired", "cleared")


class Suggestions:
    def __init__(self, db: Database, sender: TransactionSender, signer: SignerClient, swaps: Swaps | None = None,
                 venues: Venues | None = None) -> None:
        self._db = db
        self._sender = sender
        self._signer = signer
        self.swaps = swaps
        self.venues = venues or Venues()

    async def suggest_transaction(self, session: SessionRow, execution_id: int, request: runtime_pb2.SignAndSendRequest) -> SuggestionRow:
        expires_at = _expiry(request.expires_at) if request.HasField("expires_at") else None
        # Validated like an auto-mode call (a refusal stores nothing), then previewed.
        details = await self._sender.preview(session, request)
        if request.HasField("message"):
            details["message"] = request.message
        return self._store(session, execution_id, "transaction", request.SerializeToString(), details, expires_at)

    def suggest_swap(self, session: SessionRow, execution_id: int, request: runtime_pb2.SwapExecuteRequest) -> SuggestionRow:
        quote = MessageToDict(request.quote)
        if self.swaps is None:
            raise Refused(grpc.StatusCode.UNIMPLEMENTED, "NO_COMPATIBLE_ENGINES: swaps are not configured on this platform")
        self.swaps.stored_quote(session, quote)  # refused exactly as an auto-mode execute would be
        send, receive = quote.get("assetSend") or {}, quote.get("assetReceive") or {}
        details = {"network": send.get("network"), "send": send, "receive": receive, "engine": quote.get("engine"),
                   "steps": [step.get("description") for step in quote.get("steps") or []]}
        expires_at = _expiry(request.expires_at) if request.HasField("expires_at") else None
        return self._store(session, execution_id, "swap", request.SerializeToString(), details, expires_at)

    async def suggest_venue(self, session: SessionRow, execution_id: int, kind: str, request) -> SuggestionRow:
        """A venue order, cancel, transfer or redemption: checked as auto mode would check it."""
        details = await self.venues.details(session, kind, request)
        expires_at = _expiry(request.expires_at) if request.DESCRIPTOR.fields_by_name.get("expires_at") and request.HasField("expires_at") else None
        return self._store(session, execution_id, kind, request.SerializeToString(), details, expires_at)

    def suggest_message(self, session: SessionRow, execution_id: int, request: runtime_pb2.SignMessageRequest) -> SuggestionRow:
        messages.validate(session, request)
        return self._store(session, execution_id, "message", request.SerializeToString(), messages.describe(request), None)

    def _store(self, session: SessionRow, execution_id: int, kind: str, request: bytes, details: dict, expires_at: datetime | None
               ) -> SuggestionRow:
        with self._db.session() as db:
            row = SuggestionRow(
                session_id=session.id, execution_id=execution_id, kind=kind, request=request, details=details, status="pending",
                result={}, error="", created_at=utcnow(), expires_at=expires_at, decided_at=None, deleted_at=None,
            )
            db.add(row)
            db.flush()
            events.record(db, "suggestion", "created", session.id, row.id)
            db.commit()
            return row

    def recover(self, replica_id: str) -> int:
        """Settles approvals a replica (this one before a restart, or a dead one) left
        half-done. A transaction that was created for one tells how it ended; with none,
        nothing was sent, so the suggestion is pending again (a message signature is
        deterministic: signing it again gives the same one)."""
        settled = 0
        with self._db.session() as db:
            approving = select(SuggestionRow).where(SuggestionRow.status == "approving", SuggestionRow.replica_id == replica_id)
            for row in db.scalars(approving):
                if row.kind in VENUE_ACTIONS:
                    # Whether the venue took it cannot be known from here: never run it twice.
                    row.status, row.error = "failed", "interrupted while it ran: check the venue's orders and balances before suggesting it again"
                    events.record(db, "suggestion", row.status, row.session_id, row.id)
                    settled += 1
                    continue
                tx = db.scalar(select(TransactionRow).where(TransactionRow.request_id == f"suggestion-{row.id}"))
                if tx is None:
                    row.status, row.decided_at = "pending", None
                elif tx.status == "confirmed":
                    row.status, row.result = "executed", {"transaction_id": tx.id, "tx_hash": tx.tx_hash}
                elif tx.status in ("reverted", "rejected", "expired"):
                    row.status, row.error = "failed", tx.error or f"transaction {tx.status}"
                else:
                    continue  # signed and broadcast: its receipt is still to come
                events.record(db, "suggestion", row.status, row.session_id, row.id)
                settled += 1
            db.commit()
        return settled

    def clear_pending(self, session_id: int) -> int:
        """Discards the session's pending suggestions (a run starts, or the agent asks)."""
        return self._discard(session_id, "cleared", SuggestionRow.status == "pending")

    def list(self, session_id: int, include_discarded: bool) -> list[SuggestionRow]:
        self._expire(session_id)
        with self._db.session() as db:
            query = select(SuggestionRow).where(SuggestionRow.session_id == session_id)
            if not include_discarded:
                query = query.where(SuggestionRow.status.not_in(DISCARDED))
            return list(db.scalars(query.order_by(SuggestionRow.id.desc())))

    async def approve(self, suggestion_id: int) -> SuggestionRow:
        row = self._get(suggestion_id)
        self._expire(row.session_id)
        with self._db.session() as db:
            session = db.scalar(select(SessionRow).options(joinedload(SessionRow.agent)).where(SessionRow.id == row.session_id))
        if session.status in ("stopped", "unwinding"):
            raise precondition(f"session {session.id} is {session.status}; its suggestions can no longer be approved")
        self._decide(row, "approving", "approved")
        try:
            result = await self._execute(session, row)
        except Refused as refused:
            return self._finish(suggestion_id, "failed", {}, refused.message)
        except Exception as exc:  # never leave a suggestion `approving` behind
            log.exception("suggestion %s failed to execute", suggestion_id)
            return self._finish(suggestion_id, "failed", {}, f"{type(exc).__name__}: {exc}")
        return self._finish(suggestion_id, "executed", result, "")

    async def _execute(self, session: SessionRow, row: SuggestionRow) -> dict:
        if row.kind == "transaction":
            request = runtime_pb2.SignAndSendRequest.FromString(row.request)
            # A request id of its own: approving can never send it twice.
            request.request_id = f"suggestion-{row.id}"
            tx = await self._sender.sign_and_send(session, row.execution_id, request)
            return {"transaction_id": tx.id, "tx_hash": tx.tx_hash}
        if row.kind == "swap":
            if self.swaps is None:
                raise Refused(grpc.StatusCode.UNIMPLEMENTED, "swaps are not configured on this platform")
            quote = MessageToDict(runtime_pb2.SwapExecuteRequest.FromString(row.request).quote)
            result = await self.swaps.execute_approved(session, row.execution_id, quote)
            if result["status"] != "success":
                raise Refused(grpc.StatusCode.FAILED_PRECONDITION, result.get("error", "the swap failed"))
            return result
        if row.kind in VENUE_ACTIONS:
            data = await self.venues.run(session, row.execution_id, row.kind, VENUE_ACTIONS[row.kind].FromString(row.request))
            return {"data": data}
        request = runtime_pb2.SignMessageRequest.FromString(row.request)
        signed = await messages.sign(self._signer, session, row.execution_id, request)
        return {"v": signed.v, "r": signed.r, "s": signed.s, "formatted_signature": signed.formatted_signature}

    def reject(self, suggestion_id: int) -> SuggestionRow:
        row = self._get(suggestion_id)
        self._expire(row.session_id)
        self._decide(row, "rejected", "rejected", discard=True)
        return self._get(suggestion_id)

    def _decide(self, row: SuggestionRow, status: str, verb: str, discard: bool = False) -> None:
        """pending -> `status` as one conditional update, so of two concurrent decisions
        only one takes effect; the other is refused."""
        now = utcnow()
        with self._db.session() as db:
            decided = db.execute(
                update(SuggestionRow)
                .where(SuggestionRow.id == row.id, SuggestionRow.status == "pending")
                .values(status=status, decided_at=now, deleted_at=now if discard else None, replica_id=self._db.replica_id)
            ).rowcount
            if decided:
                events.record(db, "suggestion", status, row.session_id, row.id)
            db.commit()
        if not decided:
            raise precondition(f"suggestion {row.id} is {self._get(row.id).status}; only a pending suggestion can be {verb}")

    def _expire(self, session_id: int) -> None:
        self._discard(session_id, "expired", (SuggestionRow.status == "pending") & (SuggestionRow.expires_at <= utcnow()))

    def _discard(self, session_id: int, status: str, which) -> int:
        """Soft-deletes the session's suggestions matching `which`; returns how many."""
        now = utcnow()
        with self._db.session() as db:
            ids = db.scalars(select(SuggestionRow.id).where(SuggestionRow.session_id == session_id, which)).all()
            if not ids:
                return 0
            # Only those still pending now: a concurrent approval wins.
            done = db.scalars(
                update(SuggestionRow)
                .where(SuggestionRow.id.in_(ids), SuggestionRow.status == "pending")
                .values(status=status, decided_at=now, deleted_at=now)
                .returning(SuggestionRow.id)
            ).all()
            for suggestion_id in done:
                events.record(db, "suggestion", status, session_id, suggestion_id)
            db.commit()
        return len(done)

    def _finish(self, suggestion_id: int, status: str, result: dict, error: str) -> SuggestionRow:
        with self._db.session() as db:
            row = db.get(SuggestionRow, suggestion_id)
            row.status, row.result, row.error = status, result, error
            events.record(db, "suggestion", status, row.session_id, suggestion_id)
            db.commit()
        return self._get(suggestion_id)

    def _get(self, suggestion_id: int) -> SuggestionRow:
        with self._db.session() as db:
            row = db.get(SuggestionRow, suggestion_id)
        if row is None:
            raise not_found(f"suggestion {suggestion_id} does not exist")
        return row


def _expiry(text: str) -> datetime:
    """ISO-8601 (a trailing Z or an offset is honoured; no offset means UTC) -> naive UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(f"expires_at {text!r} is not an ISO-8601 time, e.g. 2026-11-22T15:00:00Z") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
