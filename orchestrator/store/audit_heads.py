"""The signer's audit-log heads, kept where the signer cannot reach them.

Every signer answer carries the head of its audit log after that decision (sequence number
and MAC). The newest one is stored in this platform's database, so that a log cut short or
replaced on the signer's side (by whoever holds its files) no longer holds a head the
platform was given: `corral status` shows it, `corral signer audit verify --expect-head`
checks it. The signer's MAC key never leaves the signer, so the platform cannot forge a log
either.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from corral.v1 import signer_pb2
from orchestrator.store import Database, SettingRow

AUDIT_HEAD_KEY = "signer_audit_head"


class AuditHeads:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._newest = 0

    def record(self, head: signer_pb2.AuditHead) -> None:
        with self._db.session() as db:
            if self.write(db, head):
                db.commit()

    def write(self, db: Session, head: signer_pb2.AuditHead) -> bool:
        """Stores `head` in the caller's database transaction (committing is the caller's);
        False when it is not newer than the last one."""
        if head.seq <= self._newest:
            return False  # an older answer, or none (a signer from before heads)
        self._newest = head.seq
        row = db.get(SettingRow, AUDIT_HEAD_KEY)
        if row is None:
            db.add(SettingRow(key=AUDIT_HEAD_KEY, value=f"{head.seq}:{head.mac}"))
        elif int(row.value.split(":", 1)[0]) < head.seq:  # another replica may have stored a newer one
            row.value = f"{head.seq}:{head.mac}"
        return True


def newest_head(db: Session) -> str:
    """"SEQ:MAC" of the newest head any replica stored, or ""."""
    row = db.get(SettingRow, AUDIT_HEAD_KEY)
    return row.value if row is not None else ""
