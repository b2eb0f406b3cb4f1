"""The caps that count across requests: rolling spend caps and per-session budgets.

Both read what the ledger holds (every allowed request's reserved commitments) and add
the request being decided, summed per chain and asset, so a request with two spends of
one asset is judged on their sum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

from signer.policy.decision import Decision, deny
from signer.policy.ledger import ChainKey, HistoryIncomplete, Spend, SpendLedger


class RollingCap(Protocol):
    # Read-only: SpendCap and SolanaSpendCap derive chain_key from their fields.
    @property
    def chain_key(self) -> ChainKey: ...
    @property
    def asset(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def window_seconds(self) -> int: ...


class BudgetCap(Protocol):
    chain_id: int
    asset: str
    max_amount: int


def totals(spends: tuple[Spend, ...]) -> dict[tuple[ChainKey, str], int]:
    summed: defaultdict[tuple[ChainKey, str], int] = defaultdict(int)
    for spend in spends:
        if spend.amount:
            summed[(spend.chain, spend.asset)] += spend.amount
    return summed


def check_spend_caps(caps: Sequence[RollingCap], wallet: str, spends: tuple[Spend, ...], ledger: SpendLedger,
                     now: float) -> Decision | None:
    """The rolling caps: what the signer allowed in each cap's window, plus this request,
    stays within the cap."""
    summed = totals(spends)
    for cap in caps:
        amount = summed.get((cap.chain_key, cap.asset), 0)
        if not amount:
            continue
        try:
            already = ledger.spent_within(wallet, cap.chain_key, cap.asset, now, cap.window_seconds)
        except HistoryIncomplete as exc:  # never under-count: refuse what cannot be counted exactly
            return deny("spend-cap", f"the {cap.asset} cap's window of {cap.window_seconds}s on {cap.chain_key} reaches back further "
                                     f"than the spends this signer still holds ({exc}): the window was lengthened after older "
                                     "spends were pruned, or the clock stepped back. Restart the signer to rebuild its history "
                                     "from the audit log.")
        if already + amount > cap.amount:
            return deny("spend-cap", f"{cap.asset} spend of {amount} on {cap.chain_key} would exceed the cap {cap.amount} per "
                                     f"{cap.window_seconds}s ({already} already spent)")
    return None


def check_session_budget(caps: Sequence[BudgetCap], wallet: str, spends: tuple[Spend, ...], ledger: SpendLedger,
                         session_id: int) -> Decision | None:
    if not session_id:
        return None
    for (chain, asset), amount in totals(spends).items():
        if not any(c.chain_id == chain and c.asset == asset for c in caps):
            continue
        budget = ledger.budget(wallet, session_id, chain, asset)
        if budget is None:
            return deny("session-budget", f"session {session_id} has no {asset} budget opened on chain {chain}")
        already = ledger.spent_by_session(wallet, chain, asset, session_id)
        if already + amount > budget:
            return deny("session-budget", f"session {session_id} would spend {already + amount} of {asset}, over its budget {budget}")
    return None
