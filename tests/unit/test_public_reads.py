"""Paper sessions' public reads of a venue (orchestrator/actions/venues/public_reads.py): one
read for all who ask at once, an answer shared for a second, a failure shared and not kept, and
reads past the orchestrator's share of the venue's quota refused by name, never sent."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from orchestrator.actions.venues.public_reads import SharedReads
from orchestrator.errors import Refused


def test_reads_of_one_request_at_once_go_out_once_and_its_answer_is_shared():
    sent: list[str] = []

    async def main() -> list[object]:
        reads = SharedReads("venue", per_minute=600)

        async def read() -> dict:
            sent.append("book")
            await asyncio.sleep(0.05)
            return {"levels": [[], []]}

        answers = await asyncio.gather(*(reads.get("book", read) for _ in range(16)))
        answers.append(await reads.get("book", read))  # within the second: kept
        return answers

    answers = asyncio.run(main())
    assert sent == ["book"] and len(answers) == 17 and all(a == {"levels": [[], []]} for a in answers)


def test_a_failed_read_reaches_everyone_waiting_and_is_not_kept():
    calls = 0

    async def main() -> tuple[list[BaseException | object], object]:
        reads = SharedReads("venue", per_minute=600)

        async def failing() -> object:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.01)
            raise Refused(grpc.StatusCode.UNAVAILABLE, "venue: down")

        async def working() -> object:
            nonlocal calls
            calls += 1
            return "mids"

        failed = await asyncio.gather(*(reads.get("mids", failing) for _ in range(3)), return_exceptions=True)
        return failed, await reads.get("mids", working)

    failed, after = asyncio.run(main())
    assert [str(e) for e in failed] == ["venue: down"] * 3 and after == "mids" and calls == 2


def test_reads_past_the_share_are_refused_by_name_and_never_sent():
    sent: list[int] = []

    async def main() -> None:
        reads = SharedReads("hyperliquid", per_minute=6)  # a burst of 1, then one every 10 s

        async def read(n: int) -> int:
            sent.append(n)
            return n

        assert await reads.get(("book", 1), lambda: read(1)) == 1
        with pytest.raises(Refused) as refused:
            await reads.get(("book", 2), lambda: read(2))
        assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert refused.value.message.startswith("hyperliquid: paper sessions have used this orchestrator's share of the venue's "
                                                "request quota (6 public reads a minute, for all of them); try again in ")

    asyncio.run(main())
    assert sent == [1]
