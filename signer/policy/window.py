"""One (wallet, chain, asset)'s spends in time order, with prefix sums, so a rolling cap's
"spent since T" is one binary search and one subtraction however long the history is.

Spends older than the ledger's horizon are dropped from the left (`prune`); the prefix sums
stay valid across a drop because only differences of them are ever read. A spend is normally
the newest one (decisions happen in time order); an older one (the clock stepped back, or a
replayed line) is inserted in its place and the sums after it rebuilt: rare, and exact.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator


class SpendWindow:
    def __init__(self) -> None:
        self._times: list[float] = []
        # _prefix[i] = the sum of the amounts before index i; one longer than _times.
        self._prefix: list[int] = [0]
        self._start = 0  # entries before this index are pruned (dropped lazily, see _compact)

    def __len__(self) -> int:
        return len(self._times) - self._start

    def add(self, at: float, amount: int) -> None:
        if not self._times or at >= self._times[-1]:
            self._times.append(at)
            self._prefix.append(self._prefix[-1] + amount)
            return
        index = max(bisect_right(self._times, at), self._start)
        amounts = self._amounts_from(index)
        self._times.insert(index, at)
        del self._prefix[index + 1:]
        for value in (amount, *amounts):
            self._prefix.append(self._prefix[-1] + value)

    def remove(self, at: float, amount: int) -> None:
        """Takes back one spend of `amount` at `at` (a reservation released): normally the newest."""
        if self._times and self._times[-1] == at and self._prefix[-1] - self._prefix[-2] == amount:
            self._times.pop()
            self._prefix.pop()
            return
        for index in range(bisect_left(self._times, at, lo=self._start), bisect_right(self._times, at, lo=self._start)):
            if self._prefix[index + 1] - self._prefix[index] == amount:
                amounts = self._amounts_from(index + 1)
                del self._times[index]
                del self._prefix[index + 1:]
                for value in amounts:
                    self._prefix.append(self._prefix[-1] + value)
                return
        raise KeyError(f"no spend of {amount} at {at} to release")

    def spent_after(self, since: float) -> int:
        """The sum of the spends strictly after `since`."""
        index = max(bisect_right(self._times, since, lo=self._start), self._start)
        return self._prefix[-1] - self._prefix[index]

    def prune(self, through: float) -> None:
        """Drops the spends at or before `through` (no window can see them any more)."""
        self._start = max(self._start, bisect_right(self._times, through, lo=self._start))
        if self._start > 64 and self._start * 2 > len(self._times):
            self._compact()

    def entries(self) -> Iterator[tuple[float, int]]:
        for index in range(self._start, len(self._times)):
            yield self._times[index], self._prefix[index + 1] - self._prefix[index]

    def _amounts_from(self, index: int) -> list[int]:
        return [self._prefix[i + 1] - self._prefix[i] for i in range(index, len(self._times))]

    def _compact(self) -> None:
        base = self._prefix[self._start]
        self._times = self._times[self._start:]
        self._prefix = [value - base for value in self._prefix[self._start:]]
        self._start = 0
