"""The refusal breaker's counting: per session, within the hour, and afresh after the user
resumes the session (a resumed session is not paused again by refusals it already paid for)."""

from __future__ import annotations

import grpc
import pytest

from orchestrator.actions.breakers import SignerRefusals
from orchestrator.errors import Refused
from orchestrator.store import AgentRow, Database, SessionRow, events, utcnow


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'breaker.db'}")
    with database.session() as s:
        s.add(AgentRow(id=1, name="a", version="1", image="i", image_id="sha256:0", wallet_type="ethereum", manifest_toml="",
                       registered_at=utcnow()))
        for session_id in (1, 2):
            s.add(SessionRow(id=session_id, agent_id=1, wallet_address="0x1", status="running", execution_mode="auto",
                             allocation_network="ethereum:1", allocation_asset="0xee", allocation_amount="1", created_at=utcnow()))
        s.commit()
    yield database
    database.engine.dispose()


def status(db: Database, session_id: int) -> tuple[str, str | None]:
    with db.session() as s:
        row = s.get(SessionRow, session_id)
        return row.status, row.status_reason


def refused_once(breaker: SignerRefusals, session_id: int) -> None:
    """One request admitted, sent, and refused by the signer (as SignerClient does it)."""
    breaker.before_signing(session_id)
    breaker.refused(session_id)
    breaker.done(session_id)


def test_the_limit_pauses_that_session_only_and_stops_its_requests(db):
    breaker = SignerRefusals(db, per_hour=3)
    for _ in range(2):
        refused_once(breaker, 1)
    breaker.refused(2)
    assert status(db, 1)[0] == "running"
    refused_once(breaker, 1)
    assert status(db, 1)[0] == "paused" and "max_signer_refusals_per_hour" in status(db, 1)[1]
    with pytest.raises(Refused) as stopped:
        breaker.before_signing(1)
    assert stopped.value.code == grpc.StatusCode.PERMISSION_DENIED and "not sent to the signer" in stopped.value.message
    breaker.before_signing(2)  # another session keeps its own count
    breaker.before_signing(0)  # the platform's own requests are not a session's
    assert status(db, 2)[0] == "running"


def test_requests_in_flight_count_so_concurrent_ones_cannot_race_past_the_limit(db):
    """16 requests at once with 18 refusals behind them: only 2 are admitted (each might be
    refused); the rest wait, without pausing the session, since those may succeed."""
    breaker = SignerRefusals(db, per_hour=20)
    for _ in range(18):
        refused_once(breaker, 1)
    admitted, turned_away = 0, []
    for _ in range(16):
        try:
            breaker.before_signing(1)
            admitted += 1
        except Refused as refused:
            turned_away.append(refused)
    assert admitted == 2 and len(turned_away) == 14
    assert {r.code for r in turned_away} == {grpc.StatusCode.RESOURCE_EXHAUSTED} and "retry" in turned_away[0].message
    assert status(db, 1)[0] == "running"
    breaker.done(1)  # one of them was signed
    breaker.before_signing(1)  # room again


def test_resuming_the_session_starts_a_fresh_count(db):
    breaker = SignerRefusals(db, per_hour=2)
    refused_once(breaker, 1)
    refused_once(breaker, 1)
    with pytest.raises(Refused):
        breaker.before_signing(1)
    with db.session() as s:  # the user resumes it, as Sessions.resume does
        s.get(SessionRow, 1).status = "running"
        events.record(s, "session", "running", 1, 1)
        s.commit()
    breaker.before_signing(1)
    breaker.refused(1)
    assert status(db, 1)[0] == "running"
