"""The wire's size limits, each written once; every side imports them from here.

They are part of the runtime API's contract (Circuit's own limits where Circuit has one), so
the SDK refuses or shortens on the agent's side what the orchestrator would refuse or
shorten on its side, with the same numbers.
"""

from __future__ import annotations

# A log line the agent writes is kept to this many characters ("..." marks a cut).
LOG_LINE_MAX_CHARS = 250
# The free-text message an agent attaches to a transaction or an order.
ACTION_MESSAGE_MAX_CHARS = 250
# The largest request a sandbox may send on its runtime socket (gRPC refuses bigger ones).
RUNTIME_REQUEST_MAX_BYTES = 1 << 20


def shortened(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, "..." marking the cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
