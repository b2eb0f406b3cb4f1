"""Rolling and fixed schedules, and where a paused session resumes."""

from __future__ import annotations

from datetime import datetime, timedelta

from orchestrator.executions.schedule import next_run_after, resume_at

T = datetime(2026, 11, 22, 10, 7, 30)


def test_rolling_counts_from_the_end_of_the_previous_run():
    assert next_run_after(T, 15, "rolling", 60) == T + timedelta(minutes=15)


def test_fixed_runs_on_clock_aligned_boundaries():
    assert next_run_after(T, 15, "fixed", 60) == datetime(2026, 11, 22, 10, 15)
    assert next_run_after(datetime(2026, 11, 22, 10, 15), 15, "fixed", 60) == datetime(2026, 11, 22, 10, 30)  # on a boundary: the next one
    assert next_run_after(T, 60, "fixed", 60) == datetime(2026, 11, 22, 11, 0)


def test_resume_keeps_a_future_slot_and_never_piles_up_missed_ones():
    later = T + timedelta(minutes=5)
    assert resume_at(later, T, 15, "rolling", 60) == later
    assert resume_at(T - timedelta(minutes=40), T, 15, "rolling", 60) == T + timedelta(minutes=5)  # -40 + 3 x 15
    assert resume_at(T - timedelta(minutes=40), T, 15, "fixed", 60) == datetime(2026, 11, 22, 10, 15)
    assert resume_at(None, T, 15, "rolling", 60) == T
