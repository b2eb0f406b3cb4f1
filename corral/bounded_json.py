"""JSON from an untrusted party, with its size and nesting bounded before it is parsed.

`json.loads` recurses in C for each nested array or object: a document nested a few
hundred thousand deep (well under a megabyte) overflows the C stack and kills the process
rather than raising. So the depth is counted first, in one linear pass that understands
strings, and only a document within both bounds reaches the parser.
"""

from __future__ import annotations

import json
import re

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32
_STRUCTURE = re.compile(r'["\\\[\]{}]')


class JsonTooLarge(ValueError):
    """The document is over the size or nesting bound (the message says which)."""


def loads(text: str | bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> object:
    """Parses `text`; raises JsonTooLarge past the bounds and ValueError (json's) when it is not JSON."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if len(text) > max_bytes:
        raise JsonTooLarge(f"the JSON is {len(text)} characters; at most {max_bytes} are accepted")
    if nesting_depth(text) > max_depth:
        raise JsonTooLarge(f"the JSON nests deeper than {max_depth} levels")
    return json.loads(text)


def nesting_depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings (malformed text is left to the parser).
    Only the characters that matter are visited, so a long string costs one regex scan."""
    depth = deepest = 0
    in_string = False
    escaped_at = -1  # the index of a character escaped by a backslash
    for match in _STRUCTURE.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
