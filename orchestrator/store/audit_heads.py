"""The signer's audit-log heads, kept where the signer cannot reach them.

Every signer answer carries the head of its audit log after that decision (sequence number
and MAC). The newest one is stored in this platform's database, so that a log cut short or
replaced on the signer's side (by whoever holds its files) no longer holds a head the
platform was given: `corral status` shows it, `corral signer audit verify --expect-head`
checks it. The signer's MAC key never leaves the signer, so the platform cannot forge a log
either.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, Integer, bindparam, cast, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from corral.v1 import signer_pb2
from orchestrator.store import Database, SettingRow

AUDIT_HEAD_KEY = "signer_audit_head"

_SETTINGS = SettingRow.__table__


def _store_newer(upsert: postgresql.Insert | sqlite.Insert, stored_seq: ColumnElement[int]) -> postgresql.Insert | sqlite.Insert:
    """One upsert of the head: inserted when none is stored, replacing the stored one only when
    that is older (another replica may have stored a newer one meanwhile). One statement
    instead of a read and a write: it runs with every signed transaction."""
    statement = upsert.values(key=AUDIT_HEAD_KEY, value=bindparam("value"))
    return statement.on_conflict_do_update(
        index_elements=[_SETTINGS.c.key], set_={"value": statement.excluded.value}, where=stored_seq < bindparam("seq"))


# Built once per dialect (SQLAlchemy caches the compiled SQL by the statement). The stored
# value is "SEQ:MAC"; each dialect spells "the part before the colon" its own way.
_STORE_NEWER = {
    "postgresql": _store_newer(postgresql.insert(_SETTINGS), cast(func.split_part(_SETTINGS.c.value, ":", 1), BigInteger)),
    "sqlite": _store_newer(sqlite.insert(_SETTINGS), cast(func.substr(_SETTINGS.c.value, 1, func.instr(_SETTINGS.c.value, ":") - 1), Integer)),
}


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
        statement = _STORE_NEWER[db.get_bind().dialect.name]
        db.connection().execute(statement, {"value": f"{head.seq}:{head.mac}", "seq": head.seq})
        return True


def newest_head(db: Session) -> str:
    """"SEQ:MAC" of the newest head any replica stored, or ""."""
    row = db.get(SettingRow, AUDIT_HEAD_KEY)
    return row.value if row is not None else ""
