"""Agent memory: string values under 1–255 character keys, per session or shared per agent.

Each namespace has a quota of keys and of bytes (keys and values, UTF-8): without one, an
agent could grow the database without end (200 writes made it 10 MB).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import grpc
from sqlalchemy import Connection, Integer, Row, bindparam, delete, func, insert, select, update
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


# Built once: the SDK calls these for every get and set, and building a statement costs
# more CPU than SQLite takes to run it (SQLAlchemy caches the compiled SQL by the statement).
# Their parameters: ns (namespace), k (key), v (value), at (update time).
_IN_NAMESPACE = MemoryRow.namespace == bindparam("ns")
_THIS_KEY = MemoryRow.key == bindparam("k")
_GET = select(MemoryRow.key, MemoryRow.value, MemoryRow.updated_at).where(_IN_NAMESPACE, _THIS_KEY)
_OTHERS_USAGE = select(func.count(), func.coalesce(func.sum(_utf8_bytes(MemoryRow.key) + _utf8_bytes(MemoryRow.value)), 0)).where(
    _IN_NAMESPACE, MemoryRow.key != bindparam("k"))
_UPDATE = update(MemoryRow).where(_IN_NAMESPACE, _THIS_KEY).values(value=bindparam("v"), updated_at=bindparam("at"))
_INSERT = insert(MemoryRow).values(namespace=bindparam("ns"), key=bindparam("k"), value=bindparam("v"),
                                   updated_at=bindparam("at"))
_DELETE = delete(MemoryRow).where(_IN_NAMESPACE, _THIS_KEY)


class StoredValue(NamedTuple):
    key: str
    value: str
    updated_at: datetime


def write_value(connection: Connection, namespace: str, key: str, value: str) -> None:
    """Stages the write in `connection`'s transaction, which the caller commits. Every refusal
    is raised before anything is written, so a refused write leaves the transaction as it was."""
    check_key(key)
    size = len(value.encode())
    if size > MAX_VALUE_BYTES:
        raise invalid(f"memory values are limited to {MAX_VALUE_BYTES} bytes; got {size}")
    keys, used = connection.execute(_OTHERS_USAGE, {"ns": namespace, "k": key}).one()
    if keys + 1 > MAX_KEYS:
        raise Refused(grpc.StatusCode.RESOURCE_EXHAUSTED,
                      f"this memory holds {keys} other keys, its limit is {MAX_KEYS}: delete keys it no longer needs first")
    if used + len(key.encode()) + size > MAX_NAMESPACE_BYTES:
        raise Refused(grpc.StatusCode.RESOURCE_EXHAUSTED,
                      f"this memory would hold {used + len(key.encode()) + size} bytes, over its {MAX_NAMESPACE_BYTES}-byte limit: "
                      "delete or shorten values first")
    row = {"ns": namespace, "k": key, "v": value, "at": utcnow()}
    # Update, else insert: one statement for a key the agent writes again (the usual case),
    # the same on SQLite and PostgreSQL. Two writers of a new key race to the unique constraint.
    if connection.execute(_UPDATE, row).rowcount == 0:
        connection.execute(_INSERT, row)


def set_value(db: Session, namespace: str, key: str, value: str) -> None:
    write_value(db.connection(), namespace, key, value)
    db.commit()


def get_value(db: Connection, namespace: str, key: str) -> StoredValue | None:
    check_key(key)
    row = db.execute(_GET, {"ns": namespace, "k": key}).one_or_none()
    return None if row is None else StoredValue(*row)


def remove_value(connection: Connection, namespace: str, key: str) -> None:
    """Stages the deletion in `connection`'s transaction, which the caller commits."""
    check_key(key)
    connection.execute(_DELETE, {"ns": namespace, "k": key})


def delete_value(db: Session, namespace: str, key: str) -> None:
    remove_value(db.connection(), namespace, key)
    db.commit()


def list_keys(db: Connection, namespace: str, prefix: str | None) -> list[Row[tuple[str, datetime]]]:
    """(key, updated_at) rows, sorted by key."""
    query = select(MemoryRow.key, MemoryRow.updated_at).where(MemoryRow.namespace == namespace)
    if prefix:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(MemoryRow.key.like(escaped + "%", escape="\\"))
    return list(db.execute(query.order_by(MemoryRow.key).limit(MAX_LIST_ITEMS)))


def clear_namespace(db: Session, namespace: str) -> None:
    """Deletes the namespace's entries; the caller commits (with whatever ended the memory)."""
    db.execute(delete(MemoryRow).where(MemoryRow.namespace == namespace))
