"""Notifications (issue 18, item 7), against local receivers: a subscribed event reaches a
webhook signed (HMAC over a fresh timestamp and the body) with a delivery id; a receiver
that fails gets it again with back-off, and a session's later event never before an
earlier one; what was enqueued survives a crash before (or during) its delivery; a private
address is refused unless the operator allows it; the secret is in no log; apprise targets
get the event too; a dead letter says why."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from devtools.devpostgres import PostgresServer
from orchestrator.notifications import outbox, signing
from orchestrator.store import Database, ExecutionRow, SessionRow, events, utcnow
from orchestrator.store.models import NotificationOutboxRow
from orchestrator.store.retention import Retention
from orchestrator.store.statuses import DeliveryStatus, ExecutionStatus
from tests.helpers import seed_sessions
from tests.notification_receiver import Receiver
from tests.notification_stack import delivering, record_event, secrets_key, subscribe, until


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'o.db'}", "replica-a")
    seed_sessions(database, 2)
    return database


@pytest.fixture
def key(tmp_path):
    return secrets_key(tmp_path)


def outbox_rows(db: Database) -> list[NotificationOutboxRow]:
    with db.session() as s:
        return list(s.query(NotificationOutboxRow).order_by(NotificationOutboxRow.id))


def test_a_subscribed_event_arrives_signed_with_a_fresh_timestamp_and_a_delivery_id(db, key):
    async def main():
        async with Receiver() as receiver, delivering(db, key):
            _, secret = subscribe(db, key, receiver.url, ["suggestion.created"])
            record_event(db, "suggestion", "created", 1, 41)
            await until(lambda: [r.status for r in outbox_rows(db)] == [DeliveryStatus.DELIVERED], what="the delivery")
            return receiver.requests, secret

    requests, secret = asyncio.run(main())
    assert len(requests) == 1
    got = requests[0]
    assert signing.verify(secret, got.headers["Corral-Signature"], got.body)
    stamp = int(got.headers["Corral-Signature"].split(",")[0].removeprefix("t="))
    assert abs(time.time() - stamp) < 60
    assert not signing.verify(secret, got.headers["Corral-Signature"], got.body + b" ")  # the body is what is signed
    assert got.headers["Corral-Delivery"].startswith("dlv_") and got.headers["Corral-Event"] == "suggestion.created"
    assert got.json["type"] == "suggestion.created"
    assert got.json["event"]["session_id"] == 1 and got.json["event"]["ref_id"] == 41
    assert [r.status for r in outbox_rows(db)] == [DeliveryStatus.DELIVERED]


def test_a_failing_receiver_gets_each_event_at_least_once_and_a_sessions_events_in_order(db, key):
    async def main():
        async with Receiver(fail_with=[500, 503]) as receiver, delivering(db, key):
            subscribe(db, key, receiver.url, ["suggestion.created"])
            record_event(db, "suggestion", "created", 1, 1)
            record_event(db, "suggestion", "created", 1, 2)
            await until(lambda: len(receiver.accepted) == 2, what="both events")
            await until(lambda: {r.status for r in outbox_rows(db)} == {DeliveryStatus.DELIVERED}, what="both recorded")
            return receiver.requests

    requests = asyncio.run(main())
    refs = [r.json["event"]["ref_id"] for r in requests]
    # Event 1 was refused twice, and event 2 waited for it: never sent before 1 was accepted.
    assert refs == [1, 1, 1, 2]
    assert [r.status for r in requests] == [500, 503, 200, 200]
    assert len({r.headers["Corral-Delivery"] for r in requests[:3]}) == 1  # one delivery id across its attempts
    rows = outbox_rows(db)
    assert [(r.status, r.attempts) for r in rows] == [(DeliveryStatus.DELIVERED, 3), (DeliveryStatus.DELIVERED, 1)]


def test_other_sessions_do_not_wait_behind_a_failing_one(db, key):
    async def main():
        async with Receiver(fail_with=[500] * 3, failing_session=1) as receiver, delivering(db, key, backoff_initial_seconds=0.3, backoff_max_seconds=0.6):
            subscribe(db, key, receiver.url, ["suggestion.created"])
            record_event(db, "suggestion", "created", 1, 1)
            await until(lambda: receiver.requests, what="the first attempt")
            record_event(db, "suggestion", "created", 2, 2)
            await until(lambda: len(receiver.accepted) == 2, what="both events")
            return receiver.requests

    refs = [(r.json["event"]["session_id"], r.status) for r in asyncio.run(main())]
    assert refs.index((2, 200)) < refs.index((1, 200))


def test_what_was_enqueued_before_a_crash_is_delivered_after_the_restart(db, key):
    async def main():
        async with Receiver() as receiver:
            subscribe(db, key, receiver.url, ["suggestion.created"])
            # Committed with its event while no worker ran (the process died right after).
            record_event(db, "suggestion", "created", 1, 1)
            record_event(db, "suggestion", "created", 1, 2)
            # And one this replica had taken to send when it was killed: its lease is still held.
            with db.session() as s:
                taken = outbox.claim_due(s, "replica-a", settled_through=10**9, lease_seconds=3600, limit=1)
            assert [c.row.event_id for c in taken] == [1]
            async with delivering(db, key):
                await until(lambda: len(receiver.accepted) == 2, what="both events after the restart")
            return receiver.requests

    assert [r.json["event"]["ref_id"] for r in asyncio.run(main())] == [1, 2]


def test_an_event_that_rolls_back_enqueues_nothing(db, key):
    subscribe(db, key, "http://127.0.0.1:9/x", ["suggestion.created"])
    with db.session() as s:
        events.record(s, "suggestion", "created", 1, 1)
        s.rollback()
    assert outbox_rows(db) == []


def test_only_the_subscribed_types_and_session_are_enqueued(db, key):
    subscribe(db, key, "http://127.0.0.1:9/x", ["execution.failed", "breaker.tripped"], session_id=1)
    with db.session() as s:
        now = utcnow()
        for execution_id, status in ((1, ExecutionStatus.SUCCEEDED), (2, ExecutionStatus.FAILED)):
            s.add(ExecutionRow(id=execution_id, session_id=1, command="run", status=status, started_at=now, finished_at=now, error=""))
        s.commit()
    record_event(db, "execution", "finished", 1, 1)  # succeeded: not a failure
    record_event(db, "execution", "finished", 1, 2)
    record_event(db, "suggestion", "created", 1, 3)  # not subscribed to
    with db.session() as s:
        session = s.get_one(SessionRow, 1)
        session.status, session.status_reason = "paused", "paused by the user"
        events.record(s, "session", "paused", 1, 1)  # a pause, not a breaker
        session.status_reason = "breaker max_loss tripped: the session lost 5"
        events.record(s, "session", "paused", 1, 1)
        s.commit()
    record_event(db, "execution", "finished", 2, 2)  # another session's
    assert [(r.event_type, r.ref_id) for r in outbox_rows(db)] == [("execution.failed", 2), ("breaker.tripped", 1)]


def test_a_private_address_is_refused_by_default(db, key):
    async def main():
        async with Receiver() as receiver, delivering(db, key, allow_private_destinations=False):
            subscribe(db, key, receiver.url, ["suggestion.created"])
            record_event(db, "suggestion", "created", 1, 1)
            await until(lambda: outbox_rows(db)[0].attempts >= 1, what="the refused attempt")
            return receiver.requests

    assert asyncio.run(main()) == []
    error = outbox_rows(db)[0].last_error
    assert "not a public address" in error and "allow_private_destinations" in error


def test_a_delivery_is_dead_lettered_after_its_attempts_and_says_why(db, key):
    async def main():
        async with Receiver(fail_with=[500] * 10) as receiver, delivering(db, key, max_attempts=2):
            subscribe(db, key, receiver.url, ["platform.halted"])
            record_event(db, "platform", "halted", None, 0)
            record_event(db, "platform", "halted", None, 0)
            await until(lambda: [r.status for r in outbox_rows(db)] == [DeliveryStatus.DEAD] * 2, what="two dead letters")

    asyncio.run(main())
    first = outbox_rows(db)[0]
    assert first.attempts == 2 and first.last_error.startswith("HTTP 500")


def test_the_secret_is_in_no_log(db, key, caplog):
    caplog.set_level(logging.DEBUG)

    async def main():
        async with Receiver(fail_with=[500]) as receiver, delivering(db, key):
            _, secret = subscribe(db, key, receiver.url, ["suggestion.created"])
            record_event(db, "suggestion", "created", 1, 1)
            await until(lambda: receiver.accepted, what="the webhook")
            return secret

    secret = asyncio.run(main())
    assert "notification dlv_1" in caplog.text  # the failed attempt was logged...
    assert secret not in caplog.text  # ...without the secret
    with db.session() as s:
        assert secret.encode() not in s.connection().exec_driver_sql("SELECT sealed FROM notification_subscriptions").scalar_one()


def test_an_apprise_target_gets_the_event(db, key):
    got: list[dict] = []

    async def main():
        async def handle(request: web.Request) -> web.Response:
            got.append(await request.json())
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/notify", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        try:
            async with delivering(db, key):
                subscribe(db, key, f"json://127.0.0.1:{port}/notify", ["drift.detected"], target="apprise")
                record_event(db, "drift", "detected", 2, 7)
                await until(lambda: got, what="the apprise notification")
        finally:
            await runner.cleanup()

    asyncio.run(main())
    assert "drift.detected" in got[0]["title"] and "session 2" in json.dumps(got[0])


@pytest.fixture(scope="module")
def postgres():
    with PostgresServer() as server:
        yield server


def test_on_postgresql_a_later_event_that_commits_first_waits_for_the_earlier_one(postgres, tmp_path, key):
    """Two writers: the session's first event takes its id, then the second commits first.
    The worker delivers neither out of order: the second waits until the first commits."""
    db = Database(postgres.create_database("notify_order"), "replica-a")
    seed_sessions(db, 1)

    async def main():
        async with Receiver() as receiver, delivering(db, key):
            subscribe(db, key, receiver.url, ["suggestion.created"])
            first = db.session()
            events.record(first, "suggestion", "created", 1, 1)  # id taken, not committed
            record_event(db, "suggestion", "created", 1, 2)  # commits with a higher id
            await asyncio.sleep(1.5)
            early = list(receiver.requests)
            first.commit()
            first.close()
            await until(lambda: len(receiver.accepted) == 2, what="both events")
            return early, receiver.requests

    early, requests = asyncio.run(main())
    assert early == []
    assert [r.json["event"]["ref_id"] for r in requests] == [1, 2]
    db.engine.dispose()


_SENDER = """
import asyncio, sys
from pathlib import Path
from orchestrator.store import Database
from tests.notification_stack import delivering

async def main():
    async with delivering(Database(sys.argv[1], "replica-a"), Path(sys.argv[2])):
        await asyncio.sleep(3600)

asyncio.run(main())
"""


def test_a_sender_killed_mid_delivery_sends_it_again_after_its_restart(db, key, tmp_path):
    async def main():
        async with Receiver(hang=1) as receiver:
            subscribe(db, key, receiver.url, ["suggestion.created"])
            record_event(db, "suggestion", "created", 1, 1)
            sender = await asyncio.create_subprocess_exec(sys.executable, "-c", _SENDER, str(db.engine.url), str(key),
                                                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
            try:
                await until(lambda: receiver.requests, what="the first attempt (left unanswered)")
            finally:
                sender.kill()  # SIGKILL, mid-send, its lease held
                await sender.wait()
            assert outbox_rows(db)[0].lease_owner == "replica-a"
            async with delivering(db, key):  # the same replica, restarted
                await until(lambda: receiver.accepted, what="the delivery after the restart")
            return receiver.requests

    requests = asyncio.run(main())
    assert [r.status for r in requests] == [0, 200]
    assert requests[0].headers["Corral-Delivery"] == requests[1].headers["Corral-Delivery"]  # the receiver can dedupe


def test_retention_removes_finished_deliveries_with_the_events_and_keeps_pending_ones(db, key):
    subscribe(db, key, "http://127.0.0.1:9/x", ["suggestion.created"])
    for ref in (1, 2, 3):
        record_event(db, "suggestion", "created", 1, ref)
    with db.session() as s:
        rows = s.query(NotificationOutboxRow).order_by(NotificationOutboxRow.id).all()
        rows[0].status, rows[1].status = DeliveryStatus.DELIVERED, DeliveryStatus.DEAD
        s.commit()
    assert Retention(db, events_days=1, execution_logs_days=0).prune(now=utcnow() + timedelta(days=2)).deliveries == 2
    assert [(r.ref_id, r.status) for r in outbox_rows(db)] == [(3, DeliveryStatus.PENDING)]


def test_an_apprise_mail_server_named_in_a_parameter_is_checked_as_its_host_is(db, key):
    """mailto://…@PUBLIC-ADDRESS?smtp=10.0.0.5 would have apprise connect to 10.0.0.5: refused at
    send as a private address, like a private host in the URL itself."""
    async def main():
        async with delivering(db, key, allow_private_destinations=False):
            subscribe(db, key, "mailto://u:p@93.184.216.34?smtp=10.0.0.5", ["suggestion.created"], target="apprise")
            record_event(db, "suggestion", "created", 1, 1)
            await until(lambda: [r for r in outbox_rows(db) if r.last_error], what="a failed attempt")

    asyncio.run(main())
    rows = outbox_rows(db)
    assert "10.0.0.5" in rows[0].last_error and rows[0].status == DeliveryStatus.PENDING
