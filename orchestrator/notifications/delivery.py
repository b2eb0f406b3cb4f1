"""The delivery worker: on the orchestrator's event loop, woken when the event feed settles
an event that may notify (and at the next due retry). Database work runs off the loop
(`Database.run`); sends run concurrently, one per queue at a time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from orchestrator.config import NotificationsConfig
from orchestrator.egress.secrets import SecretBox, SecretsKeyError
from orchestrator.notifications import outbox, subscriptions, targets
from orchestrator.notifications.subscriptions import Target
from orchestrator.store import changes, events
from orchestrator.store.db import Database, utcnow
from orchestrator.store.notification_outbox import WATCHED
from orchestrator.store.statuses import DeliveryStatus

log = logging.getLogger("corral.notifications")


class DeliveryWorker:
    def __init__(self, database: Database, config: NotificationsConfig, secrets_key_file: Path | None,
                 settled_through: Callable[[], int]) -> None:
        self._db = database
        self._config = config
        self._settled_through = settled_through
        try:
            self._box: SecretBox | None = SecretBox.from_file(secrets_key_file) if secrets_key_file else None
        except SecretsKeyError as exc:
            log.error("notifications cannot be sent: %s", exc)
            self._box = None
        self._wake = asyncio.Event()
        self._sending: dict[int, asyncio.Task[None]] = {}
        self.delivered = 0

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        released = await self._db.run(lambda db: outbox.release_leases(db, self._db.replica_id))
        if released:
            log.info("%d notifications this replica was sending when it stopped go out again", released)
        while True:
            self._wake.clear()
            try:
                await self.send_due()
            except Exception:
                log.exception("taking due notifications failed")
            try:
                await self._sleep_until_due()
            except Exception:  # the database is away: look again after the poll interval
                log.exception("reading when notifications are due failed")
                await asyncio.sleep(self._config.poll_seconds)

    async def send_due(self) -> None:
        room = self._config.concurrency - len(self._sending)
        if room <= 0:
            return
        settled, busy = self._settled_through(), frozenset(self._sending)
        claimed = await self._db.run(lambda db: outbox.claim_due(db, self._db.replica_id, settled, self._config.lease_seconds, room, busy))
        for item in claimed:
            self._sending[item.row.id] = asyncio.create_task(self._send(item), name=f"notification {item.row.id}")

    async def _sleep_until_due(self) -> None:
        due = await self._db.run(outbox.next_due_at)
        wait = self._config.poll_seconds
        if due is not None:
            wait = min(wait, max(0.0, (due - utcnow()).total_seconds()) + 0.01)
        # Not asyncio.wait_for: on 3.11 it can swallow a cancellation that comes as a send wakes it.
        await changes.sleep_until_woken(self._wake, wait)

    async def _send(self, item: outbox.Claimed) -> None:
        row, subscription = item.row, item.subscription
        replica = self._db.replica_id
        try:
            try:
                await self._deliver(item)
            except targets.DeliveryFailed as exc:
                reason, final = str(exc), exc.final
                status = await self._db.run(lambda db: outbox.mark_failed(db, row.id, replica, reason, self._config, final))
                level = logging.WARNING if status == DeliveryStatus.DEAD else logging.INFO
                log.log(level, "notification %s to subscription %s failed (attempt %d): %s%s", targets.delivery_id(row),
                        subscription.id, row.attempts + 1, reason, "; dead-lettered" if status == DeliveryStatus.DEAD else "")
            else:
                await self._db.run(lambda db: outbox.mark_delivered(db, row.id, replica))
                self.delivered += 1
        except Exception:
            log.exception("notification %s: recording its outcome failed (its lease runs out and it is sent again)", row.id)
        finally:
            self._sending.pop(row.id, None)
            self.wake()  # the next of its queue may go now

    async def _deliver(self, item: outbox.Claimed) -> None:
        row, subscription = item.row, item.subscription
        if subscription.deleted_at is not None:
            raise targets.DeliveryFailed("the subscription was deleted", final=True)
        if self._box is None:
            raise targets.DeliveryFailed("[egress] secrets_key_file is not set or unreadable: the destination cannot be opened")
        opened = subscriptions.open_sealed(self._box, subscription)
        if opened is None:
            raise targets.DeliveryFailed("the destination does not open under the secrets key (was the key replaced?)")
        if subscription.target == Target.APPRISE:
            await targets.send_apprise(opened.url, row, self._config)
        else:
            await targets.send_webhook(opened.url, opened.secret, row, self._config)

    async def stop(self) -> None:
        """Lets sends in flight finish (each is bounded by its timeout), so a clean stop
        sends nothing twice; what is cut off is sent again after the restart."""
        sending = list(self._sending.values())
        if sending:
            await asyncio.wait(sending, timeout=self._config.timeout_seconds)
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)


def settled_horizon(feed: events.EventFeed) -> int:
    """Event ids up to here are final (committed or never to be); 0 until the feed has started
    (on PostgreSQL its first ids may still be in flight then)."""
    return feed.high if feed.started.is_set() else 0


async def follow(feed: events.EventFeed, worker: DeliveryWorker) -> None:
    """Wakes the worker for each settled event that may notify: its outbox rows are
    committed with it, and every lower event id is final, so its queue's order holds."""
    async for item in feed.watch(None, None):
        if isinstance(item, events.Position):
            continue
        if (item.kind, item.change) in WATCHED:
            worker.wake()
