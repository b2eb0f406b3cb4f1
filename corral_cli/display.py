"""Text an agent chose (log lines, suggestion messages, previews), made safe to print on the
author's terminal: an agent is untrusted, and a control character in what it logs could
otherwise move the cursor, rewrite earlier lines or set the terminal's title."""

from __future__ import annotations

import unicodedata

# Past this many characters a cell or a line is cut (and says so): one line per item.
DEFAULT_LIMIT = 300


def printable(text: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """`text` with every control or format character (C0, C1, DEL, bidi overrides) shown as
    its \\x / \\u escape, cut to `limit` characters."""
    value = str(text)
    cut = limit is not None and len(value) > limit
    if cut:
        value = value[:limit]
    shown = "".join(c if unicodedata.category(c) not in ("Cc", "Cf") else c.encode("unicode_escape").decode() for c in value)
    return shown + "…" if cut else shown
