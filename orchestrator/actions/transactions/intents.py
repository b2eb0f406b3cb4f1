"""The durable record of a transaction, shared by every chain's sender.

An intent is stored (with the SDK call's request id) before anything is signed, and every
later step (signed bytes, broadcast, outcome) updates the same row and announces it as an
event. A retried call with the same request id finds the first row instead of sending again.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from corral.limits import ACTION_MESSAGE_MAX_CHARS
from corral.v1 import runtime_pb2
from orchestrator.actions import balances
from orchestrator.errors import invalid
from orchestrator.store import AssetChangeRow, Database, SessionRow, TransactionRow, events, utcnow
from orchestrator.store.statuses import TransactionStatus

# Request ids the platform gives the transactions it sends for an agent (an approved suggestion,
# a swap's steps). An agent may not take them: claimed ahead, one would stand in for the
# platform's transaction (a retried request id returns the first transaction sent under it).
SUGGESTION_REQUEST_PREFIX = "suggestion-"
SWAP_REQUEST_PREFIX = "swap-"


def suggestion_request_id(suggestion_id: int) -> str:
    return f"{SUGGESTION_REQUEST_PREFIX}{suggestion_id}"


def swap_step_request_id(quote_id: str, step: int) -> str:
    return f"{SWAP_REQUEST_PREFIX}{quote_id}-{step}"


def check_agent_request_id(request_id: str) -> None:
    """An agent's own request id: not one of the platform's."""
    if request_id.startswith((SUGGESTION_REQUEST_PREFIX, SWAP_REQUEST_PREFIX)):
        raise invalid(f"request_id may not start with {SUGGESTION_REQUEST_PREFIX!r} or {SWAP_REQUEST_PREFIX!r} (the platform's own ids); "
                      "send a fresh one")


def check_common(request: runtime_pb2.SignAndSendRequest) -> None:
    """The checks every network's request passes first."""
    if not request.request_id:
        raise invalid("request_id is required")
    if len(request.request_id) > 64:
        raise invalid("request_id must be at most 64 characters")
    if request.HasField("message") and len(request.message) > ACTION_MESSAGE_MAX_CHARS:
        raise invalid(f"message must be at most {ACTION_MESSAGE_MAX_CHARS} characters")


class Intents:
    def __init__(self, db: Database) -> None:
        self._db = db

    def exists(self, request_id: str) -> bool:
        with self._db.session() as db:
            return db.scalar(select(TransactionRow.id).where(TransactionRow.request_id == request_id)) is not None

    def claim(
        self, session: SessionRow, execution_id: int | None, request: runtime_pb2.SignAndSendRequest, *, to_address: str, value: str, data: str
    ) -> tuple[TransactionRow, bool]:
        """(row, True) for a new intent stored as `pending`; (first row, False) when this
        request id was seen before."""
        with self._db.session() as db:
            existing = db.scalar(select(TransactionRow).where(TransactionRow.request_id == request.request_id))
            if existing is not None:
                if existing.session_id != session.id:
                    raise invalid("request_id is already used; send a fresh one")
                return existing, False
            now = utcnow()
            tx = TransactionRow(
                session_id=session.id,
                execution_id=execution_id,
                request_id=request.request_id,
                replica_id=self._db.replica_id,
                network=request.network,
                from_address=session.wallet_address,
                to_address=to_address,
                value=value,
                data=data,
                message=request.message if request.HasField("message") else "",
                nonce=None,
                status=TransactionStatus.PENDING,
                signed_raw=None,
                created_at=now,
                updated_at=now,
            )
            db.add(tx)
            db.flush()
            events.record(db, "transaction", TransactionStatus.PENDING, session.id, tx.id)
            db.commit()
        return tx, True

    def update(self, tx: TransactionRow, also: Callable[[Session], None] | None = None, **fields) -> None:
        """Sets `fields` on the stored row and on `tx`; a status change is an event. `also`
        writes more in the same commit."""
        now = utcnow()
        with self._db.session() as db:
            if also is not None:
                also(db)
            # One UPDATE by primary key (no load of the row first): this runs on every step.
            db.execute(update(TransactionRow).where(TransactionRow.id == tx.id).values(**fields, updated_at=now)
                       .execution_options(synchronize_session=False))
            if "status" in fields:
                events.record(db, "transaction", fields["status"], tx.session_id, tx.id)
            db.commit()
        for name, value in fields.items():
            setattr(tx, name, value)
        tx.updated_at = now

    def settle(self, tx: TransactionRow, changes: list[AssetChangeRow], **fields) -> None:
        """Records a landed transaction's outcome (`fields`), what it moved (`changes`, its
        session's ledger) and both folded into the session's balances, in one database
        transaction: a crash leaves all of it or none. Every chain's outcome comes through
        here, the one writer of the ledger. Only a `signed` one is settled, so two replicas
        settling it (one resuming a transaction the other still waits on) record it once."""
        now = utcnow()
        with self._db.session() as db:
            settled = db.execute(
                update(TransactionRow).where(TransactionRow.id == tx.id, TransactionRow.status == TransactionStatus.SIGNED)
                .values(**fields, updated_at=now).execution_options(synchronize_session=False)
            ).rowcount
            # After the write that takes SQLite's one writer lock: the balances are read under it.
            session = balances.lock(db, tx.session_id) if settled else None
            if session is not None:
                events.record(db, "transaction", fields["status"], tx.session_id, tx.id)
                db.add_all(changes)
                db.flush()  # the entries' ids: positions list assets in the order they were first held
                fee = balances.fee_paid(fields["status"], fields.get("gas_used"), fields.get("effective_gas_price"))
                balances.apply(db, session, tx.network, changes, fee)
            db.commit()
        for name, value in fields.items():
            setattr(tx, name, value)
        tx.updated_at = now
