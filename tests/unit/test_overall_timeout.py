"""`corral dev run --timeout`: the one-shot timer that interrupts whatever blocks."""

from __future__ import annotations

import signal
import time

import pytest

from corral_cli.overall_timeout import TimedOut, overall_timeout

# pytest-timeout's own signal method uses SIGALRM too: these tests need it to themselves.
pytestmark = pytest.mark.timeout(60, method="thread")


def test_it_interrupts_a_blocking_call_and_a_broad_except_does_not_swallow_it():
    with pytest.raises(TimedOut, match="timed out after 0.2s"), overall_timeout(0.2):
        try:
            time.sleep(30)
        except Exception:  # what a readiness poll does; the timeout must get through
            pytest.fail("swallowed")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_disarmed_it_never_fires_and_the_previous_handler_is_back():
    before = signal.getsignal(signal.SIGALRM)
    with overall_timeout(0.2) as timer:
        timer.disarm()
        time.sleep(0.4)  # would have fired here
    assert signal.getsignal(signal.SIGALRM) is before


def test_none_means_no_limit():
    with overall_timeout(None) as timer:
        timer.disarm()
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
