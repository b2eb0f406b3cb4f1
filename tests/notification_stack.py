"""The notification path in one process, as the orchestrator runs it (event feed, the
feed's wake-ups, the delivery worker), for the notification tests and benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from orchestrator.config import NotificationsConfig
from orchestrator.egress.secrets import SecretBox
from orchestrator.notifications import subscriptions
from orchestrator.notifications.delivery import DeliveryWorker, follow, settled_horizon
from orchestrator.store import Database, events
from orchestrator.store.events import EventFeed

# Local receivers are on 127.0.0.1; retries come fast so tests do not wait on back-off.
FAST = dict(allow_private_destinations=True, backoff_initial_seconds=0.05, backoff_max_seconds=0.2, poll_seconds=0.5,
            timeout_seconds=3.0, lease_seconds=10.0)


def secrets_key(folder: Path) -> Path:
    path = folder / "secrets.key"
    path.write_bytes(os.urandom(32))
    return path


def subscribe(db: Database, key: Path, url: str, event_types: list[str], target: str = "webhook", session_id: int | None = None,
              owner: str = "api") -> tuple[int, str]:
    with db.session() as s:
        row, secret = subscriptions.create(s, SecretBox.from_file(key), owner, event_types, target, url, session_id)
        return row.id, secret


def record_event(db: Database, kind: str, change: str, session_id: int | None, ref_id: int) -> None:
    with db.session() as s:
        events.record(s, kind, change, session_id, ref_id)
        s.commit()


@contextlib.asynccontextmanager
async def delivering(db: Database, key: Path | None, **settings) -> AsyncIterator[DeliveryWorker]:
    config = NotificationsConfig(**{**FAST, **settings})
    feed = EventFeed(db, recheck_seconds=0.5)
    worker = DeliveryWorker(db, config, key, settled_through=lambda: settled_horizon(feed))
    tasks = [asyncio.create_task(feed.run_forever()), asyncio.create_task(worker.run_forever()), asyncio.create_task(follow(feed, worker))]
    try:
        yield worker
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await worker.stop()


async def until(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
