"""The signer's audit-log head stored by the platform: the newest one any replica was given,
on SQLite and PostgreSQL."""

from __future__ import annotations

from corral.v1 import signer_pb2
from orchestrator.store.audit_heads import AuditHeads, newest_head


def stored(database) -> str:
    with database.session() as db:
        return newest_head(db)


def test_the_first_head_is_stored_and_a_newer_one_replaces_it(db):
    heads = AuditHeads(db)
    assert stored(db) == ""
    heads.record(signer_pb2.AuditHead(seq=9, mac="a" * 64))
    assert stored(db) == f"9:{'a' * 64}"
    heads.record(signer_pb2.AuditHead(seq=10, mac="b" * 64))  # more digits: compared as numbers, not text
    assert stored(db) == f"10:{'b' * 64}"


def test_a_replica_never_replaces_a_newer_head_another_replica_stored(db):
    behind, ahead = AuditHeads(db), AuditHeads(db)
    behind.record(signer_pb2.AuditHead(seq=5, mac="a" * 64))
    ahead.record(signer_pb2.AuditHead(seq=12, mac="c" * 64))
    behind.record(signer_pb2.AuditHead(seq=9, mac="b" * 64))  # newer than what this replica saw, older than what is stored
    assert stored(db) == f"12:{'c' * 64}"


def test_an_older_answer_or_one_without_a_head_changes_nothing(db):
    heads = AuditHeads(db)
    heads.record(signer_pb2.AuditHead(seq=7, mac="a" * 64))
    heads.record(signer_pb2.AuditHead(seq=3, mac="b" * 64))
    heads.record(signer_pb2.AuditHead())  # a signer from before heads
    assert stored(db) == f"7:{'a' * 64}"
