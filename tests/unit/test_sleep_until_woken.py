"""The wait the scheduler and the event feed sleep in: a wake-up ends it early, and a
cancellation that arrives together with a wake-up still cancels (`asyncio.wait_for` on Python
3.11 returned instead, and a shut-down scheduler went on claiming sessions)."""

from __future__ import annotations

import asyncio

from orchestrator.store.changes import sleep_until_woken


def test_a_cancellation_that_comes_with_a_wake_up_still_cancels():
    async def main() -> bool:
        wake = asyncio.Event()
        passes = 0

        async def loop_like_the_scheduler() -> None:
            nonlocal passes
            while True:
                passes += 1
                wake.clear()
                await sleep_until_woken(wake, 60)

        task = asyncio.create_task(loop_like_the_scheduler())
        await asyncio.sleep(0)
        wake.set()
        task.cancel()
        await asyncio.wait([task], timeout=5)  # bounds the failing case: a loop that runs on forever
        return task.cancelled() and passes == 1

    assert asyncio.run(main()), "the loop ran on after it was cancelled"


def test_it_returns_when_woken_or_after_the_time():
    async def main() -> tuple[bool, bool]:
        wake = asyncio.Event()
        timed_out = asyncio.create_task(sleep_until_woken(wake, 0.01))
        await timed_out
        woken = asyncio.create_task(sleep_until_woken(wake, 3600))
        await asyncio.sleep(0)
        wake.set()
        await woken
        return timed_out.done(), woken.done()

    assert asyncio.run(main()) == (True, True)
