"""What the signer has already committed each wallet to, counted by the signer alone.

A positive decision carries its `Commitments`: the worst-case outflows it allows (`Spend`),
the allowances it changes (`AllowanceChange`) and the EVM nonce it uses. The service
reserves them in this ledger synchronously, in the same `exclusive` section as the decision
and before any await, so a second request for the same wallet is decided against the
first one's reservation (no race can pass a cap twice); if signing or writing the audit
line fails, the reservation is released in that same section (so release can restore the
values it saw: nothing else changed them meanwhile). On start-up the ledger is rebuilt from
the audit log's `allow` lines, which carry the same commitments.

Allowances are tracked per (wallet, chain, token, spender) as an upper bound of the real one:
the signer cannot see whether a transaction it signed was mined, reverted or never sent, so
the count only goes up. `approve` (which sets the allowance) makes it the larger of the count
and the new amount, `increaseAllowance` adds; `decreaseAllowance` and draws never lower it.
Each grant is also a spend (the spender may pull it at once), and is credited to the session
that made it: a later draw by that session on that allowance (a router swap's `amountIn`) is
covered by the credit and not counted twice; a draw no credit covers is counted as a spend of
its own. So what can leave through allowances is never more than what was counted, whichever
contract pulls it, and whichever of the signed transactions execute.

Flat in history. Rolling caps read each (wallet, chain, asset)'s spends through a
`SpendWindow` (prefix sums: one binary search per decision); session budgets are lifetime
running totals per (wallet, session, chain, asset). Spends older than the *horizon* are
pruned, and the horizon is chosen so that this never changes a decision:
- it is the longest window any cap has asked about in this run (and every policy's longest
  window at start-up), plus `CLOCK_MARGIN` for the system clock stepping back, and it only
  grows while the signer runs (a longer window in a reloaded policy lengthens it at once);
- the ledger remembers how far back it is complete (`complete_since`: the latest cut-off it
  pruned at). A cap whose window reaches further back than that (a window lengthened after
  history was already pruned, or a clock set back by more than the margin) cannot be
  answered exactly, so `spent_within` raises `HistoryIncomplete` and the cap refuses: the
  signer never under-counts. A restart rebuilds the history from the audit log (a checkpoint
  kept for a shorter horizon than the policies now need is not used, see checkpoint.py).
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from signer.policy.values import DAY, wallet_key
from signer.policy.window import SpendWindow

# The spend ledger's chain key: an EVM chain id, or the name of a non-EVM ledger.
ChainKey = int | str
SOLANA = "solana"
HYPERLIQUID = "hyperliquid"
POLYMARKET = "polymarket"
# The asset venue notional is counted in: micro-dollars, so the ledger stays in integers.
NOTIONAL_MICRO_USD = "notional-micro-usd"
# How far the system clock may step back without a cap losing sight of a spend (see above).
CLOCK_MARGIN = DAY
# The shortest horizon: the default window (a day) is what most caps use.
MIN_HORIZON = DAY + CLOCK_MARGIN

SpendKey = tuple[str, ChainKey, str]  # (wallet, chain, asset)
BudgetKey = tuple[str, int, ChainKey, str]  # (wallet, session, chain, asset)


def horizon_for(longest_window: float) -> float:
    """The horizon a ledger needs for caps of up to `longest_window` seconds."""
    return max(float(MIN_HORIZON), longest_window + CLOCK_MARGIN)


class HistoryIncomplete(Exception):
    """A window reaches back before the spends this ledger still holds."""


@dataclass(frozen=True)
class Spend:
    """`amount` of `asset` (smallest unit) that may leave the wallet on `chain`."""

    chain: ChainKey
    asset: str
    amount: int

    def __post_init__(self) -> None:
        if self.amount < 0:  # a negative spend would give back cap that was never refunded
            raise ValueError(f"a spend is never negative: {self.amount}")


class AllowanceKind(StrEnum):
    SET = "set"  # approve(spender, amount), or an EIP-2612 permit
    INCREASE = "increase"
    DECREASE = "decrease"
    DRAW = "draw"  # a known contract pulls this much through the allowance


@dataclass(frozen=True)
class AllowanceChange:
    chain: int
    token: str
    spender: str
    kind: AllowanceKind
    amount: int

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError(f"an allowance change is never negative: {self.amount}")


@dataclass(frozen=True)
class Commitments:
    spends: tuple[Spend, ...] = ()
    allowances: tuple[AllowanceChange, ...] = ()
    # (chain id, nonce) of a signed EVM transaction.
    nonce: tuple[int, int] | None = None

    def to_audit(self) -> dict[str, Any]:
        """The audit line's fields that rebuild this reservation on start-up."""
        fields: dict[str, Any] = {"spends": [[s.chain, s.asset, str(s.amount)] for s in self.spends]}
        if self.allowances:
            fields["allowances"] = [[a.chain, a.token, a.spender, a.kind.value, str(a.amount)] for a in self.allowances]
        if self.nonce is not None:
            fields["nonce"] = list(self.nonce)
        return fields

    @classmethod
    def from_audit(cls, entry: dict[str, Any]) -> Commitments:
        return cls(
            spends=tuple(Spend(chain, asset, int(amount)) for chain, asset, amount in entry.get("spends", [])),
            allowances=tuple(
                AllowanceChange(int(chain), token, spender, AllowanceKind(kind), int(amount))
                for chain, token, spender, kind, amount in entry.get("allowances", [])
            ),
            nonce=tuple(entry["nonce"]) if entry.get("nonce") else None,
        )


@dataclass
class Reservation:
    """What one reserve() changed, so release() can take exactly that back."""

    wallet: str
    # (spend key, time, amount, session)
    spend_entries: list[tuple[SpendKey, float, int, int]] = field(default_factory=list)
    allowance_before: dict[tuple[str, int, str, str], int] = field(default_factory=dict)
    credit_before: dict[tuple[str, int, str, str, int], int] = field(default_factory=dict)
    nonce_before: tuple[tuple[str, int], int | None] | None = None


class SpendLedger:
    def __init__(self, horizon_seconds: float = MIN_HORIZON) -> None:
        self._windows: dict[SpendKey, SpendWindow] = {}
        self._session_spent: dict[BudgetKey, int] = {}
        self._budgets: dict[BudgetKey, int] = {}
        self._allowances: dict[tuple[str, int, str, str], int] = {}
        self._credits: dict[tuple[str, int, str, str, int], int] = {}
        self._nonces: dict[tuple[str, int], int] = {}
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._horizon = max(float(horizon_seconds), float(MIN_HORIZON))
        self.complete_since = -math.inf  # every spend after this time is held

    # ---- reading ------------------------------------------------------------------------

    @property
    def horizon(self) -> float:
        """How long a spend is kept: the longest window seen plus CLOCK_MARGIN."""
        return self._horizon

    def cover_window(self, window_seconds: float) -> None:
        """Keeps spends long enough for a cap of `window_seconds` from now on (never shortens)."""
        self._horizon = max(self._horizon, horizon_for(window_seconds))

    def spent_within(self, wallet: str, chain: ChainKey, asset: str, now: float, window_seconds: float) -> int:
        """What was reserved strictly after `now - window_seconds`; raises HistoryIncomplete if
        the ledger no longer holds all of that (see the module's docstring)."""
        self.cover_window(window_seconds)
        since = now - window_seconds
        if since < self.complete_since:
            raise HistoryIncomplete(f"the signer keeps spends back to {self.complete_since:.0f} (unix time), the window asks from "
                                    f"{since:.0f}")
        window = self._windows.get((wallet_key(wallet), chain, asset))
        return window.spent_after(since) if window is not None else 0

    def spent_by_session(self, wallet: str, chain: ChainKey, asset: str, session_id: int) -> int:
        return self._session_spent.get((wallet_key(wallet), session_id, chain, asset), 0)

    def budget(self, wallet: str, session_id: int, chain: ChainKey, asset: str) -> int | None:
        return self._budgets.get((wallet_key(wallet), session_id, chain, asset))

    def allowance(self, wallet: str, chain: int, token: str, spender: str) -> int:
        """At least the most `spender` can pull of `token` from the wallet, whichever of the
        transactions the signer signed were mined (see the module's docstring)."""
        return self._allowances.get((wallet_key(wallet), chain, token, spender), 0)

    def credit(self, wallet: str, chain: int, token: str, spender: str, session_id: int) -> int:
        """What `session_id` granted `spender` (counted already) and has not drawn yet."""
        return self._credits.get((wallet_key(wallet), chain, token, spender, session_id), 0)

    def last_nonce(self, wallet: str, chain: int) -> int | None:
        """The highest EVM nonce the signer has signed for this wallet on this chain."""
        return self._nonces.get((wallet_key(wallet), chain))

    # ---- changing -----------------------------------------------------------------------

    @contextmanager
    def exclusive(self, wallet: str) -> Iterator[None]:
        """One decision at a time per wallet, on every path (EVM, Solana, messages, venues).
        Held only around synchronous code (decide, reserve, sign): never across an await."""
        lock = self._locks[wallet_key(wallet)]
        with lock:
            yield

    def reserve(self, wallet: str, commitments: Commitments, at: float, session_id: int) -> Reservation:
        key = wallet_key(wallet)
        reservation = Reservation(key)
        for spend in commitments.spends:
            if spend.amount:
                spend_key: SpendKey = (key, spend.chain, spend.asset)
                window = self._windows.get(spend_key)
                if window is None:
                    window = self._windows[spend_key] = SpendWindow()
                self._prune(window, at)
                window.add(at, spend.amount)
                if session_id:
                    budget_key = (key, session_id, spend.chain, spend.asset)
                    self._session_spent[budget_key] = self._session_spent.get(budget_key, 0) + spend.amount
                reservation.spend_entries.append((spend_key, at, spend.amount, session_id))
        for change in commitments.allowances:
            self._apply_allowance(key, change, session_id, reservation)
        if commitments.nonce is not None:
            chain, nonce = commitments.nonce
            previous = self._nonces.get((key, chain))
            reservation.nonce_before = ((key, chain), previous)
            if previous is None or nonce > previous:
                self._nonces[(key, chain)] = nonce
        return reservation

    def release(self, reservation: Reservation) -> None:
        """Takes back what `reservation` added (its request was never signed, or its audit line
        never written). Only within the `exclusive` section that reserved it."""
        for spend_key, at, amount, session_id in reversed(reservation.spend_entries):
            self._windows[spend_key].remove(at, amount)
            if session_id:
                wallet, chain, asset = spend_key
                self._session_spent[(wallet, session_id, chain, asset)] -= amount
        for allowance_key, before in reservation.allowance_before.items():
            self._allowances[allowance_key] = before
        for credit_key, before in reservation.credit_before.items():
            self._credits[credit_key] = before
        if reservation.nonce_before is not None:
            nonce_key, previous = reservation.nonce_before
            if previous is None:
                self._nonces.pop(nonce_key, None)
            else:
                self._nonces[nonce_key] = previous

    def open_budget(self, wallet: str, session_id: int, chain: ChainKey, asset: str, amount: int) -> None:
        self._budgets[(wallet_key(wallet), session_id, chain, asset)] = amount

    def replay(self, wallet: str, commitments: Commitments, at: float, session_id: int) -> None:
        """Start-up: an audited allow line, reserved again."""
        self.reserve(wallet, commitments, at, session_id)

    # ---- checkpoints (signer/checkpoint.py) ---------------------------------------------

    def snapshot(self, at: float) -> dict[str, Any]:
        """Everything this ledger holds, pruned as of `at`, as JSON values: what a checkpoint
        stores, and what `restore` rebuilds the same ledger from."""
        self.complete_since = max(self.complete_since, at - self._horizon)
        for window in self._windows.values():
            self._prune(window, at)
        return {
            "horizon": self._horizon,
            "complete_since": None if self.complete_since == -math.inf else self.complete_since,
            "windows": sorted(([*key, [[t, str(a)] for t, a in window.entries()]] for key, window in self._windows.items() if len(window)),
                              key=repr),
            "session_spent": sorted(([*key, str(v)] for key, v in self._session_spent.items() if v), key=repr),
            "budgets": sorted(([*key, str(v)] for key, v in self._budgets.items()), key=repr),
            "allowances": sorted(([*key, str(v)] for key, v in self._allowances.items()), key=repr),
            "credits": sorted(([*key, str(v)] for key, v in self._credits.items()), key=repr),
            "nonces": sorted(([*key, v] for key, v in self._nonces.items()), key=repr),
        }

    @classmethod
    def restore(cls, state: dict[str, Any], horizon: float = MIN_HORIZON) -> SpendLedger:
        ledger = cls(max(float(state["horizon"]), horizon))
        ledger.complete_since = -math.inf if state["complete_since"] is None else float(state["complete_since"])
        for wallet, chain, asset, entries in state["windows"]:
            window = ledger._windows[(wallet, chain, asset)] = SpendWindow()
            for at, amount in entries:
                window.add(float(at), int(amount))
        for wallet, session, chain, asset, value in state["session_spent"]:
            ledger._session_spent[(wallet, int(session), chain, asset)] = int(value)
        for wallet, session, chain, asset, value in state["budgets"]:
            ledger._budgets[(wallet, int(session), chain, asset)] = int(value)
        for wallet, chain, token, spender, value in state["allowances"]:
            ledger._allowances[(wallet, int(chain), token, spender)] = int(value)
        for wallet, chain, token, spender, session, value in state["credits"]:
            ledger._credits[(wallet, int(chain), token, spender, int(session))] = int(value)
        for wallet, chain, value in state["nonces"]:
            ledger._nonces[(wallet, int(chain))] = int(value)
        return ledger

    def _prune(self, window: SpendWindow, now: float) -> None:
        cutoff = now - self._horizon
        if cutoff > self.complete_since:
            self.complete_since = cutoff
        window.prune(self.complete_since)

    def _apply_allowance(self, key: str, change: AllowanceChange, session_id: int, reservation: Reservation) -> None:
        allowance_key = (key, change.chain, change.token, change.spender)
        credit_key = (*allowance_key, session_id)
        reservation.allowance_before.setdefault(allowance_key, self._allowances.get(allowance_key, 0))
        reservation.credit_before.setdefault(credit_key, self._credits.get(credit_key, 0))
        current, credit = self._allowances.get(allowance_key, 0), self._credits.get(credit_key, 0)
        if change.kind is AllowanceKind.SET:
            self._allowances[allowance_key] = max(current, change.amount)
            self._credits[credit_key] = credit + change.amount
        elif change.kind is AllowanceKind.INCREASE:
            self._allowances[allowance_key] = current + change.amount
            self._credits[credit_key] = credit + change.amount
        elif change.kind is AllowanceKind.DRAW:
            self._credits[credit_key] = max(0, credit - change.amount)
        # DECREASE changes nothing the signer can count on: it may revert or never be sent.
