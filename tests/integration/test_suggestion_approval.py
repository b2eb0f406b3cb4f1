"""ApproveSuggestion answers at once (issue 18, item 3): the suggestion is `approving` when the
call returns, the execution runs in a held task whose outcome is recorded and announced as an
event, shutdown waits for it, and one cut short at shutdown stays `approving` for recovery to
settle (it used to block the call until the transaction confirmed, up to 120 s)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from orchestrator.actions.suggestions import Suggestions
from orchestrator.errors import Refused
from orchestrator.store import AgentRow, Database, EventRow, SessionRow, SuggestionRow, utcnow


class HeldGateway:
    """Runs an approved suggestion when the test lets it: `release` (with a result or an error)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.refusal: Refused | None = None

    async def run_approved(self, session, suggestion) -> dict:
        self.started.set()
        await self.release.wait()
        if self.refusal is not None:
            raise self.refusal
        return {"transaction_id": 9, "tx_hash": "0x" + "ab" * 32}


@pytest.fixture
def db(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'o.db'}", replica_id="r1")
    with db.session() as s:
        s.add(AgentRow(id=1, name="a", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml="", registered_at=utcnow()))
        s.flush()
        s.add(SessionRow(id=3, agent_id=1, wallet_address="0x" + "22" * 20, status="paused", execution_mode="manual", settings={},
                         allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0", created_at=utcnow()))
        s.flush()
        s.add(SuggestionRow(id=5, session_id=3, execution_id=None, kind="transaction", request=b"", details={}, status="pending",
                            result={}, error="", created_at=utcnow()))
        s.commit()
    yield db
    db.engine.dispose()


def status_and_changes(db: Database) -> tuple[str, list[str]]:
    with db.session() as s:
        changes = list(s.scalars(select(EventRow.change).where(EventRow.kind == "suggestion").order_by(EventRow.id)))
        return s.get(SuggestionRow, 5).status, changes


def test_approve_returns_approving_at_once_and_the_outcome_follows_as_an_event(db):
    gateway = HeldGateway()
    suggestions = Suggestions(db, gateway)  # type: ignore[arg-type]

    async def scenario():
        answered = await asyncio.wait_for(suggestions.approve(5), 5)  # the gateway has not finished: still answered
        assert answered.status == "approving"
        await asyncio.wait_for(gateway.started.wait(), 5)
        assert status_and_changes(db) == ("approving", ["approving"])
        gateway.release.set()
        assert await suggestions.drain() == 0  # shutdown waits for it to finish

    asyncio.run(scenario())
    assert status_and_changes(db) == ("executed", ["approving", "executed"])
    with db.session() as s:
        assert s.get(SuggestionRow, 5).result["tx_hash"] == "0x" + "ab" * 32


def test_a_refused_execution_ends_failed_with_the_reason(db):
    gateway = HeldGateway()
    gateway.refusal = Refused(code=None, message="the platform is halted")  # type: ignore[arg-type]
    gateway.release.set()
    suggestions = Suggestions(db, gateway)  # type: ignore[arg-type]

    async def scenario():
        await suggestions.approve(5)
        await suggestions.drain()

    asyncio.run(scenario())
    assert status_and_changes(db) == ("failed", ["approving", "failed"])


def test_an_approval_cut_at_shutdown_stays_approving_for_recovery_and_no_new_one_starts(db):
    gateway = HeldGateway()
    suggestions = Suggestions(db, gateway)  # type: ignore[arg-type]

    async def scenario():
        await suggestions.approve(5)
        await asyncio.wait_for(gateway.started.wait(), 5)
        assert await suggestions.drain(timeout=0.1) == 1
        with pytest.raises(Refused, match="shutting down"):
            await suggestions.approve(5)

    asyncio.run(scenario())
    assert status_and_changes(db) == ("approving", ["approving"])
    # Nothing was sent (no transaction for it): recovery makes it pending again.
    assert Suggestions(db, HeldGateway()).recover("r1") == 1  # type: ignore[arg-type]
    assert status_and_changes(db)[0] == "pending"
