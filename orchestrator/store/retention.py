"""Pruning the history that only grows: change-feed events and agents' log lines older than
the `[retention]` settings keep (0 days: kept forever).

Rows are removed oldest first, a batch per short transaction, walking the primary key: a
pass that finds nothing old reads one batch of ids and stops, whatever the table's size, and
a large backlog never holds the database (or SQLite's one writer) for long. Only rows whose
own time is older than the cutoff are deleted; ids and times go together closely enough (a
row written with a replica's skewed clock just waits for a later pass).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from orchestrator.store.db import Database, utcnow
from orchestrator.store.models import EventRow, ExecutionLogRow

log = logging.getLogger("corral.retention")


@dataclass(frozen=True)
class Pruned:
    events: int
    execution_logs: int


class Retention:
    def __init__(self, db: Database, events_days: float, execution_logs_days: float, batch_rows: int = 1000) -> None:
        self._db = db
        self._events_days = events_days
        self._logs_days = execution_logs_days
        self._batch = batch_rows

    def prune(self, now: datetime | None = None) -> Pruned:
        """Blocking (run it in a thread): deletes what is past its retention."""
        now = now or utcnow()
        pruned = Pruned(
            events=self._prune(EventRow, EventRow.occurred_at, now - timedelta(days=self._events_days)) if self._events_days else 0,
            execution_logs=self._prune(ExecutionLogRow, ExecutionLogRow.logged_at, now - timedelta(days=self._logs_days)) if self._logs_days else 0,
        )
        if pruned.events or pruned.execution_logs:
            log.info("retention: removed %d events and %d log lines", pruned.events, pruned.execution_logs)
        return pruned

    def _prune(self, table, written_at, cutoff: datetime) -> int:
        removed = 0
        while True:
            with self._db.session() as db:
                oldest = db.execute(select(table.id, written_at).order_by(table.id).limit(self._batch)).all()
                old = [row_id for row_id, at in oldest if at < cutoff]
                if old:
                    db.execute(delete(table).where(table.id.in_(old)))
                    db.commit()
            removed += len(old)
            # A batch not wholly old reached rows young enough to keep.
            if not old or len(old) < len(oldest) or len(oldest) < self._batch:
                return removed
