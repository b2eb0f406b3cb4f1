"""Agent-made text made safe for a terminal.

An agent's log lines, output and traceback are written by untrusted code: printed as
they are, an escape sequence in them could retitle the window, rewrite what was printed
before it (a carriage return, cursor moves) or, on some terminals, answer back into the
input. Bidirectional overrides can make text read differently from what it is. Each such
character is shown as its escape (`\\x1b`, `\\u202e`) instead; newlines and tabs are kept.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """`text` with every control character but newline and tab shown as its escape."""
    return _UNSAFE.sub(_escape, text)
