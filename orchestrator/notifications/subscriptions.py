"""Subscriptions: made, listed and deleted through the API, and opened for delivery. The
destination URL and the webhook's signing secret are sealed with the installation's
secrets key (`[egress] secrets_key_file`); the secret is shown once, in the response that
creates the subscription, and never again (rotate: create a new one, delete the old)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.egress.secrets import SecretBox
from orchestrator.notifications import signing
from orchestrator.notifications.destinations import DestinationRefused, apprise_hosts, display_form, parse_webhook_url
from orchestrator.store.db import utcnow
from orchestrator.store.models import NotificationOutboxRow, NotificationSubscriptionRow, SessionRow
from orchestrator.store.notification_outbox import NotificationEvent
from orchestrator.store.statuses import DeliveryStatus

MAX_ACTIVE = 100  # per principal
_SEAL_NAME = "notification-subscription"


class Target(StrEnum):
    WEBHOOK = "webhook"
    APPRISE = "apprise"


class SubscriptionRefused(Exception):
    """The message names the field and the fix."""


@dataclass(frozen=True)
class Opened:
    """A subscription's sealed part, for a delivery only."""

    url: str
    secret: str

    def __repr__(self) -> str:  # never the URL's credentials or the secret, in a traceback
        return "Opened(…)"


def _binding(subscription_id: int) -> str:
    return f"subscription:{subscription_id}"


def seal(box: SecretBox, subscription_id: int, url: str, secret: str) -> bytes:
    return box.seal(0, _SEAL_NAME, _binding(subscription_id), json.dumps({"url": url, "secret": secret}))


def open_sealed(box: SecretBox, row: NotificationSubscriptionRow) -> Opened | None:
    value = box.open(0, _SEAL_NAME, _binding(row.id), row.sealed)
    if value is None:
        return None
    fields = json.loads(value)
    return Opened(fields["url"], fields["secret"])


def parse_events(names: list[str]) -> list[NotificationEvent]:
    if not names:
        raise SubscriptionRefused(f"events: name at least one of {', '.join(NotificationEvent)}")
    known = {event.value: event for event in NotificationEvent}
    unknown = [name[:40] for name in names if name not in known]
    if unknown:
        raise SubscriptionRefused(f"events: {unknown[0]!r} is not an event type; use one of {', '.join(NotificationEvent)}")
    return list(dict.fromkeys(known[name] for name in names))


def check_destination(target: str, url: str) -> tuple[Target, str]:
    """The target and what listing shows of it; the address check happens at each send."""
    if target == Target.WEBHOOK:
        try:
            return Target.WEBHOOK, parse_webhook_url(url).url
        except DestinationRefused as exc:
            raise SubscriptionRefused(f"webhook_url: {exc}") from None
    if target == Target.APPRISE:
        if "://" not in url or len(url) > 2048:
            raise SubscriptionRefused("apprise_url: give one apprise URL such as mailto://user:password@example.com "
                                      "or json://hooks.example.com/path (at most 2048 characters)")
        try:
            apprise_hosts(url)
        except DestinationRefused as exc:
            raise SubscriptionRefused(str(exc)) from None
        return Target.APPRISE, display_form(url)
    raise SubscriptionRefused("set webhook_url or apprise_url")


def create(db: Session, box: SecretBox, owner: str, events: list[str], target: str, url: str,
           session_id: int | None) -> tuple[NotificationSubscriptionRow, str]:
    """The new subscription and its signing secret (the one time it is returned)."""
    kinds = parse_events(events)
    kind, destination = check_destination(target, url)
    if session_id is not None and db.get(SessionRow, session_id) is None:
        raise SubscriptionRefused(f"session_id: there is no session {session_id}; `corral session list` shows them")
    active = len(db.scalars(select(NotificationSubscriptionRow.id).where(
        NotificationSubscriptionRow.deleted_at.is_(None), NotificationSubscriptionRow.owner == owner)).all())
    if active >= MAX_ACTIVE:
        raise SubscriptionRefused(f"{owner} has {active} subscriptions, the most allowed; delete one first")
    secret = signing.new_secret()
    row = NotificationSubscriptionRow(owner=owner, events=[str(k) for k in kinds], target=kind, destination=destination,
                                      session_id=session_id, sealed=b"", created_at=utcnow())
    db.add(row)
    db.flush()  # its id binds the sealed part to it
    row.sealed = seal(box, row.id, url, secret)
    db.commit()
    return row, secret


def list_active(db: Session, owner: str | None) -> list[NotificationSubscriptionRow]:
    """`owner`'s subscriptions; None: everyone's."""
    query = select(NotificationSubscriptionRow).where(NotificationSubscriptionRow.deleted_at.is_(None))
    if owner is not None:
        query = query.where(NotificationSubscriptionRow.owner == owner)
    return list(db.scalars(query.order_by(NotificationSubscriptionRow.id)))


def delete(db: Session, subscription_id: int) -> bool:
    """Stops new deliveries; pending ones are dead-lettered by the worker when it meets them."""
    row = db.get(NotificationSubscriptionRow, subscription_id)
    if row is None or row.deleted_at is not None:
        return False
    row.deleted_at = utcnow()
    db.commit()
    return True


def list_deliveries(db: Session, subscription_id: int | None, status: DeliveryStatus | None, limit: int,
                    owner: str | None) -> list[NotificationOutboxRow]:
    """Newest first; of `owner`'s subscriptions (None: everyone's)."""
    query = select(NotificationOutboxRow).order_by(NotificationOutboxRow.id.desc()).limit(limit)
    if owner is not None:
        query = query.join(NotificationSubscriptionRow, NotificationSubscriptionRow.id == NotificationOutboxRow.subscription_id).where(
            NotificationSubscriptionRow.owner == owner)
    if subscription_id is not None:
        query = query.where(NotificationOutboxRow.subscription_id == subscription_id)
    if status is not None:
        query = query.where(NotificationOutboxRow.status == status)
    return list(db.scalars(query))
