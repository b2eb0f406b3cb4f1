"""Suggestions expire on a timer, not only when someone looks (`Suggestions.sweep`), and their
coming expiry is announced once, as a `suggestion.expiring` notification."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.actions.suggestions import Suggestions
from orchestrator.store import Database, SuggestionRow, utcnow
from orchestrator.store.models import EventRow, NotificationOutboxRow
from tests.helpers import seed_sessions
from tests.notification_stack import secrets_key, subscribe

LEAD = timedelta(minutes=5)


def suggestion(db: Database, created_ago: timedelta, expires_in: timedelta | None) -> int:
    now = utcnow()
    with db.session() as s:
        row = SuggestionRow(session_id=1, kind="transaction", request=b"", status="pending", created_at=now - created_ago,
                            expires_at=None if expires_in is None else now + expires_in)
        s.add(row)
        s.commit()
        return row.id


def events(db: Database) -> list[tuple[str, int]]:
    with db.session() as s:
        return [(r.change, r.ref_id) for r in s.query(EventRow).filter(EventRow.kind == "suggestion").order_by(EventRow.id)]


def test_the_sweep_expires_what_is_due_and_announces_each_coming_expiry_once(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'o.db'}")
    seed_sessions(db, 1)
    due = suggestion(db, timedelta(minutes=10), timedelta(seconds=-1))
    near = suggestion(db, timedelta(minutes=30), timedelta(minutes=4))  # long-lived, 4 of its minutes left
    young_and_short = suggestion(db, timedelta(seconds=10), timedelta(seconds=50))  # 60 s life: not at half yet
    old_and_short = suggestion(db, timedelta(seconds=40), timedelta(seconds=20))  # 60 s life, past its half
    far = suggestion(db, timedelta(minutes=1), timedelta(hours=1))
    forever = suggestion(db, timedelta(minutes=1), None)
    suggestions = Suggestions(db, None)  # type: ignore[arg-type]  # sweeping executes nothing

    suggestions.sweep(LEAD)
    suggestions.sweep(LEAD)  # a second sweep (or another replica's) announces nothing again

    assert sorted(events(db)) == sorted([("expired", due), ("expiring", near), ("expiring", old_and_short)])
    with db.session() as s:
        status = {row.id: row.status for row in s.query(SuggestionRow)}
    assert status[due] == "expired" and all(status[i] == "pending" for i in (near, young_and_short, old_and_short, far, forever))


def test_a_subscriber_to_suggestion_expiring_gets_a_delivery(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'o.db'}")
    seed_sessions(db, 1)
    subscription_id, _ = subscribe(db, secrets_key(tmp_path), "https://hooks.example.com/x", ["suggestion.expiring"])
    near = suggestion(db, timedelta(minutes=30), timedelta(minutes=1))
    Suggestions(db, None).sweep(LEAD)  # type: ignore[arg-type]
    with db.session() as s:
        queued = [(r.subscription_id, r.event_type, r.ref_id) for r in s.query(NotificationOutboxRow)]
    assert queued == [(subscription_id, "suggestion.expiring", near)]
