"""[retention]: events and agents' log lines older than their setting are deleted, in batches,
and nothing younger; 0 days keeps everything."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.config import OrchestratorConfig, config_problem
from orchestrator.store import AgentRow, Database, EventRow, ExecutionLogRow, ExecutionRow, SessionRow, utcnow
from orchestrator.store.retention import Retention

MANIFEST = 'name = "Quick"\ntagline = "t"\nwalletType = "ethereum"\nruntimeIntervalMinutes = 1\nversion = "0.0.1"\n'


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'o.db'}", "a")
    now = utcnow()
    with database.session() as s:
        s.add(AgentRow(id=1, name="Quick", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml=MANIFEST,
                       registered_at=now))
        s.add(SessionRow(id=1, agent_id=1, wallet_address="0x" + "11" * 20, status="running", execution_mode="auto", settings={},
                         allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0",
                         created_at=now, next_run_at=None, stopped_at=None))
        s.flush()
        s.add(ExecutionRow(id=1, session_id=1, command="run", status="succeeded", started_at=now, finished_at=now))
        s.commit()
    yield database
    database.engine.dispose()


def add(database: Database, ages_days: list[float]) -> None:
    """An event and a log line per age, oldest first (as they are written)."""
    now = utcnow()
    with database.session() as s:
        for age in ages_days:
            at = now - timedelta(days=age)
            s.add(EventRow(kind="log", change="appended", session_id=1, ref_id=0, occurred_at=at))
            s.add(ExecutionLogRow(execution_id=1, level="info", message=f"{age} days old", logged_at=at))
        s.commit()


def ages(database: Database) -> tuple[list[float], list[str]]:
    now = utcnow()
    with database.session() as s:
        events = [round((now - row.occurred_at) / timedelta(days=1)) for row in s.query(EventRow).order_by(EventRow.id)]
        logs = [row.message for row in s.query(ExecutionLogRow).order_by(ExecutionLogRow.id)]
    return events, logs


def test_only_rows_older_than_the_setting_go_in_batches(db):
    add(db, [30.0] * 7 + [12.0, 9.0, 1.0])
    pruned = Retention(db, events_days=10, execution_logs_days=20, batch_rows=3).prune()
    assert (pruned.events, pruned.execution_logs) == (8, 7)  # 7 batches' worth, 3 at a time
    events, logs = ages(db)
    assert events == [9, 1]
    assert logs == ["12.0 days old", "9.0 days old", "1.0 days old"]
    assert Retention(db, events_days=10, execution_logs_days=20, batch_rows=3).prune() == pruned.__class__(0, 0)


def test_zero_days_keeps_everything(db):
    add(db, [4000.0, 1.0])
    assert Retention(db, events_days=0, execution_logs_days=0).prune().events == 0
    assert ages(db)[0] == [4000, 1]


def test_defaults_keep_a_year_of_logs_and_refuse_negative_days():
    retention = OrchestratorConfig().retention
    assert retention.execution_logs_days >= 366 and retention.events_days > 0
    with pytest.raises(ValueError) as refused:
        OrchestratorConfig.model_validate({"retention": {"events_days": -1}})
    assert "retention.events_days" in config_problem(refused.value)


@pytest.mark.parametrize("days, says", [(0.5, "keep at least 1 day, or 0 to keep forever"), (float("inf"), "less than or equal to 36500")])
def test_less_than_a_day_or_an_endless_setting_is_refused(days, says):
    # Under a day would prune the signing refusals the hourly breaker counts; an endless one
    # would overflow the cutoff's date in every pruning pass.
    with pytest.raises(ValueError) as refused:
        OrchestratorConfig.model_validate({"retention": {"execution_logs_days": days}})
    problem = config_problem(refused.value)
    assert "retention.execution_logs_days" in problem and says in problem, problem


def test_recordings_and_their_shadow_runs_older_than_their_setting_go_and_younger_ones_stay(db):
    from orchestrator.store import ExecutionRecordingRow, ShadowRunRow

    now = utcnow()
    with db.session() as s:
        for execution_id, age in ((2, 40.0), (3, 31.0), (4, 5.0)):
            s.add(ExecutionRow(id=execution_id, session_id=1, command="run", status="succeeded", started_at=now, finished_at=now))
            s.flush()
            s.add(ExecutionRecordingRow(execution_id=execution_id, recorded_at=now - timedelta(days=age), calls=0, calls_not_recorded=0,
                                        data=b""))
            s.add(ShadowRunRow(session_id=1, execution_id=execution_id, agent_id=1, outcome="same", difference=[], missing_reads=[],
                               recorded_actions=0, replayed_actions=0, finished_at=now - timedelta(days=age)))
        s.commit()
    pruned = Retention(db, events_days=0, execution_logs_days=0, batch_rows=1000, recordings_days=30).prune()
    assert (pruned.recordings, pruned.shadow_runs) == (2, 2)
    with db.session() as s:
        assert [row.execution_id for row in s.query(ExecutionRecordingRow)] == [4]
        assert [row.execution_id for row in s.query(ShadowRunRow)] == [4]
    kept_forever = Retention(db, events_days=0, execution_logs_days=0, recordings_days=0).prune()
    assert (kept_forever.recordings, kept_forever.shadow_runs) == (0, 0)
