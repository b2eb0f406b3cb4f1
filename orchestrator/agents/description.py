"""An agent's DESCRIPTION.md as the catalogue shows it: the text, its ## Summary and its ## Risks.

The text comes from the image (`corral build` labels it; corral.limits.DESCRIPTION_MAX_BYTES
at most) and is the agent author's: control characters other than newline and tab are
dropped, so a console can show it as Markdown without a terminal or layout escape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corral.limits import DESCRIPTION_MAX_BYTES

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_HEADING = re.compile(r"^##\s+(.+?)\s*#*\s*$", re.M)


class DescriptionTooLong(ValueError):
    pass


@dataclass(frozen=True)
class AgentDescription:
    markdown: str
    summary: str
    risks: str


def sanitized(text: str) -> str:
    """`text` without control characters (newlines and tabs kept) or bidirectional overrides."""
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


def checked_description(text: str, image: str) -> str:
    """The label's text, sanitized; DescriptionTooLong past the cap (an image `corral build` did not make)."""
    size = len(text.encode("utf-8"))
    if size > DESCRIPTION_MAX_BYTES:
        raise DescriptionTooLong(f"image {image!r} carries a DESCRIPTION.md of {size:,} bytes; the most accepted is "
                                 f"{DESCRIPTION_MAX_BYTES:,} (64 KiB): shorten it and rebuild with `corral build`")
    return sanitized(text)


def _section(markdown: str, title: str) -> str:
    """The text under `## <title>` (case-insensitive) up to the next `## ` heading; "" when absent."""
    headings = list(_HEADING.finditer(markdown))
    for index, heading in enumerate(headings):
        if heading.group(1).strip().lower() == title:
            end = headings[index + 1].start() if index + 1 < len(headings) else len(markdown)
            return markdown[heading.end():end].strip()
    return ""


def parse_description(markdown: str) -> AgentDescription:
    return AgentDescription(markdown=markdown, summary=_section(markdown, "summary"), risks=_section(markdown, "risks"))
