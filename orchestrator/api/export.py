"""ExportSession: a session's whole history as JSON lines, streamed in bounded chunks.

Each line is one record with a `type`: "session" first, then each "execution" (with its
`output`) followed by its "log" lines, then "transaction", "suggestion" and "event" records,
each kind oldest first. A record is the proto3 JSON form of the API's own message (the fields
GetSession, GetExecutionLogs, ListTransactions and ListSuggestions show; int64 as strings,
enums by name, empty fields left out), so a console reads an export with the code that reads
the API. Rows are read PAGE_ROWS at a time, each page in its own database session, and only
rows that existed when the export began: memory stays bounded however long the history, and
the export is the history up to its start even while the session runs on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from orchestrator.store import Database, EventRow, ExecutionLogRow, ExecutionRow, SessionRow, SuggestionRow, TransactionRow

PAGE_ROWS = 200
# A chunk holds whole lines up to this many bytes; a longer line is split across chunks.
CHUNK_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Renderers:
    """The API's message for each kind of row (the service's converters)."""

    session: Callable[[SessionRow], Message]
    execution: Callable[[ExecutionRow], Message]
    transaction: Callable[[TransactionRow], Message]
    suggestion: Callable[[SuggestionRow], Message]


def record(kind: str, fields: dict[str, Any]) -> bytes:
    return (json.dumps({"type": kind, **fields}, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def message_record(kind: str, message: Message, **extra: Any) -> bytes:
    return record(kind, {**MessageToDict(message, preserving_proto_field_name=True), **extra})


@dataclass(frozen=True)
class _Heads:
    """The newest id of each table when the export began: nothing later is exported."""

    execution: int
    log: int
    transaction: int
    suggestion: int
    event: int


def _heads(db: Session) -> _Heads:
    def newest(column: Any) -> int:
        return db.scalar(select(func.max(column))) or 0

    return _Heads(newest(ExecutionRow.id), newest(ExecutionLogRow.id), newest(TransactionRow.id), newest(SuggestionRow.id),
                  newest(EventRow.id))


async def _paged(db: Database, query: Callable[[int], Select], line: Callable[[Any], bytes]) -> AsyncIterator[tuple[Any, bytes]]:
    """(row, its line) for every row `query(after_id)` selects, PAGE_ROWS rows per database session."""
    after = 0
    while True:
        page = await db.run(lambda s, after=after: [(row, line(row)) for row in s.scalars(query(after).limit(PAGE_ROWS)).all()])
        for item in page:
            yield item
        if len(page) < PAGE_ROWS:
            return
        after = page[-1][0].id


def json_time(value: datetime) -> str:
    """A stored (naive UTC) time as proto3 JSON writes a Timestamp: 0, 3 or 6 fractional digits."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    micro = value.microsecond
    if micro:
        text += f".{micro // 1000:03d}" if micro % 1000 == 0 else f".{micro:06d}"
    return text + "Z"


def log_line(row: ExecutionLogRow) -> bytes:
    """A log record, written directly: log lines are most of an export, and going through the
    ExecutionLog message and its JSON mapping costs three times as much per line. The same
    fields and format (tests/integration/test_session_export.py compares them)."""
    fields = {"level": row.level, "message": row.message, "logged_at": json_time(row.logged_at)}
    return record("log", {key: value for key, value in fields.items() if value} | {"execution_id": str(row.execution_id)})


def _event_line(row: EventRow) -> bytes:
    return record("event", {"id": str(row.id), "kind": row.kind, "change": row.change, "ref_id": str(row.ref_id),
                            "occurred_at": json_time(row.occurred_at)})


async def export_lines(db: Database, session_id: int, render: Renderers) -> AsyncIterator[bytes]:
    """The export's lines in order (the session must exist)."""
    session, heads = await db.run(lambda s: (render.session(s.get(SessionRow, session_id)), _heads(s)))
    yield message_record("session", session)
    executions = _paged(db, lambda after: select(ExecutionRow).where(
        ExecutionRow.session_id == session_id, ExecutionRow.id > after, ExecutionRow.id <= heads.execution).order_by(ExecutionRow.id),
        lambda row: message_record("execution", render.execution(row), output=row.output))
    async for execution, line in executions:
        yield line
        logs = _paged(db, lambda after, execution_id=execution.id: select(ExecutionLogRow).where(
            ExecutionLogRow.execution_id == execution_id, ExecutionLogRow.id > after, ExecutionLogRow.id <= heads.log,
        ).order_by(ExecutionLogRow.id), log_line)
        async for _row, line_of_log in logs:
            yield line_of_log
    for kind, model, head in (("transaction", TransactionRow, heads.transaction), ("suggestion", SuggestionRow, heads.suggestion)):
        to_message = getattr(render, kind)
        rows = _paged(db, lambda after, model=model, head=head: select(model).where(
            model.session_id == session_id, model.id > after, model.id <= head).order_by(model.id),
            lambda row, kind=kind, to_message=to_message: message_record(kind, to_message(row)))
        async for _row, line in rows:
            yield line
    events = _paged(db, lambda after: select(EventRow).where(
        EventRow.session_id == session_id, EventRow.id > after, EventRow.id <= heads.event).order_by(EventRow.id), _event_line)
    async for _row, line in events:
        yield line


async def chunked(lines: AsyncIterator[bytes], limit: int = CHUNK_MAX_BYTES) -> AsyncIterator[bytes]:
    """`lines` regrouped into chunks of at most `limit` bytes, ending at a line's end unless a
    line is longer than `limit`; joined, the chunks are the lines."""
    buffer = bytearray()
    async for line in lines:
        if buffer and len(buffer) + len(line) > limit:
            yield bytes(buffer)
            buffer.clear()
        buffer += line
        while len(buffer) > limit:
            yield bytes(buffer[:limit])
            del buffer[:limit]
    if buffer:
        yield bytes(buffer)
