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
# A failed run's traceback is kept to this many characters: its end (the innermost frames
# and the exception), its start cut and marked.
TRACEBACK_MAX_CHARS = 16_000
# Per execution, by default (the operator's config may change both): bytes of the
# sandbox's stdout+stderr kept, and log lines kept. What is past them is counted as dropped.
OUTPUT_BYTES_DEFAULT = 64 * 1024
LOG_LINES_DEFAULT = 1000
# An agent's DESCRIPTION.md, as `corral build` carries it into the image's label and the
# orchestrator reads it at registration (UTF-8 bytes); a longer one is refused at both.
DESCRIPTION_MAX_BYTES = 64 * 1024


def shortened(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, "..." marking the cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def tail_shortened(text: str, limit: int) -> str:
    """`text` cut to its last `limit` characters, a first line saying how much was cut."""
    if len(text) <= limit:
        return text
    kept = text[-(limit - 60):]
    return f"[... {len(text) - len(kept)} characters cut ...]\n{kept}"
