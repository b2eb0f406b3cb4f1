"""Which events notify, and the outbox row each matching subscription gets in the event's
own transaction (`events.record` calls `enqueue`): an event that commits has its deliveries
queued, one that rolls back has none, and a crash between the two cannot happen. Delivery
is orchestrator/notifications/."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from orchestrator.store import principals
from orchestrator.store.models import ExecutionRow, NotificationOutboxRow, NotificationSubscriptionRow, SessionRow
from orchestrator.store.statuses import DeliveryStatus, ExecutionStatus, SessionStatus


class NotificationEvent(StrEnum):
    """What a subscription can ask for: the `type` of a delivered notification."""

    SUGGESTION_CREATED = "suggestion.created"
    SUGGESTION_EXPIRING = "suggestion.expiring"
    SUGGESTION_EXPIRED = "suggestion.expired"
    BREAKER_TRIPPED = "breaker.tripped"
    DRIFT_DETECTED = "drift.detected"
    EXECUTION_FAILED = "execution.failed"
    PLATFORM_HALTED = "platform.halted"


# The feed's (kind, change) pairs that may notify; the rest cost `record` one set lookup.
WATCHED = {
    ("suggestion", "created"), ("suggestion", "expiring"), ("suggestion", "expired"), ("session", SessionStatus.PAUSED),
    ("drift", "detected"), ("execution", "finished"), ("platform", "halted"),
}
# Breakers say so in the reason they pause with (orchestrator/actions/breakers.py).
_BREAKER_REASON = "breaker "
_INSERT = insert(NotificationOutboxRow.__table__)
_ACTIVE = select(NotificationSubscriptionRow.id, NotificationSubscriptionRow.events, NotificationSubscriptionRow.session_id,
                 NotificationSubscriptionRow.owner).where(NotificationSubscriptionRow.deleted_at.is_(None))


def classify(db: Session, kind: str, change: str, ref_id: int) -> NotificationEvent | None:
    """The notification an event is, if any. Rows the caller changed are in `db`'s identity
    map, so this reads no table for them."""
    if kind == "suggestion":
        return {"created": NotificationEvent.SUGGESTION_CREATED, "expiring": NotificationEvent.SUGGESTION_EXPIRING}.get(
            change, NotificationEvent.SUGGESTION_EXPIRED)
    if kind == "drift":
        return NotificationEvent.DRIFT_DETECTED
    if kind == "platform":
        return NotificationEvent.PLATFORM_HALTED
    if kind == "execution":
        execution = db.get(ExecutionRow, ref_id)
        return NotificationEvent.EXECUTION_FAILED if execution is not None and execution.status == ExecutionStatus.FAILED else None
    session = db.get(SessionRow, ref_id)
    reason = (session.status_reason or "") if session is not None else ""
    return NotificationEvent.BREAKER_TRIPPED if reason.startswith(_BREAKER_REASON) else None


def subscribers(db: Session, kind: str, change: str, session_id: int | None, ref_id: int) -> tuple[NotificationEvent | None, list[int]]:
    """The notification an event is, and the subscriptions that want it (none for most
    events: `record` then inserts the event as if there were no notifications)."""
    if (kind, change) not in WATCHED:
        return None, []
    event_type = classify(db, kind, change, ref_id)
    if event_type is None:
        return None, []
    wanting = [row for row in db.execute(_ACTIVE) if event_type in row.events and (row.session_id is None or row.session_id == session_id)]
    if not wanting:
        return event_type, []
    # A user's subscription hears of its own wallets' sessions only (and of the platform);
    # a revoked user's of nothing. The built-in principals' (not users) hear of everything.
    users = principals.wallets_of(db, {row.owner for row in wanting})
    session = db.get(SessionRow, session_id) if session_id is not None else None
    wallet = principals.wallet_key(session.owner_wallet) if session is not None else None
    return event_type, [row.id for row in wanting if row.owner not in users
                        or (users[row.owner] is not None and (wallet is None or wallet in users[row.owner]))]  # type: ignore[operator]


def enqueue(db: Session, event_id: int, event_type: NotificationEvent, subscription_ids: list[int], kind: str, change: str,
            session_id: int | None, ref_id: int, occurred_at: datetime) -> None:
    """One outbox row per subscription, in the event's transaction."""
    db.connection().execute(_INSERT, [
        {"subscription_id": subscription_id, "queue": session_id or 0, "event_id": event_id, "event_type": event_type,
         "kind": kind, "change": change, "session_id": session_id, "ref_id": ref_id, "occurred_at": occurred_at,
         "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": occurred_at, "created_at": occurred_at}
        for subscription_id in subscription_ids
    ])
