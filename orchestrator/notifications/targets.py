"""Sending one delivery: the payload every target gets, a signed webhook POST, or an
apprise notification (chat, e-mail). Each raises DeliveryFailed with a short reason
(kept on the outbox row, shown by ListDeliveries) and never the secret or the URL's
credentials."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import apprise

from orchestrator.config import NotificationsConfig
from orchestrator.notifications import signing
from orchestrator.notifications.destinations import DestinationRefused, PinnedResolver, apprise_hosts, checked_addresses, parse_webhook_url
from orchestrator.store.models import NotificationOutboxRow

USER_AGENT = "Corral-Webhooks/1"


class DeliveryFailed(Exception):
    def __init__(self, reason: str, final: bool = False) -> None:
        super().__init__(reason)
        self.final = final  # no retry can help: dead-letter it now


def delivery_id(row: NotificationOutboxRow) -> str:
    """Unique per delivery and the same on every attempt of it: receivers dedupe on it."""
    return f"dlv_{row.id}"


def payload(row: NotificationOutboxRow) -> bytes:
    return json.dumps({
        "id": delivery_id(row),
        "type": row.event_type,
        "subscription_id": row.subscription_id,
        "event": {"id": row.event_id, "kind": row.kind, "change": row.change, "session_id": row.session_id,
                  "ref_id": row.ref_id, "occurred_at": row.occurred_at.isoformat() + "Z"},
    }, separators=(",", ":")).encode()


def summary(row: NotificationOutboxRow) -> tuple[str, str]:
    """Title and text for people (chat, e-mail)."""
    where = f"session {row.session_id}" if row.session_id is not None else "the platform"
    return f"Corral: {row.event_type} ({where})", (
        f"{row.event_type} on {where}: {row.kind} {row.ref_id} {row.change} at {row.occurred_at.isoformat()}Z (event {row.event_id})")


async def send_webhook(url: str, secret: str, row: NotificationOutboxRow, config: NotificationsConfig) -> None:
    try:
        destination = parse_webhook_url(url)
        addresses = await checked_addresses(destination.host, destination.port, config.allow_private_destinations)
    except DestinationRefused as exc:
        raise DeliveryFailed(str(exc)) from None
    body = payload(row)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, signing.HEADER: signing.signature(secret, body),
               signing.DELIVERY_HEADER: delivery_id(row), signing.EVENT_HEADER: row.event_type}
    connector = aiohttp.TCPConnector(resolver=PinnedResolver(destination.host, addresses), force_close=True)
    timeout = aiohttp.ClientTimeout(total=config.timeout_seconds)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            # No redirects: a 3xx could point anywhere, past the address check.
            async with http.post(url, data=body, headers=headers, allow_redirects=False) as response:
                answer = await response.content.read(config.response_bytes)
                if not 200 <= response.status < 300:
                    raise DeliveryFailed(f"HTTP {response.status}: {answer[:200].decode('utf-8', 'replace')}")
    except TimeoutError:
        raise DeliveryFailed(f"no answer within {config.timeout_seconds:g} s") from None
    except aiohttp.ClientError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300]) from None


def _apprise_notify(url: str, title: str, text: str) -> None:
    sender = apprise.Apprise()
    if not sender.add(url):
        raise DeliveryFailed("apprise does not accept this URL (unknown scheme or malformed)")
    if not sender.notify(title=title, body=text):
        raise DeliveryFailed("apprise could not send it (the service refused or was unreachable)")


async def send_apprise(url: str, row: NotificationOutboxRow, config: NotificationsConfig) -> None:
    # apprise connects by itself, so the check cannot pin the address as webhooks do; it
    # still refuses URLs that name a non-public host (see docs/operators.md).
    try:
        for host in apprise_hosts(url):
            await checked_addresses(host, 0, config.allow_private_destinations)
    except DestinationRefused as exc:
        raise DeliveryFailed(str(exc)) from None
    title, text = summary(row)
    try:
        await asyncio.wait_for(asyncio.to_thread(_apprise_notify, url, title, text), config.timeout_seconds)
    except TimeoutError:
        raise DeliveryFailed(f"no answer within {config.timeout_seconds:g} s") from None
