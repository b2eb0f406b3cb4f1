"""The pruning spend ledger decides exactly as a ledger that keeps and sums every spend.

Hypothesis draws sequences of reservations (some released again, as a failed signature or
audit write does), clock advances (and small steps back), cap checks with several windows
and session budget checks; every answer of `SpendLedger` is compared with a naive reference
that never forgets anything. When a window longer than any the ledger was told about
appears after it pruned, the ledger may refuse (HistoryIncomplete), but never count less.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signer.policy.caps import check_session_budget, check_spend_caps
from signer.policy.ledger import CLOCK_MARGIN, Commitments, HistoryIncomplete, Spend, SpendLedger
from signer.policy.values import DAY

WALLETS = ["0x" + "aa" * 20, "0x" + "bb" * 20]
ASSETS = [(1, "native"), (1, "0x" + "22" * 20), ("solana", "native")]
WINDOWS = [60, 3_600, DAY, 3 * DAY]


class NaiveLedger:
    """The reference: every spend kept, every question a full sum."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, object, str, float, int, int]] = []

    def reserve(self, wallet: str, spends: tuple[Spend, ...], at: float, session: int) -> int:
        before = len(self.entries)
        self.entries += [(wallet, s.chain, s.asset, at, s.amount, session) for s in spends if s.amount]
        return before

    def release(self, before: int) -> None:
        del self.entries[before:]

    def spent_within(self, wallet: str, chain: object, asset: str, now: float, window: float) -> int:
        return sum(e[4] for e in self.entries if e[:3] == (wallet, chain, asset) and e[3] > now - window)

    def spent_by_session(self, wallet: str, chain: object, asset: str, session: int) -> int:
        return sum(e[4] for e in self.entries if e[:3] == (wallet, chain, asset) and e[5] == session)


@dataclass(frozen=True)
class Cap:
    chain_key: object
    asset: str
    amount: int
    window_seconds: int


@dataclass(frozen=True)
class Budget:
    chain_id: object
    asset: str
    max_amount: int


spends = st.lists(st.builds(lambda a, amount: Spend(a[0], a[1], amount), st.sampled_from(ASSETS), st.integers(0, 1_000)),
                  min_size=1, max_size=3).map(tuple)
operations = st.lists(st.one_of(
    st.tuples(st.just("reserve"), st.sampled_from(WALLETS), spends, st.integers(0, 2), st.booleans()),
    st.tuples(st.just("advance"), st.sampled_from([0.0, 0.5, 30.0, 59.0, 60.0, 3_599.0, 3_600.0, DAY / 2, DAY, 2 * DAY, 5 * DAY])),
    st.tuples(st.just("step-back"), st.sampled_from([1.0, 60.0, CLOCK_MARGIN / 2])),
    st.tuples(st.just("cap"), st.sampled_from(WALLETS), st.sampled_from(ASSETS), st.sampled_from(WINDOWS), st.integers(0, 3_000), spends),
    st.tuples(st.just("budget"), st.sampled_from(WALLETS), st.sampled_from(ASSETS), st.integers(1, 2), st.integers(0, 3_000), spends),
), max_size=80)


def run(ops: list, ledger: SpendLedger, naive: NaiveLedger, windows_known: bool) -> None:
    now = latest = 1_700_000_000.0
    for op in ops:
        if op[0] == "reserve":
            _, wallet, drawn, session, fails = op
            with ledger.exclusive(wallet):
                reservation = ledger.reserve(wallet, Commitments(spends=drawn), now, session)
                before = naive.reserve(wallet, drawn, now, session)
                if fails:  # signing or the audit write failed: given back in the same step
                    ledger.release(reservation)
                    naive.release(before)
        elif op[0] == "advance":
            now += op[1]
            latest = max(latest, now)
        elif op[0] == "step-back":  # the clock stepped back, by at most the margin all told
            now = max(now - op[1], latest - CLOCK_MARGIN)
        elif op[0] == "cap":
            _, wallet, (chain, asset), window, amount, drawn = op
            expected = naive.spent_within(wallet, chain, asset, now, window)
            try:
                got = ledger.spent_within(wallet, chain, asset, now, window)
            except HistoryIncomplete:
                assert not windows_known, "a window the ledger was told about at start must always be answerable"
                continue
            assert got == expected
            cap = Cap(chain, asset, amount, window)
            mine = check_spend_caps([cap], wallet, drawn, ledger, now)
            drawn_here = sum(s.amount for s in drawn if (s.chain, s.asset) == (chain, asset))
            theirs = drawn_here > 0 and naive.spent_within(wallet, chain, asset, now, window) + drawn_here > amount
            assert (mine is not None) == theirs
        else:
            _, wallet, (chain, asset), session, budget, drawn = op
            ledger.open_budget(wallet, session, chain, asset, budget)
            assert ledger.spent_by_session(wallet, chain, asset, session) == naive.spent_by_session(wallet, chain, asset, session)
            mine = check_session_budget([Budget(chain, asset, budget)], wallet, drawn, ledger, session)
            drawn_here = sum(s.amount for s in drawn if (s.chain, s.asset) == (chain, asset))
            theirs = drawn_here > 0 and naive.spent_by_session(wallet, chain, asset, session) + drawn_here > budget
            assert (mine is not None) == theirs


@settings(max_examples=300, deadline=None)
@given(operations)
def test_every_cap_and_budget_decision_equals_the_never_pruning_ledgers(ops):
    ledger = SpendLedger()
    ledger.cover_window(max(WINDOWS))  # as start-up does from every policy's longest window
    run(ops, ledger, NaiveLedger(), windows_known=True)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_a_window_lengthened_after_pruning_is_refused_never_under_counted(ops):
    run(ops, SpendLedger(), NaiveLedger(), windows_known=False)


def test_the_lengthened_window_case_happens_and_refuses():
    ledger = SpendLedger()
    wallet, spend = WALLETS[0], Spend(1, "native", 10)
    ledger.reserve(wallet, Commitments(spends=(spend,)), 0.0, 0)
    ledger.reserve(wallet, Commitments(spends=(spend,)), 10 * DAY, 0)  # prunes the first (horizon: 2 days)
    assert ledger.spent_within(wallet, 1, "native", 10 * DAY, DAY) == 10
    with pytest.raises(HistoryIncomplete):
        ledger.spent_within(wallet, 1, "native", 10 * DAY, 30 * DAY)
    decision = check_spend_caps([Cap(1, "native", 1_000, 30 * DAY)], wallet, (spend,), ledger, 10 * DAY)
    assert decision is not None and "Restart the signer" in decision.reason
    # From then on the longer window is covered: nothing it can see is pruned any more.
    assert ledger.horizon >= 30 * DAY


def test_history_stays_bounded():
    ledger = SpendLedger()
    wallet = WALLETS[0]
    for n in range(10_000):
        ledger.reserve(wallet, Commitments(spends=(Spend(1, "native", 1),)), n * 60.0, 1)
    held = sum(len(window) for window in ledger._windows.values())
    assert held <= ledger.horizon / 60 + 1  # a day and its margin of one spend a minute, not 10,000
    assert ledger.spent_by_session(wallet, 1, "native", 1) == 10_000  # budgets are lifetime sums


def test_a_clock_stepped_back_within_the_margin_still_sees_every_spend():
    ledger, naive, wallet = SpendLedger(), NaiveLedger(), WALLETS[0]
    ledger.cover_window(3 * DAY)
    for at in (0.0, 3.4 * DAY):  # the second prunes what is older than the horizon
        ledger.reserve(wallet, Commitments(spends=(Spend(1, "native", 10),)), at, 0)
        naive.reserve(wallet, (Spend(1, "native", 10),), at, 0)
    stepped_back = 2.9 * DAY
    assert ledger.spent_within(wallet, 1, "native", stepped_back, 3 * DAY) == naive.spent_within(wallet, 1, "native", stepped_back, 3 * DAY) == 20


def test_a_released_spend_out_of_time_order_is_taken_back_exactly():
    ledger, wallet = SpendLedger(), WALLETS[0]
    for at, amount in ((100.0, 1), (200.0, 2), (300.0, 4)):
        ledger.reserve(wallet, Commitments(spends=(Spend(1, "native", amount),)), at, 1)
    late = ledger.reserve(wallet, Commitments(spends=(Spend(1, "native", 8),)), 150.0, 1)  # the clock stepped back
    assert ledger.spent_within(wallet, 1, "native", 300.0, 160.0) == 2 + 4 + 8
    ledger.release(late)
    assert ledger.spent_within(wallet, 1, "native", 300.0, 160.0) == 2 + 4
    assert ledger.spent_within(wallet, 1, "native", 300.0, 250.0) == 1 + 2 + 4
    assert ledger.spent_by_session(wallet, 1, "native", 1) == 7
