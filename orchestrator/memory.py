"""Agent memory: string values under 1–255 character keys, per session or shared per agent."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from orchestrator.errors import invalid
from orchestrator.store import MemoryRow, utcnow

MAX_KEY_CHARS = 255
MAX_VALUE_BYTES = 64 * 1024
MAX_LIST_ITEMS = 1000


def session_namespace(session_id: int) -> str:
    return f"session:{session_id}"


def shared_namespace(agent_id: int) -> str:
    return f"shared:{agent_id}"


def check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_CHARS:
        raise invalid(f"memory keys must be 1–{MAX_KEY_CHARS} characters; got {len(key)}")


def set_value(db: Session, namespace: str, key: str, value: str) -> None:
    check_key(key)
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise invalid(f"memory values are limited to {MAX_VALUE_BYTES} bytes; got {len(value.encode())}")
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
