"""Suggestion created → webhook received: the notification path's latency.

    .venv/bin/python -m bench.notifications [--count N] [--backend sqlite|postgresql ...]

In one process, as the orchestrator runs it: `Suggestions.store` commits a suggestion (and,
in that transaction, its outbox row), the event feed settles it, the delivery worker takes
the row's lease, signs and POSTs it to a local receiver, and records the delivery. One
suggestion at a time, each timed from just before its commit to the receiver's arrival.
The baseline, measured in the same run: the same signed POST sent directly to the same
receiver (what delivery costs without the outbox). The goal is absolute (issue 18: median
≤ 2 s), so the row gives the median itself as well as the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import Row, emit, percentile, summary
from orchestrator.actions.suggestions import Suggestions
from orchestrator.config import NotificationsConfig
from orchestrator.notifications import targets
from orchestrator.store import Database, SessionRow
from orchestrator.store.models import NotificationOutboxRow
from orchestrator.store.statuses import ActionKind
from tests.helpers import seed_sessions
from tests.notification_receiver import Receiver
from tests.notification_stack import delivering, secrets_key, subscribe


async def _direct_posts(receiver: Receiver, secret: str, db: Database, count: int) -> list[float]:
    """The baseline: the worker's own send (sign, check the address, POST) of an outbox row."""
    with db.session() as s:
        row = s.query(NotificationOutboxRow).first()
    assert row is not None
    config = NotificationsConfig(allow_private_destinations=True)
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        await targets.send_webhook(receiver.url, secret, row, config)
        seconds.append(time.perf_counter() - started)
    return seconds


async def _measure(db: Database, key: Path, count: int) -> tuple[list[float], list[float]]:
    suggestions = Suggestions(db, None)  # type: ignore[arg-type]  # storing needs no gateway
    with db.session() as s:
        session = s.get_one(SessionRow, 1)
    async with Receiver() as receiver, delivering(db, key, poll_seconds=5.0):
        _, secret = subscribe(db, key, receiver.url, ["suggestion.created"])
        latencies = []
        for n in range(count + 5):  # the first five warm up
            arrived = len(receiver.requests)
            started = time.monotonic()
            await asyncio.to_thread(suggestions.store, session, None, ActionKind.TRANSACTION, b"", {}, None)
            while len(receiver.requests) == arrived:
                await asyncio.sleep(0.001)
            if n >= 5:
                latencies.append(receiver.requests[-1].at - started)
        direct = await _direct_posts(receiver, secret, db, count)
    return latencies, direct


def run(backend: str, count: int) -> None:
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        if backend == "postgresql":
            from devtools.devpostgres import PostgresServer

            server = stack.enter_context(PostgresServer())
            url = server.create_database("notifications_bench")
        else:
            url = f"sqlite:///{folder}/o.db"
        db = Database(url, "bench")
        seed_sessions(db, 1)
        latencies, direct = asyncio.run(_measure(db, secrets_key(Path(folder)), count))
        db.engine.dispose()
    print(summary(f"{backend}: direct signed POST", direct))
    print(summary(f"{backend}: suggestion created → webhook received", latencies, statistics.median(direct)))
    p50 = percentile(latencies, 50)
    emit(Row(f"suggestion → webhook received p50 ({backend}, `notifications`)",
             f"p50 {p50 * 1000:.1f} ms, p90 {percentile(latencies, 90) * 1000:.1f} ms (n={count})",
             f"direct signed POST p50 {percentile(direct, 50) * 1000:.1f} ms", p50 / percentile(direct, 50), "median ≤ 2 s"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--backend", nargs="*", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    for backend in args.backend:
        run(backend, args.count)


if __name__ == "__main__":
    main()
