"""The orchestrators working on one database, and which of them are alive.

Each replica writes a heartbeat every few seconds. One silent for longer than the lease
period is dead: the first live replica to claim its row (a conditional delete, so exactly
one does) recovers its work (orchestrator/sessions/recovery.py). Its session leases expire on their
own, so other replicas pick up its sessions within one lease period.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from orchestrator.store import Database, ReplicaRow, utcnow


class Replicas:
    def __init__(self, db: Database, lease_seconds: float) -> None:
        self._db = db
        self.me = db.replica_id
        self._lease = timedelta(seconds=lease_seconds)

    def join(self) -> None:
        now = utcnow()
        with self._db.session() as db:
            row = db.get(ReplicaRow, self.me)
            if row is None:
                db.add(ReplicaRow(id=self.me, started_at=now, heartbeat_at=now))
            else:
                row.started_at = row.heartbeat_at = now
            try:
                db.commit()
            except IntegrityError:  # a sweeper removed and re-added it meanwhile: keep theirs
                db.rollback()

    def heartbeat(self) -> None:
        with self._db.session() as db:
            beat = db.execute(update(ReplicaRow).where(ReplicaRow.id == self.me).values(heartbeat_at=utcnow())).rowcount
            db.commit()
        if not beat:  # declared dead while it was slow (its work was recovered): join again
            self.join()

    def claim_dead(self) -> list[str]:
        """The replicas silent for longer than the lease period, each claimed by exactly one
        caller: the rows are deleted and their ids returned to recover."""
        with self._db.session() as db:
            dead = db.execute(
                delete(ReplicaRow).where(ReplicaRow.id != self.me, ReplicaRow.heartbeat_at < utcnow() - self._lease).returning(ReplicaRow.id)
            ).scalars().all()
            db.commit()
        return list(dead)
