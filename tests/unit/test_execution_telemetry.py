"""due -> run() comes from inside the sandbox: an agent's made-up entry time moves the histogram
only within the execution's own start and end, and a NaN or an infinity cannot poison its sum.
Stored times are naive UTC: they are read as UTC whatever the host's time zone."""

from __future__ import annotations

import math
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from orchestrator.executions.telemetry import observe_execution

DUE = datetime(2026, 1, 1, tzinfo=UTC)
END = DUE + timedelta(seconds=2)


def histogram(backend: str) -> tuple[float, float]:
    labels = {"backend": backend, "start": "warm"}
    return (REGISTRY.get_sample_value("corral_execution_due_to_run_seconds_count", labels) or 0.0,
            REGISTRY.get_sample_value("corral_execution_due_to_run_seconds_sum", labels) or 0.0)


def executions(backend: str) -> float:
    return REGISTRY.get_sample_value("corral_executions_total", {"outcome": "succeeded", "command": "run", "backend": backend}) or 0.0


def test_a_reported_entry_time_is_kept_within_the_execution_and_a_nan_is_ignored():
    backend = "test-clamp"
    (count, total), runs = histogram(backend), executions(backend)
    for reported in (DUE.timestamp() + 0.5, DUE.timestamp() - 1e9, END.timestamp() + 1e9, math.inf, -math.inf, math.nan):
        observe_execution(backend, "run", "succeeded", warm=True, due_at=DUE, ended_at=END, agent_entered_at=reported)
    # 0.5 as reported; far before the due time: 0; far after the end: the end (2 s); infinities and NaN: not observed.
    assert (histogram(backend)[0] - count, histogram(backend)[1] - total) == (3, 0.5 + 0 + 2)
    assert executions(backend) - runs == 6


@pytest.fixture()
def berlin():
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_stored_naive_times_are_read_as_utc_in_any_time_zone(berlin):
    backend = "test-naive"
    count, total = histogram(backend)
    due, end = DUE.replace(tzinfo=None), END.replace(tzinfo=None)  # as the database gives them back
    observe_execution(backend, "run", "succeeded", warm=True, due_at=due, ended_at=end, agent_entered_at=DUE.timestamp() + 1.0)
    assert (histogram(backend)[0] - count, histogram(backend)[1] - total) == (1, 1.0)
