"""Start-up recovery: what a previous orchestrator process left half-done (it crashed, was
killed, or the machine went down) is closed or finished before new work is scheduled.

- Executions still `running` are `interrupted`, with the reason; their sandboxes and
  socket directories are removed; their sessions continue at their next interval, not at
  once (the interval was the agent's promise, a crash does not shorten it).
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

from orchestrator import events
from orchestrator.agents import agent_manifest
from orchestrator.errors import Refused
from orchestrator.executions import ExecutionRunner
from orchestrator.schedule import next_run_after
from orchestrator.store import Database, ExecutionRow, SessionRow, TransactionRow, utcnow
from orchestrator.suggestions import Suggestions
from orchestrator.transactions import TransactionSender

log = logging.getLogger("corral.recovery")

INTERRUPTED = "the orchestrator stopped while this execution ran"
NEVER_BROADCAST = "the orchestrator stopped before this transaction was signed and stored; it was never broadcast"


class Recovery:
    def __init__(self, db: Database, runner: ExecutionRunner, sender: TransactionSender, suggestions: Suggestions,
                 minute_seconds: float) -> None:
        self._db = db
        self._runner = runner
        self._sender = sender
        self._suggestions = suggestions
        self._minute_seconds = minute_seconds

    def close_interrupted_work(self) -> None:
        """The synchronous part, before the scheduler starts."""
        sandboxes = self._interrupt_executions()
        for sandbox_id in sandboxes:
            self._runner.remove_sandbox(sandbox_id)
        rejected = self._reject_unsigned_intents()
        settled = self._suggestions.recover()
        if sandboxes or rejected or settled:
            log.warning("recovered: %d interrupted executions, %d unsigned transaction intents rejected, %d suggestions settled",
                        len(sandboxes), rejected, settled)

    async def resume_signed_transactions(self) -> None:
        """The part that waits on chains: runs beside the scheduler (a session with a
        transaction still `signed` shows it as pending meanwhile)."""
        with self._db.session() as db:
            signed = list(db.scalars(select(TransactionRow).where(TransactionRow.status == "signed").order_by(TransactionRow.id)))
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
            self._suggestions.recover()  # approvals waiting on those transactions

    def _interrupt_executions(self) -> list[str]:
        now = utcnow()
        sandboxes = []
        with self._db.session() as db:
            for execution in db.scalars(select(ExecutionRow).where(ExecutionRow.status == "running")):
                execution.status, execution.error, execution.finished_at = "interrupted", INTERRUPTED, now
                events.record(db, "execution", "finished", execution.session_id, execution.id)
                if execution.sandbox_id:
                    sandboxes.append(execution.sandbox_id)
                session = db.scalar(select(SessionRow).options(joinedload(SessionRow.agent)).where(SessionRow.id == execution.session_id))
                if session.status == "running":
                    manifest = agent_manifest(session.agent)
                    session.next_run_at = next_run_after(now, manifest.runtimeIntervalMinutes, manifest.schedule, self._minute_seconds)
            db.commit()
        return sandboxes

    def _reject_unsigned_intents(self) -> int:
        with self._db.session() as db:
            rows = db.execute(
                update(TransactionRow).where(TransactionRow.status == "pending")
                .values(status="rejected", error=NEVER_BROADCAST, updated_at=utcnow())
                .returning(TransactionRow.id, TransactionRow.session_id)
            ).all()
            for tx_id, session_id in rows:
                events.record(db, "transaction", "rejected", session_id, tx_id)
            db.commit()
        return len(rows)
