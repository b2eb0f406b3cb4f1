"""The outbox as the delivery worker uses it: take the heads of due queues under a lease,
and record each attempt's outcome. Plain conditional UPDATEs, so any number of replicas
can share the table (SQLite or PostgreSQL): a row is sent by the replica whose UPDATE
took its lease, once per attempt.

Order: a (subscription, session) queue's rows go out in event id order; a row is taken
only when no earlier row of its queue is pending, and only once the event feed has settled
its event id (`settled_through`: on PostgreSQL a lower event id of the same session may
still be committing, and its outbox row with it)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from orchestrator.config import NotificationsConfig
from orchestrator.store.db import utcnow
from orchestrator.store.models import NotificationOutboxRow, NotificationSubscriptionRow
from orchestrator.store.statuses import DeliveryStatus

ERROR_CHARS = 500  # what is kept of a receiver's answer or an error


@dataclass(frozen=True)
class Claimed:
    """A delivery this replica holds the lease on."""

    row: NotificationOutboxRow
    subscription: NotificationSubscriptionRow


_Earlier = aliased(NotificationOutboxRow)


def claim_due(db: Session, replica: str, settled_through: int, lease_seconds: float, limit: int,
              skip: frozenset[int] = frozenset()) -> list[Claimed]:
    now = utcnow()
    lease_free = or_(NotificationOutboxRow.lease_until.is_(None), NotificationOutboxRow.lease_until < now)
    earlier_pending = exists().where(
        _Earlier.subscription_id == NotificationOutboxRow.subscription_id, _Earlier.queue == NotificationOutboxRow.queue,
        _Earlier.status == DeliveryStatus.PENDING, _Earlier.event_id < NotificationOutboxRow.event_id,
    )
    due = [NotificationOutboxRow.status == DeliveryStatus.PENDING, NotificationOutboxRow.next_attempt_at <= now,
           NotificationOutboxRow.event_id <= settled_through, lease_free, ~earlier_pending]
    if skip:  # rows this replica is sending already
        due.append(NotificationOutboxRow.id.not_in(skip))
    candidates = db.scalars(select(NotificationOutboxRow.id).where(*due).order_by(NotificationOutboxRow.event_id).limit(limit)).all()
    claimed: list[Claimed] = []
    until = now + timedelta(seconds=lease_seconds)
    for row_id in candidates:
        took = db.execute(
            update(NotificationOutboxRow).where(NotificationOutboxRow.id == row_id, NotificationOutboxRow.status == DeliveryStatus.PENDING, lease_free)
            .values(lease_owner=replica, lease_until=until)
        ).rowcount
        db.commit()  # each lease on its own: another replica may be taking the others
        if took:
            row = db.get_one(NotificationOutboxRow, row_id, populate_existing=True)
            claimed.append(Claimed(row, db.get_one(NotificationSubscriptionRow, row.subscription_id)))
    return claimed


def mark_delivered(db: Session, row_id: int, replica: str) -> None:
    db.execute(update(NotificationOutboxRow).where(NotificationOutboxRow.id == row_id, NotificationOutboxRow.lease_owner == replica).values(
        status=DeliveryStatus.DELIVERED, attempts=NotificationOutboxRow.attempts + 1, delivered_at=utcnow(),
        lease_owner=None, lease_until=None, last_error=None))
    db.commit()


def backoff_seconds(attempts: int, config: NotificationsConfig) -> float:
    """Full jitter: uniform up to the exponential bound, so receivers that came back are not
    hit by every sender at once."""
    bound = min(config.backoff_max_seconds, config.backoff_initial_seconds * 2 ** min(attempts - 1, 60))
    return random.uniform(bound / 2, bound)


def mark_failed(db: Session, row_id: int, replica: str, error: str, config: NotificationsConfig, final: bool = False) -> DeliveryStatus:
    """Records a failed attempt: retried later, or dead-lettered when out of attempts or age."""
    row = db.get_one(NotificationOutboxRow, row_id, populate_existing=True)
    if row.lease_owner != replica:
        return DeliveryStatus(row.status)  # the lease ran out and another replica has it
    now = utcnow()
    row.attempts += 1
    row.last_error = error[:ERROR_CHARS]
    row.lease_owner = row.lease_until = None
    retry_at = now + timedelta(seconds=backoff_seconds(row.attempts, config))
    too_old = retry_at - row.occurred_at > timedelta(seconds=config.max_age_seconds)
    if final or row.attempts >= config.max_attempts or too_old:
        row.status = DeliveryStatus.DEAD
    else:
        row.next_attempt_at = retry_at
    db.commit()
    return DeliveryStatus(row.status)


def release_leases(db: Session, replica: str) -> int:
    """At start: deliveries this replica was sending when it stopped go out again now (at
    least once: the receiver may have had one, and dedupes on the delivery id)."""
    released = db.execute(update(NotificationOutboxRow).where(
        NotificationOutboxRow.lease_owner == replica, NotificationOutboxRow.status == DeliveryStatus.PENDING,
    ).values(lease_owner=None, lease_until=None)).rowcount
    db.commit()
    return released


def next_due_at(db: Session) -> datetime | None:
    return db.scalar(select(NotificationOutboxRow.next_attempt_at).where(NotificationOutboxRow.status == DeliveryStatus.PENDING)
                     .order_by(NotificationOutboxRow.next_attempt_at).limit(1))
