"""Manual mode: an agent's value- or signature-producing calls become suggestions that a
person approves or rejects.

- `store` keeps a request the gateway has checked exactly as the auto path would (so a bad
  one got the same clear error and nothing was stored), with what the user is shown.
- `approve` moves pending -> approving with a conditional update, so two approvals of one
  suggestion cannot both run it, and returns: the gateway runs it through the auto path in a
  task of its own (a transaction may take minutes to confirm), whose outcome (executed or
  failed) is recorded and announced as a suggestion event. The tasks are held, and awaited at
  shutdown (`drain`); one cut short leaves the suggestion `approving`, which `recover`
  settles when the replica starts again (or another replica finds it dead).
- `reject`, expiry (`expires_at`) and the start of the session's next run discard pending
  suggestions; discarded ones are soft-deleted (kept, with `deleted_at`). Expiry is applied
  when a suggestion is read or decided, and by `sweep` on a timer, which also announces a
  coming expiry once (a `suggestion expiring` event, which notifications deliver).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import grpc
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from orchestrator.actions.transactions.intents import suggestion_request_id
from orchestrator.errors import Refused, not_found, precondition
from orchestrator.store import Database, SessionRow, SuggestionRow, TransactionRow, events, utcnow
from orchestrator.store.statuses import ActionKind, SessionStatus, SuggestionStatus, TransactionStatus

if TYPE_CHECKING:
    from orchestrator.actions.gateway import ActionGateway

log = logging.getLogger("corral.suggestions")

DISCARDED = (SuggestionStatus.REJECTED, SuggestionStatus.EXPIRED, SuggestionStatus.CLEARED)
# At shutdown, how long approvals still running may take before they are cut (recovery settles them).
DRAIN_SECONDS = 30.0


class Suggestions:
    def __init__(self, db: Database, gateway: ActionGateway) -> None:
        self._db = db
        self._gateway = gateway
        self._executing: set[asyncio.Task] = set()
        self._closing = False

    def store(self, session: SessionRow, execution_id: int, kind: ActionKind, request: bytes, details: dict, expires_at: datetime | None
              ) -> SuggestionRow:
        with self._db.session() as db:
            row = SuggestionRow(
                session_id=session.id, execution_id=execution_id, kind=kind, request=request, details=details, status=SuggestionStatus.PENDING,
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
            approving = select(SuggestionRow).where(SuggestionRow.status == SuggestionStatus.APPROVING, SuggestionRow.replica_id == replica_id)
            for row in db.scalars(approving):
                if ActionKind(row.kind).is_venue:
                    # Whether the venue took it cannot be known from here: never run it twice.
                    row.status, row.error = SuggestionStatus.FAILED, "interrupted while it ran: check the venue's orders and balances before suggesting it again"
                    events.record(db, "suggestion", row.status, row.session_id, row.id)
                    settled += 1
                    continue
                tx = db.scalar(select(TransactionRow).where(
                    TransactionRow.request_id == suggestion_request_id(row.id), TransactionRow.session_id == row.session_id))
                if tx is None:
                    row.status, row.decided_at = SuggestionStatus.PENDING, None
                elif tx.status == TransactionStatus.CONFIRMED:
                    row.status, row.result = SuggestionStatus.EXECUTED, {"transaction_id": tx.id, "tx_hash": tx.tx_hash}
                elif tx.status in (TransactionStatus.REVERTED, TransactionStatus.REJECTED, TransactionStatus.EXPIRED):
                    row.status, row.error = SuggestionStatus.FAILED, tx.error or f"transaction {tx.status}"
                else:
                    continue  # signed and broadcast: its receipt is still to come
                events.record(db, "suggestion", row.status, row.session_id, row.id)
                settled += 1
            db.commit()
        return settled

    def clear_pending(self, session_id: int) -> int:
        """Discards the session's pending suggestions (a run starts, or the agent asks)."""
        return self._discard(session_id, SuggestionStatus.CLEARED, SuggestionRow.status == SuggestionStatus.PENDING)

    def expire_due(self, session_id: int) -> None:
        """Marks the session's pending suggestions whose time passed as expired (before they are shown)."""
        self._expire(session_id)

    async def approve(self, suggestion_id: int, actor: str = "") -> SuggestionRow:
        """The suggestion, now `approving`; it executes in the background (see the module)."""
        row = self._get(suggestion_id)
        self._expire(row.session_id)
        with self._db.session() as db:
            session = db.scalar(select(SessionRow).options(joinedload(SessionRow.agent)).where(SessionRow.id == row.session_id))
        if session.status in (SessionStatus.STOPPED, SessionStatus.UNWINDING):
            raise precondition(f"session {session.id} is {session.status}; its suggestions can no longer be approved")
        if self._closing:
            raise Refused(grpc.StatusCode.UNAVAILABLE, "the orchestrator is shutting down; approve the suggestion again once it is back")
        self._decide(row, SuggestionStatus.APPROVING, "approved", actor=actor)
        task = asyncio.create_task(self._execute(session, row), name=f"suggestion {suggestion_id}")
        self._executing.add(task)
        task.add_done_callback(self._executing.discard)
        return self._get(suggestion_id)

    async def _execute(self, session: SessionRow, row: SuggestionRow) -> None:
        try:
            result = await self._gateway.run_approved(session, row)
        except Refused as refused:
            self._finish(row.id, SuggestionStatus.FAILED, {}, refused.message)
            return
        except Exception as exc:  # never leave a suggestion `approving` behind
            log.exception("suggestion %s failed to execute", row.id)
            self._finish(row.id, SuggestionStatus.FAILED, {}, f"{type(exc).__name__}: {exc}")
            return
        self._finish(row.id, SuggestionStatus.EXECUTED, result, "")

    async def drain(self, timeout: float = DRAIN_SECONDS) -> int:
        """At shutdown: refuses new approvals, waits up to `timeout` for those executing, and
        cuts the rest (left `approving` for `recover`). Returns how many were cut."""
        self._closing = True
        if not self._executing:
            return 0
        _done, pending = await asyncio.wait(set(self._executing), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("%d approved suggestions still executing at shutdown were cut short; recovery settles them", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)
        return len(pending)

    def reject(self, suggestion_id: int, actor: str = "") -> SuggestionRow:
        row = self._get(suggestion_id)
        self._expire(row.session_id)
        self._decide(row, "rejected", "rejected", discard=True, actor=actor)
        return self._get(suggestion_id)

    def _decide(self, row: SuggestionRow, status: str, verb: str, discard: bool = False, actor: str = "") -> None:
        """pending -> `status` as one conditional update, so of two concurrent decisions
        only one takes effect; the other is refused. `actor`: who decided (the event names them)."""
        now = utcnow()
        with self._db.session() as db:
            decided = db.execute(
                update(SuggestionRow)
                .where(SuggestionRow.id == row.id, SuggestionRow.status == SuggestionStatus.PENDING)
                .values(status=status, decided_at=now, deleted_at=now if discard else None, replica_id=self._db.replica_id)
            ).rowcount
            if decided:
                events.record(db, "suggestion", status, row.session_id, row.id, actor)
            db.commit()
        if not decided:
            raise precondition(f"suggestion {row.id} is {self._get(row.id).status}; only a pending suggestion can be {verb}")

    def sweep(self, lead: timedelta) -> None:
        """Expires every pending suggestion whose time has passed, and announces those about to:
        once each, when less than `lead` is left, or half its life for one that lives less than
        twice `lead` (so a short-lived suggestion is not announced as expiring as it is made).
        Replicas may sweep at once: each change is a conditional update that one of them wins."""
        now = utcnow()
        with self._db.session() as db:
            due = db.scalars(select(SuggestionRow.session_id).where(
                SuggestionRow.status == SuggestionStatus.PENDING, SuggestionRow.expires_at <= now).distinct()).all()
            near = db.execute(select(SuggestionRow.id, SuggestionRow.session_id, SuggestionRow.created_at, SuggestionRow.expires_at).where(
                SuggestionRow.status == SuggestionStatus.PENDING, SuggestionRow.expires_at > now,
                SuggestionRow.expires_at <= now + lead, SuggestionRow.expiring_announced_at.is_(None))).all()
        for session_id in due:
            self._expire(session_id)
        for suggestion_id, session_id, created_at, expires_at in near:
            if now < expires_at - min(lead, (expires_at - created_at) / 2):
                continue
            with self._db.session() as db:
                announced = db.execute(update(SuggestionRow).where(
                    SuggestionRow.id == suggestion_id, SuggestionRow.status == SuggestionStatus.PENDING,
                    SuggestionRow.expiring_announced_at.is_(None)).values(expiring_announced_at=now)).rowcount
                if announced:
                    events.record(db, "suggestion", "expiring", session_id, suggestion_id)
                db.commit()

    def _expire(self, session_id: int) -> None:
        self._discard(session_id, SuggestionStatus.EXPIRED, (SuggestionRow.status == SuggestionStatus.PENDING) & (SuggestionRow.expires_at <= utcnow()))

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
                .where(SuggestionRow.id.in_(ids), SuggestionRow.status == SuggestionStatus.PENDING)
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

