"""ManifestError, the internal problem types the validators raise, and how values, key paths and
"did you mean" suggestions are written in the messages."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class ManifestError(ValueError):
    """A circuit.toml problem, phrased as what to fix."""


_UNSET: Any = object()


class _Problem(ValueError):
    """One mistake. `key` is relative to where pydantic found it unless `absolute`; `value` defaults to
    the input pydantic reports. `text` says what is wrong and what to write instead."""

    def __init__(self, text: str, key: tuple = (), value: Any = _UNSET, absolute: bool = False) -> None:
        super().__init__(text)
        self.text, self.key, self.value, self.absolute = text, tuple(key), value, absolute


class _Problems(ValueError):
    def __init__(self, problems: list[_Problem]) -> None:
        super().__init__("; ".join(p.text for p in problems))
        self.problems = problems


def _toml(value: Any, limit: int = 80) -> str:
    """A value as it would be written in circuit.toml (shortened when long)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, list):
        text = "[" + ", ".join(_toml(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{ " + ", ".join(f"{_key_part(k)} = {_toml(v, limit)}" for k, v in value.items()) + " }" if value else "{}"
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key_part(part: Any) -> str:
    part = str(part)
    return part if _BARE_KEY.match(part) else json.dumps(part)


def _path(parts: tuple, origins: dict[str, str] | None = None) -> str:
    out = ""
    for i, part in enumerate(parts):
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        if i == 0 and origins and part in origins:
            part = origins[part]
        out += ("." if out else "") + _key_part(part)
    return out


def _kinds(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _one_of(values: tuple | list) -> str:
    quoted = [json.dumps(v) for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if str(word).lower() in lowered:
            close = [lowered[str(word).lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""
