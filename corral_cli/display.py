"""Text an agent chose (log lines, output, tracebacks, suggestion messages, previews), made
safe to print on the author's terminal: an agent is untrusted, and a control character in
what it writes could otherwise move the cursor, rewrite earlier lines, set the terminal's
title or, on some terminals, answer back into the input; bidirectional overrides can make
text read differently from what it is. Each such character is shown as its escape."""

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


def safe_text(text: str) -> str:
    """Multi-line text (output, a traceback) escaped line by line: newlines and tabs kept."""
    return "\n".join("\t".join(printable(part, limit=None) for part in line.split("\t")) for line in text.split("\n"))
