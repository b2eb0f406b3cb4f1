"""The notification RPCs' work (thin handlers in service.py call these): subscriptions and
their deliveries on the wire. The signing secret leaves the server once, in
CreateSubscriptionResponse; nothing here logs it or the destination's credentials."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from corral.v1 import orchestrator_pb2
from orchestrator.api.access import caller, sees_every_subscription
from orchestrator.api.resources import MISSING
from orchestrator.egress.secrets import SecretBox, SecretsKeyError
from orchestrator.errors import Refused, invalid, not_found
from orchestrator.notifications import subscriptions
from orchestrator.notifications.subscriptions import SubscriptionRefused, Target
from orchestrator.notifications.targets import delivery_id
from orchestrator.store import Database
from orchestrator.store.models import NotificationOutboxRow, NotificationSubscriptionRow
from orchestrator.store.statuses import DeliveryStatus

log = logging.getLogger("corral.api")
DELIVERIES_PAGE_DEFAULT = 100
DELIVERIES_PAGE_MAX = 500
DELIVERY_STATUS = {status: orchestrator_pb2.DeliveryStatus.Value(f"DELIVERY_STATUS_{status.name}") for status in DeliveryStatus}
DELIVERY_STATUS_NAMES = {v: k for k, v in DELIVERY_STATUS.items()}


def _timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value.replace(tzinfo=UTC))
    return stamp


def subscription_message(row: NotificationSubscriptionRow) -> orchestrator_pb2.Subscription:
    return orchestrator_pb2.Subscription(id=row.id, owner=row.owner, events=row.events, target=row.target, destination=row.destination,
                                         session_id=row.session_id, created_at=_timestamp(row.created_at))


def delivery_message(row: NotificationOutboxRow) -> orchestrator_pb2.Delivery:
    pending = row.status == DeliveryStatus.PENDING
    return orchestrator_pb2.Delivery(
        id=delivery_id(row), subscription_id=row.subscription_id, type=row.event_type, event_id=row.event_id, session_id=row.session_id,
        status=DELIVERY_STATUS[DeliveryStatus(row.status)], attempts=row.attempts, last_error=row.last_error or "",
        occurred_at=_timestamp(row.occurred_at), next_attempt_at=_timestamp(row.next_attempt_at) if pending else None,
        delivered_at=_timestamp(row.delivered_at) if row.delivered_at else None,
    )


async def create_subscription(db: Database, secrets_key_file: Path | None,
                              request: orchestrator_pb2.CreateSubscriptionRequest) -> orchestrator_pb2.CreateSubscriptionResponse:
    try:
        box = SecretBox.from_file(secrets_key_file)
    except SecretsKeyError as exc:
        raise Refused(grpc.StatusCode.FAILED_PRECONDITION, f"notifications need sealed destinations: {exc}") from None
    which = request.WhichOneof("destination")
    target, url = (Target.WEBHOOK, request.webhook_url) if which == "webhook_url" else (Target.APPRISE, request.apprise_url) if which else ("", "")
    session_id = request.session_id if request.HasField("session_id") else None
    owner = caller().name
    try:
        row, secret = await db.run(lambda s: subscriptions.create(s, box, owner, list(request.events), target, url, session_id))
    except SubscriptionRefused as exc:
        raise invalid(str(exc)) from None
    log.info("notification subscription %s created by %s: %s to %s", row.id, row.owner, ",".join(row.events), row.target)
    return orchestrator_pb2.CreateSubscriptionResponse(subscription=subscription_message(row),
                                                       signing_secret=secret if target == Target.WEBHOOK else "")


def _owner_seen() -> str | None:
    """Whose subscriptions the caller sees: its own; an admin's or a built-in principal's, everyone's."""
    principal = caller()
    return None if sees_every_subscription(principal) else principal.name


async def list_subscriptions(db: Database) -> orchestrator_pb2.ListSubscriptionsResponse:
    owner = _owner_seen()
    rows = await db.run(lambda s: subscriptions.list_active(s, owner))
    return orchestrator_pb2.ListSubscriptionsResponse(subscriptions=[subscription_message(r) for r in rows])


async def delete_subscription(db: Database, subscription_id: int) -> orchestrator_pb2.DeleteSubscriptionResponse:
    if not await db.run(lambda s: subscriptions.delete(s, subscription_id)):
        raise not_found(MISSING["subscription"].format(subscription_id))
    log.info("notification subscription %s deleted", subscription_id)
    return orchestrator_pb2.DeleteSubscriptionResponse()


async def list_deliveries(db: Database, request: orchestrator_pb2.ListDeliveriesRequest) -> orchestrator_pb2.ListDeliveriesResponse:
    if request.page_size > DELIVERIES_PAGE_MAX:
        raise invalid(f"page_size must be at most {DELIVERIES_PAGE_MAX} (0: {DELIVERIES_PAGE_DEFAULT}), not {request.page_size}")
    limit = request.page_size or DELIVERIES_PAGE_DEFAULT
    status = DELIVERY_STATUS_NAMES.get(request.status)  # UNSPECIFIED: every status
    subscription_id = request.subscription_id if request.HasField("subscription_id") else None
    owner = _owner_seen()
    rows = await db.run(lambda s: subscriptions.list_deliveries(s, subscription_id, status, limit, owner))
    return orchestrator_pb2.ListDeliveriesResponse(deliveries=[delivery_message(r) for r in rows])
