"""Pruning the history that only grows: change-feed events, agents' log lines, execution
recordings and the shadow runs compared with them, and recorded market data, older than the `[retention]` settings keep (0 days: kept forever), with the events the notification
deliveries that are finished (delivered or dead; a pending one is kept, however old), and
request ids (the answers kept for retried API calls) past their day (orchestrator/api/idempotency.py).

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

from sqlalchemy import ColumnElement, delete, select, true

from orchestrator.store.db import Database, utcnow
from orchestrator.store.models import (
    EventRow,
    ExecutionLogRow,
    ExecutionRecordingRow,
    MarketSampleRow,
    NotificationOutboxRow,
    RequestIdRow,
    ShadowRunRow,
)
from orchestrator.store.statuses import DeliveryStatus

log = logging.getLogger("corral.retention")
# How long a request id's answer is kept for retries: what docs/api.md promises clients.
REQUEST_IDS_KEPT = timedelta(hours=24)


@dataclass(frozen=True)
class Pruned:
    events: int
    execution_logs: int
    request_ids: int = 0
    deliveries: int = 0
    recordings: int = 0
    shadow_runs: int = 0
    market_samples: int = 0


class Retention:
    def __init__(self, db: Database, events_days: float, execution_logs_days: float, batch_rows: int = 1000,
                 recordings_days: float = 30.0, market_data_days: float = 90.0) -> None:
        self._db = db
        self._events_days = events_days
        self._logs_days = execution_logs_days
        self._recordings_days = recordings_days
        self._market_data_days = market_data_days
        self._batch = batch_rows

    def prune(self, now: datetime | None = None) -> Pruned:
        """Blocking (run it in a thread): deletes what is past its retention."""
        now = now or utcnow()
        events_cutoff = now - timedelta(days=self._events_days)
        pruned = Pruned(
            events=self._prune(EventRow, EventRow.occurred_at, events_cutoff) if self._events_days else 0,
            execution_logs=self._prune(ExecutionLogRow, ExecutionLogRow.logged_at, now - timedelta(days=self._logs_days)) if self._logs_days else 0,
            request_ids=self._prune(RequestIdRow, RequestIdRow.created_at, now - REQUEST_IDS_KEPT),
            # A pending delivery is kept, and the walk stops at its batch.
            deliveries=self._prune(NotificationOutboxRow, NotificationOutboxRow.created_at, events_cutoff,
                                   finished=NotificationOutboxRow.status != DeliveryStatus.PENDING) if self._events_days else 0,
            # A recording is up to a mebibyte: a hundredth of the batch per transaction, so a
            # delete never holds SQLite's one writer over gigabytes of pages.
            recordings=self._prune(ExecutionRecordingRow, ExecutionRecordingRow.recorded_at, now - timedelta(days=self._recordings_days),
                                   batch=max(1, self._batch // 100)) if self._recordings_days else 0,
            # A shadow run's difference is up to about 100 KB (executions/shadows.py).
            shadow_runs=self._prune(ShadowRunRow, ShadowRunRow.finished_at, now - timedelta(days=self._recordings_days),
                                    batch=max(1, self._batch // 10)) if self._recordings_days else 0,
            market_samples=self._prune(MarketSampleRow, MarketSampleRow.sampled_at, now - timedelta(days=self._market_data_days))
            if self._market_data_days else 0,
        )
        if any(vars(pruned).values()):
            log.info("retention: removed %d events, %d log lines, %d request ids, %d finished deliveries, %d execution recordings "
                     "%d shadow runs and %d market samples", pruned.events, pruned.execution_logs, pruned.request_ids,
                     pruned.deliveries, pruned.recordings, pruned.shadow_runs, pruned.market_samples)
        return pruned

    def _prune(self, table, written_at, cutoff: datetime, finished: ColumnElement[bool] | None = None, batch: int | None = None) -> int:
        """`finished`: true for the rows that may go once old (default: all); `batch`: rows per
        transaction (default: the configured batch)."""
        finished = true() if finished is None else finished
        batch = batch or self._batch
        removed = 0
        while True:
            with self._db.session() as db:
                oldest = db.execute(select(table.id, written_at, finished).order_by(table.id).limit(batch)).all()
                old = [row_id for row_id, at, done in oldest if at < cutoff and done]
                if old:
                    db.execute(delete(table).where(table.id.in_(old)))
                    db.commit()
            removed += len(old)
            # A batch not wholly old reached rows young enough to keep.
            if not old or len(old) < len(oldest) or len(oldest) < batch:
                return removed
