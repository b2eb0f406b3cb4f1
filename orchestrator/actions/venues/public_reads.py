"""Public reads of a venue (books, mids) shared by every paper session for a moment: paper
sessions, however many and however busy, never spend the platform's request quota at a venue
(which real sessions' orders need) faster than once per read per `seconds`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class SharedReads:
    def __init__(self, seconds: float = 1.0, kept: int = 1000) -> None:
        self._seconds = seconds
        self._kept = kept
        self._answers: dict[Hashable, tuple[float, Any]] = {}

    async def get(self, key: Hashable, read: Callable[[], Awaitable[Any]]) -> Any:
        """The answer read for `key` less than `seconds` ago, else `read()`'s (a failed read is not kept)."""
        now = time.monotonic()
        kept = self._answers.get(key)
        if kept is not None and now - kept[0] < self._seconds:
            return kept[1]
        answer = await read()
        if len(self._answers) >= self._kept:
            self._answers.clear()
        self._answers[key] = (now, answer)
        return answer
