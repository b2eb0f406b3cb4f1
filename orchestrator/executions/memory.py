"""Agent memory: string values under 1–255 character keys, per session or shared per agent.

Each namespace has a quota of keys and of bytes (keys and values, UTF-8): without one, an
agent could grow the database without end (200 writes made it 10 MB).
"""

from __future__ import annotations

import grpc
from sqlalchemy import Integer, delete, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from orchestrator.errors import Refused, invalid
from orchestrator.store import MemoryRow, utcnow

MAX_KEY_CHARS = 255
MAX_VALUE_BYTES = 64 * 1024
MAX_LIST_ITEMS = 1000
# Per namespace (a session's memory, or an agent's shared memory).
MAX_KEYS = 1000
MAX_NAMESPACE_BYTES = 1024 * 1024


class _utf8_bytes(FunctionElement):
    """The UTF-8 size of a text column, in SQL (PostgreSQL's octet_length; SQLite 3.40 has none)."""

    type = Integer()
    inherit_cache = True


@compiles(_utf8_bytes)
def _octet_length(element, compiler, **kw):
    return f"octet_length({compiler.process(element.clauses, **kw)})"


@compiles(_utf8_bytes, "sqlite")
def _blob_length(element, compiler, **kw):
    return f"length(CAST({compiler.process(element.clauses, **kw)} AS BLOB))"


def session_namespace(session_id: int) -> str:
    return f"session:{session_id}"


def shared_namespace(agent_id: int) -> str:
    return f"shared:{agent_id}"


def check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_CHARS:
        raise invalid(f"memory keys must be 1–{MAX_KEY_CHARS} characters; got {len(key)}")


def set_value(db: Session, namespace: str, key: str, value: str) -> None:
    check_key(key)
    size = len(value.encode())
    if size > MAX_VALUE_BYTES:
        raise invalid(f"memory values are limited to {MAX_VALUE_BYTES} bytes; got {size}")
    others = (MemoryRow.namespace == namespace, MemoryRow.key != key)
    keys, used = db.execute(select(func.count(), func.coalesce(func.sum(_utf8_bytes(MemoryRow.key) + _utf8_bytes(MemoryRow.value)), 0))
                            .where(*others)).one()
    if keys + 1 > MAX_KEYS:
        raise Refused(grpc.StatusCode.RESOURCE_EXHAUSTED,
                      f"this memory holds {keys} other keys, its limit is {MAX_KEYS}: delete keys it no longer needs first")
    if used + len(key.encode()) + size > MAX_NAMESPACE_BYTES:
        raise Refused(grpc.StatusCode.RESOURCE_EXHAUSTED,
                      f"this memory would hold {used + len(key.encode()) + size} bytes, over its {MAX_NAMESPACE_BYTES}-byte limit: "
                      "delete or shorten values first")
    row = db.scalar(select(MemoryRow).where(MemoryRow.namespace == namespace, MemoryRow.key == key))
    if row is None:
        db.add(MemoryRow(namespace=namespace, key=key, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
    db.commit()


def get_value(db: Session, namespace: str, key: str) -> MemoryRow | None:
    check_key(key)
    return db.scalar(select(MemoryRow).where(MemoryRow.namespace == namespace, MemoryRow.key == key))


def delete_value(db: Session, namespace: str, key: str) -> None:
    check_key(key)
    db.execute(delete(MemoryRow).where(MemoryRow.namespace == namespace, MemoryRow.key == key))
    db.commit()


def list_keys(db: Session, namespace: str, prefix: str | None) -> list[MemoryRow]:
    query = select(MemoryRow).where(MemoryRow.namespace == namespace)
    if prefix:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(MemoryRow.key.like(escaped + "%", escape="\\"))
    return list(db.scalars(query.order_by(MemoryRow.key).limit(MAX_LIST_ITEMS)))


def list_entries(db: Session, namespace: str) -> list[MemoryRow]:
    """Every key with its value, sorted by key (for inspection through the frontend API)."""
    return list(db.scalars(select(MemoryRow).where(MemoryRow.namespace == namespace).order_by(MemoryRow.key)))


def clear_namespace(db: Session, namespace: str) -> None:
    db.execute(delete(MemoryRow).where(MemoryRow.namespace == namespace))
    db.commit()
