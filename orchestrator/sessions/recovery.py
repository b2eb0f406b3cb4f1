"""Recovery: what an orchestrator replica left half-done (it crashed, was killed, or its
machine went down) is closed or finished. A replica recovers its own work when it starts
again (same `replica_id`), before it schedules anything; the work of a replica that died
for good is recovered by whichever live replica first sees its heartbeat go stale.

- Executions still `running` are `interrupted`, with the reason; their sandboxes and
  socket directories are removed; their sessions continue at their next interval, not at
  once (the interval was the agent's promise, a crash does not shorten it). A session whose
  previous execution was interrupted too is paused instead, with the reason: the
  orchestrator stopped twice in a row while it ran, and an execution that kills the
  orchestrator must not kill it again at every restart (a person resumes it).
- Transactions still `pending` were never signed *and stored*, so never broadcast (the
  bytes are stored before any broadcast): they are `rejected`, saying so. If the signer had
  signed one, that signature was never sent anywhere.
- Transactions `signed` are broadcast again byte for byte and settled. They are never
  signed again: the same hash lands at most once, so nothing is sent twice.
- Suggestions left `approving` are settled from their transaction (see Suggestions.recover).
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from orchestrator.actions.suggestions import Suggestions
from orchestrator.actions.transactions import TransactionSender
from orchestrator.agents.registry import agent_manifest
from orchestrator.errors import Refused
from orchestrator.executions.runner import ExecutionRunner
from orchestrator.executions.schedule import next_run_after
from orchestrator.store import Database, ExecutionRow, SessionRow, TransactionRow, events, utcnow
from orchestrator.store.statuses import ExecutionStatus, SessionStatus, TransactionStatus

log = logging.getLogger("corral.recovery")

INTERRUPTED = "the orchestrator stopped while this execution ran"
QUARANTINED = ("paused after the orchestrator stopped twice in a row while this session's executions ran (an execution that "
               "crashes the orchestrator would crash it at every restart); resume it once the cause is known")
NEVER_BROADCAST = "the orchestrator stopped before this transaction was signed and stored; it was never broadcast"


class Recovery:
    def __init__(self, db: Database, runner: ExecutionRunner, sender: TransactionSender, suggestions: Suggestions,
                 minute_seconds: float) -> None:
        self._db = db
        self._runner = runner
        self._sender = sender
        self._suggestions = suggestions
        self._minute_seconds = minute_seconds

    async def recover_replica(self, replica_id: str) -> None:
        self.close_interrupted_work(replica_id)
        await self.resume_signed_transactions(replica_id)

    def close_interrupted_work(self, replica_id: str) -> None:
        """The part that needs no chain: at start-up, before the scheduler starts."""
        interrupted = self._interrupt_executions(ExecutionRow.replica_id == replica_id)
        rejected = self._reject_unsigned_intents(replica_id)
        settled = self._suggestions.recover(replica_id)
        self._release_leases(replica_id)
        if interrupted or rejected or settled:
            log.warning("recovered replica %s: %d interrupted executions, %d unsigned transaction intents rejected, "
                        "%d suggestions settled", replica_id, interrupted, rejected, settled)

    async def resume_signed_transactions(self, replica_id: str) -> None:
        """The part that waits on chains: runs beside the scheduler (a session with a
        transaction still `signed` shows it as pending meanwhile)."""
        with self._db.session() as db:
            signed = list(db.scalars(select(TransactionRow).where(TransactionRow.status == TransactionStatus.SIGNED, TransactionRow.replica_id == replica_id)
                                     .order_by(TransactionRow.id)))
        for tx in signed:
            try:
                await self._sender.resume(tx)
            except Refused as refused:
                log.error("transaction %s (%s) stays signed: %s", tx.id, tx.tx_hash, refused.message)
            except Exception:
                log.exception("transaction %s (%s) could not be resumed; it stays signed", tx.id, tx.tx_hash)
            else:
                log.warning("transaction %s (%s) resumed after a restart: %s", tx.id, tx.tx_hash, tx.status)
        if signed:
            self._suggestions.recover(replica_id)  # approvals waiting on those transactions

    def take_over_session(self, session_id: int) -> bool:
        """Called with the session's lease in hand, before running it: an execution still
        `running` is one whose replica lost the lease (it died), so it is closed like any
        interrupted one. True when there was one (the session then waits for its next
        interval)."""
        return self._interrupt_executions(ExecutionRow.session_id == session_id) > 0

    def _interrupt_executions(self, which) -> int:
        """Closes the running executions matching `which` and removes their sandboxes (an
        execution may have died before its sandbox started: it is closed all the same);
        returns how many it closed."""
        now = utcnow()
        sandboxes = []
        with self._db.session() as db:
            running = list(db.scalars(select(ExecutionRow).where(ExecutionRow.status == ExecutionStatus.RUNNING, which)))
            for execution in running:
                execution.status, execution.error, execution.finished_at = ExecutionStatus.INTERRUPTED, INTERRUPTED, now
                events.record(db, "execution", "finished", execution.session_id, execution.id)
                if execution.sandbox_id:
                    sandboxes.append(execution.sandbox_id)
                session = db.scalar(select(SessionRow).options(joinedload(SessionRow.agent)).where(SessionRow.id == execution.session_id))
                if session.status == SessionStatus.RUNNING and self._interrupted_before(db, execution):
                    session.status, session.status_reason = SessionStatus.PAUSED, QUARANTINED
                    events.record(db, "session", SessionStatus.PAUSED, session.id, session.id)
                    log.warning("session %s quarantined: %s", session.id, QUARANTINED)
                elif session.status == SessionStatus.RUNNING:
                    manifest = agent_manifest(session.agent)
                    session.next_run_at = next_run_after(now, manifest.runtimeIntervalMinutes, manifest.schedule, self._minute_seconds)
            db.commit()
        for sandbox_id in sandboxes:
            self._runner.remove_sandbox(sandbox_id)
        return len(running)

    @staticmethod
    def _interrupted_before(db, execution: ExecutionRow) -> bool:
        """Was the session's execution before this one interrupted by a stop too?"""
        previous = db.scalar(select(ExecutionRow.error).where(ExecutionRow.session_id == execution.session_id, ExecutionRow.id < execution.id)
                             .order_by(ExecutionRow.id.desc()).limit(1))
        return previous == INTERRUPTED

    def _release_leases(self, replica_id: str) -> None:
        """Its sessions are free at once (their runs were closed above), rather than when
        their leases would have expired."""
        with self._db.session() as db:
            db.execute(update(SessionRow).where(SessionRow.lease_owner == replica_id).values(lease_owner=None, lease_expires_at=None)
                       .execution_options(synchronize_session=False))
            db.commit()

    def _reject_unsigned_intents(self, replica_id: str) -> int:
        with self._db.session() as db:
            rows = db.execute(
                update(TransactionRow).where(TransactionRow.status == TransactionStatus.PENDING, TransactionRow.replica_id == replica_id)
                .values(status=TransactionStatus.REJECTED, error=NEVER_BROADCAST, updated_at=utcnow())
                .returning(TransactionRow.id, TransactionRow.session_id)
            ).all()
            for tx_id, session_id in rows:
                events.record(db, "transaction", TransactionStatus.REJECTED, session_id, tx_id)
            db.commit()
        return len(rows)
