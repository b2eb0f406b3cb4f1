"""Public reads of a venue (books, mids) shared by every paper session of this orchestrator:
paper trading never spends the platform's request quota at a venue (which real sessions'
orders and the market-data sampler need) past its share.

- An answer is kept for `seconds` and given to every read of the same request meanwhile; reads
  of a request already on its way wait for that answer instead of asking again.
- The reads that do go out are at most `per_minute` (a token bucket with a burst of a tenth of
  that): a read past it waits its turn, up to MAX_WAIT_SECONDS; past that it is refused with
  RESOURCE_EXHAUSTED, so an agent that makes paper sessions read many books at once is slowed
  and then told, while the venue never sees more than the share.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import grpc

from orchestrator.errors import Refused

MAX_WAIT_SECONDS = 5.0


class SharedReads:
    def __init__(self, venue: str, per_minute: int, seconds: float = 1.0, kept: int = 1000) -> None:
        self._venue = venue
        self._per_minute = per_minute
        self._per_second = per_minute / 60
        self._burst = max(1.0, per_minute / 10)
        self._tokens = self._burst
        self._refilled_at = time.monotonic()
        self._seconds = seconds
        self._kept = kept
        self._answers: dict[Hashable, tuple[float, Any]] = {}
        self._pending: dict[Hashable, asyncio.Future[Any]] = {}

    async def get(self, key: Hashable, read: Callable[[], Awaitable[Any]]) -> Any:
        """The answer read for `key` less than `seconds` ago, else `read()`'s, once for all who
        ask meanwhile (a failed read is not kept)."""
        kept = self._answers.get(key)
        if kept is not None and time.monotonic() - kept[0] < self._seconds:
            return kept[1]
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._read(key, read))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        # Shielded: one caller giving up (its deadline) does not cancel the read the others wait on.
        return await asyncio.shield(pending)

    async def _read(self, key: Hashable, read: Callable[[], Awaitable[Any]]) -> Any:
        await self._turn()
        answer = await read()
        if len(self._answers) >= self._kept:
            self._answers.clear()
        self._answers[key] = (time.monotonic(), answer)
        return answer

    async def _turn(self) -> None:
        """Takes a token, waiting for one when the bucket is empty (a read waiting holds its
        place: the tokens go negative and the next waits longer)."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled_at) * self._per_second)
        self._refilled_at = now
        wait = (1 - self._tokens) / self._per_second if self._tokens < 1 else 0.0
        if wait > MAX_WAIT_SECONDS:
            raise Refused(grpc.StatusCode.RESOURCE_EXHAUSTED,
                          f"{self._venue}: paper sessions have used this orchestrator's share of the venue's request quota "
                          f"({self._per_minute} public reads a minute, for all of them); try again in {wait:.0f}s")
        self._tokens -= 1
        if wait > 0:
            await asyncio.sleep(wait)
