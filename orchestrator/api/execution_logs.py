"""GetExecutionLogs' paging: an execution's log lines and its output, a bounded page at a time.

A page carries up to `page_size` log lines and up to OUTPUT_PAGE_MAX_CHARS characters of
output, so no reply grows with what an agent wrote (at most 1,000 lines of 250 characters
and 64 Ki characters: about 1.3 MiB in UTF-8, under gRPC's 4 MiB). The page token says
where the next page starts in both, and which execution it belongs to.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from orchestrator.errors import invalid

LOG_PAGE_DEFAULT = 200
LOG_PAGE_MAX = 1000
OUTPUT_PAGE_MAX_CHARS = 65_536
_TOKEN_PREFIX = "v1"
_BAD_TOKEN = "page_token is not one this API gave for this execution: pass the previous reply's next_page_token, or none to start"


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after log line `after_log_id`, at character `output_offset`."""

    execution_id: int
    after_log_id: int = 0
    output_offset: int = 0

    def token(self) -> str:
        text = f"{_TOKEN_PREFIX}:{self.execution_id}:{self.after_log_id}:{self.output_offset}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def page_size(asked: int) -> int:
    """The log lines a page holds: 0 means the default; past the maximum, the maximum."""
    if asked < 0:
        raise invalid(f"page_size must be 0 (for {LOG_PAGE_DEFAULT}) or more, not {asked}")
    return min(asked or LOG_PAGE_DEFAULT, LOG_PAGE_MAX)


def parse_token(token: str, execution_id: int) -> Cursor:
    """The cursor a page token stands for; the first page's for an empty one."""
    if not token:
        return Cursor(execution_id)
    if len(token) > 100:
        raise invalid(_BAD_TOKEN)
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        prefix, execution, after_log, offset = text.split(":")
        cursor = Cursor(int(execution), int(after_log), int(offset))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid(_BAD_TOKEN) from None
    # Only the exact text this API made (no sign, no leading zero, no trailing bits) is one.
    if prefix != _TOKEN_PREFIX or cursor.execution_id != execution_id or cursor.token() != token \
            or min(cursor.after_log_id, cursor.output_offset) < 0:
        raise invalid(_BAD_TOKEN)
    return cursor


def output_part(output: str, cursor: Cursor) -> tuple[str, int]:
    """This page's part of the output, and the offset of the next part."""
    part = output[cursor.output_offset : cursor.output_offset + OUTPUT_PAGE_MAX_CHARS]
    return part, cursor.output_offset + len(part)


def next_token(cursor: Cursor, last_log_id: int | None, more_logs: bool, output_end: int, output_length: int) -> str:
    """The token of the page after this one; "" when this one is the last."""
    if not more_logs and output_end >= output_length:
        return ""
    after = last_log_id if last_log_id is not None else cursor.after_log_id
    return Cursor(cursor.execution_id, after, output_end).token()
