"""An overall time limit for a command that blocks in many places (an image build, a
platform starting, gRPC calls, a prompt): a one-shot SIGALRM that raises `TimedOut` in the
main thread wherever it is, so the command's `finally` blocks tear down what it started."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class TimedOut(BaseException):  # noqa: N818 (what the user is told: "timed out")
    """The command's time limit passed. A BaseException, as KeyboardInterrupt: the many
    `except Exception` of the code it interrupts (a readiness poll, a retry) must not
    swallow it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out after {seconds:g}s")
        self.seconds = seconds


class Timer:
    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds

    def disarm(self) -> None:
        """Called before tearing down, so the teardown itself is never cut short."""
        if self.seconds is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)


@contextmanager
def overall_timeout(seconds: float | None) -> Iterator[Timer]:
    """Within the block, `TimedOut` is raised once `seconds` have passed (None: never).
    One-shot: it fires at most once, so a teardown that runs after it is not interrupted
    again. Main thread only (as every signal handler)."""
    timer = Timer(seconds)
    if seconds is None:
        yield timer
        return

    def expire(signum, frame) -> None:
        raise TimedOut(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield timer
    finally:
        timer.disarm()
        signal.signal(signal.SIGALRM, previous)
