"""Crash points, for the crash-safety tests.

`CORRAL_CRASH_AT=<point>[,<point>...]` in a process's environment makes it kill itself with
SIGKILL the moment it reaches a named point: the tests stop the orchestrator or the signer at
an exact step of the transaction path or of an execution, as `kill -9` would, and check what
a restart makes of it. Unset (as in production), `reach` is one set lookup.

The points, in the order a transaction or an execution passes them:
"""

from __future__ import annotations

import os
import signal

ORCHESTRATOR_TRANSACTION_POINTS = (
    "tx.intent_stored",   # the intent is stored; nothing is signed
    "tx.signed",          # the signer signed; the bytes are not stored yet
    "tx.signed_stored",   # the signed bytes are stored; not broadcast
    "tx.broadcast",       # broadcast; the receipt is not awaited yet
    "tx.confirmed",       # the receipt arrived; the outcome is not recorded yet
)
ORCHESTRATOR_EXECUTION_POINTS = (
    "execution.started",          # the execution is recorded; no sandbox yet
    "execution.sandbox_started",  # the sandbox runs the agent
    "execution.sandbox_finished",  # the sandbox ended; its outcome is not recorded yet
)
SIGNER_POINTS = (
    "signer.decided",  # the policy allowed it; nothing is signed or audited
    "signer.signed",   # signed; the audit line is not written
    "signer.audited",  # the audit line is durable; the answer is not sent
)

_ARMED = frozenset(point for point in os.environ.get("CORRAL_CRASH_AT", "").split(",") if point)


def reach(point: str) -> None:
    """Dies here, at once and without cleanup, if this point is armed."""
    if point in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
