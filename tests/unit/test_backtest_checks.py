"""A backtest's range is refused before anything starts when it cannot run (each refusal naming
its field and the fix), and its report's drawdown is the largest fall from an earlier peak."""

from __future__ import annotations

import pytest

from orchestrator.actions.backtests import MAX_RUNS, BacktestRange
from orchestrator.errors import Refused
from orchestrator.sessions.backtest_report import max_drawdown


@pytest.mark.parametrize(("asked", "field", "says"), [
    (BacktestRange(0, 10, 1), "backtest.from_block", "at least 1"),
    (BacktestRange(5, 10, 0), "backtest.every_blocks", "at least 1"),
    (BacktestRange(10, 5, 1), "backtest.to_block", "before from_block 10"),
    (BacktestRange(10, 101, 1), "backtest.to_block", "past the chain's newest block 100"),
    (BacktestRange(1, MAX_RUNS + 1, 1), "backtest.every_blocks", f"at most {MAX_RUNS} times"),
])
def test_a_range_that_cannot_run_is_refused_naming_its_field(asked, field, says):
    with pytest.raises(Refused) as refused:
        asked.checked(head=100 if asked.to_block <= 101 else MAX_RUNS + 1)
    assert refused.value.field == field and says in refused.value.message


def test_the_last_block_may_be_the_head_and_the_range_need_not_divide():
    assert BacktestRange(10, 100, 7).checked(head=100) == BacktestRange(10, 100, 7)
    assert BacktestRange(1, MAX_RUNS, 1).checked(head=MAX_RUNS) == BacktestRange(1, MAX_RUNS, 1)


@pytest.mark.parametrize(("equities", "expected"), [
    ([], 0.0), ([100], 0.0), ([100, 120, 150], 0.0), ([100, 50, 200, 150], 0.5), ([100, 80, 120, 60, 130], 0.5), ([0, 0], 0.0),
])
def test_drawdown_is_the_largest_fall_from_an_earlier_peak(equities, expected):
    assert max_drawdown(equities) == pytest.approx(expected)


NOW = 1_800_000_000


@pytest.mark.parametrize(("asked", "field", "says"), [
    (BacktestRange(0, NOW, 60, by_time=True), "backtest.from_time", "must be set"),
    (BacktestRange(NOW - 600, NOW, 0, by_time=True), "backtest.every_seconds", "from 1 to"),
    (BacktestRange(NOW - 600, NOW, 2**62, by_time=True), "backtest.every_seconds", "(a year)"),
    (BacktestRange(NOW - 600, 0, 60, by_time=True), "backtest.to_time", "must be set"),
    (BacktestRange(NOW - 600, NOW - 700, 60, by_time=True), "backtest.to_time", "before from_time"),
    (BacktestRange(NOW - 600, NOW + 1, 60, by_time=True), "backtest.to_time", "in the future"),
    (BacktestRange(NOW - MAX_RUNS, NOW, 1, by_time=True), "backtest.every_seconds", f"at most {MAX_RUNS} times"),
])
def test_a_range_of_times_that_cannot_run_is_refused_naming_its_field(asked, field, says):
    with pytest.raises(Refused) as refused:
        asked.checked_times(now=NOW)
    assert refused.value.field == field and says in refused.value.message
    assert BacktestRange(NOW - MAX_RUNS + 1, NOW, 1, by_time=True).checked_times(now=NOW).by_time  # the last one may be now
