"""Agent memory has a quota per namespace, of keys and of bytes (UTF-8, keys and values), on
SQLite and on PostgreSQL: a write past it is RESOURCE_EXHAUSTED saying what to do, and what
was stored stays as it was."""

from __future__ import annotations

import grpc
import pytest

from orchestrator.errors import Refused
from orchestrator.executions import memory
from orchestrator.store import Database, MemoryRow


def stored(database: Database, namespace: str) -> dict[str, str]:
    with database.session() as session:
        return {row.key: row.value for row in session.query(MemoryRow).filter(MemoryRow.namespace == namespace)}


def test_keys_are_bounded_per_namespace(db, monkeypatch):
    monkeypatch.setattr(memory, "MAX_KEYS", 3)
    with db.session() as session:
        for key in "abc":
            memory.set_value(session, "session:1", key, "v")
        memory.set_value(session, "session:1", "a", "replaced")  # replacing a key adds none
        with pytest.raises(Refused) as refused:
            memory.set_value(session, "session:1", "d", "v")
        memory.set_value(session, "session:2", "d", "v")  # another namespace has its own quota
    assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "delete keys" in refused.value.message
    assert stored(db, "session:1") == {"a": "replaced", "b": "v", "c": "v"}


def test_bytes_are_bounded_per_namespace_counting_utf8(db, monkeypatch):
    monkeypatch.setattr(memory, "MAX_NAMESPACE_BYTES", 100)
    with db.session() as session:
        memory.set_value(session, "shared:7", "k1", "é" * 40)  # 2 + 80 bytes, though 42 characters
        with pytest.raises(Refused) as refused:
            memory.set_value(session, "shared:7", "k2", "x" * 17)  # 82 + 2 + 17 = 101
        memory.set_value(session, "shared:7", "k2", "x" * 16)  # exactly 100
        memory.set_value(session, "shared:7", "k1", "é" * 40)  # the same again: its old value is not counted twice
    assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "100-byte limit" in refused.value.message
    assert stored(db, "shared:7") == {"k1": "é" * 40, "k2": "x" * 16}
