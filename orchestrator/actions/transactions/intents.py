"""The durable record of a transaction, shared by every chain's sender.

An intent is stored (with the SDK call's request id) before anything is signed, and every
later step (signed bytes, broadcast, outcome) updates the same row and announces it as an
event. A retried call with the same request id finds the first row instead of sending again.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from corral.limits import ACTION_MESSAGE_MAX_CHARS
from corral.v1 import runtime_pb2
from orchestrator.actions import balances
from orchestrator.errors import invalid
from orchestrator.metrics import TRANSACTIONS
from orchestrator.store import AssetChangeRow, Database, SessionRow, TransactionRow, events, utcnow
from orchestrator.store.statuses import TransactionStatus

# Request ids the platform gives the transactions it sends for an agent (an approved suggestion,
# a swap's steps). An agent may not take them: claimed ahead, one would stand in for the
# platform's transaction (a retried request id returns the first transaction sent under it).
SUGGESTION_REQUEST_PREFIX = "suggestion-"
SWAP_REQUEST_PREFIX = "swap-"

# Each step writes the row with a Core statement on its table, built once and run on the
# session's connection (SQLAlchemy caches its compiled form): building a statement, and the
# ORM's unit of work, cost more CPU than the rest of a step's bookkeeping.
_TRANSACTIONS = TransactionRow.__table__
_FIND = select(_TRANSACTIONS.c.id, _TRANSACTIONS.c.session_id).where(_TRANSACTIONS.c.request_id == bindparam("request_id"))
_INSERT = insert(_TRANSACTIONS)
# SET takes the columns of the parameters given (each set of columns compiles once).
_UPDATE = update(_TRANSACTIONS).where(_TRANSACTIONS.c.id == bindparam("tx_id"))
_SETTLE = _UPDATE.where(_TRANSACTIONS.c.status == TransactionStatus.SIGNED)
_LEDGER = AssetChangeRow.__table__
_LEDGER_COLUMNS = [column.key for column in _LEDGER.columns if column.key != "id"]
_INSERT_LEDGER = insert(_LEDGER).returning(_LEDGER.c.id, sort_by_parameter_order=True)


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

    def claim(
        self, session: SessionRow, execution_id: int | None, request: runtime_pb2.SignAndSendRequest, *, to_address: str, value: str,
        data: str, admit: Callable[[], None] | None = None,
    ) -> tuple[TransactionRow, bool]:
        """(row, True) for a new intent stored as `pending`; (first row, False) when this
        request id was seen before. `admit` is asked first for a new one only (a breaker: a
        retry returns its first result, whatever the breakers say now) and may raise."""
        with self._db.session() as db:
            found = self._first(db, session, request.request_id)
            if found is not None:
                return found, False
            if admit is not None:
                admit()
            now = utcnow()
            fields = {
                "session_id": session.id, "execution_id": execution_id, "request_id": request.request_id,
                "replica_id": self._db.replica_id, "network": request.network, "from_address": session.wallet_address,
                "to_address": to_address, "value": value, "data": data,
                "message": request.message if request.HasField("message") else "", "nonce": None, "valid_until_block": None,
                "status": TransactionStatus.PENDING, "signed_raw": None, "tx_hash": "", "block_number": None, "gas_used": None,
                "effective_gas_price": None, "error": "", "created_at": now, "updated_at": now, "paper": session.paper,
            }
            try:
                [tx_id] = db.connection().execute(_INSERT, fields).inserted_primary_key
                events.record(db, "transaction", TransactionStatus.PENDING, session.id, tx_id)
                db.commit()
            except IntegrityError:
                # The same request id, claimed at the same moment by a concurrent call: that one sends it.
                db.rollback()
                found = self._first(db, session, request.request_id)
                if found is None:
                    raise
                return found, False
        tx = TransactionRow(id=tx_id, **fields)
        make_transient_to_detached(tx)  # as if read back: what the caller holds is the stored row
        TRANSACTIONS.labels(tx.network, TransactionStatus.PENDING).inc()
        return tx, True

    @staticmethod
    def _first(db: Session, session: SessionRow, request_id: str) -> TransactionRow | None:
        """The row stored under `request_id`, when it is this session's; refused when another
        session's."""
        found = db.connection().execute(_FIND, {"request_id": request_id}).first()
        if found is None:
            return None
        if found.session_id != session.id:
            raise invalid("request_id is already used; send a fresh one")
        return db.get(TransactionRow, found.id)

    def update(self, tx: TransactionRow, also: Callable[[Session], None] | None = None, **fields) -> None:
        """Sets `fields` on the stored row and on `tx`; a status change is an event. `also`
        writes more in the same commit."""
        now = utcnow()
        with self._db.session() as db:
            if also is not None:
                also(db)
            # One UPDATE by primary key (no load of the row first): this runs on every step.
            db.connection().execute(_UPDATE, {**fields, "updated_at": now, "tx_id": tx.id})
            if "status" in fields:
                events.record(db, "transaction", fields["status"], tx.session_id, tx.id)
            db.commit()
        if "status" in fields:
            TRANSACTIONS.labels(tx.network, fields["status"]).inc()
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
            settled = db.connection().execute(_SETTLE, {**fields, "updated_at": now, "tx_id": tx.id}).rowcount
            # After the write that takes SQLite's one writer lock: the balances are read under it.
            session = balances.lock(db, tx.session_id) if settled else None
            if session is not None:
                events.record(db, "transaction", fields["status"], tx.session_id, tx.id)
                _store_ledger(db, changes)
                fee = balances.fee_paid(fields["status"], fields.get("gas_used"), fields.get("effective_gas_price"))
                balances.apply(db, session, tx.network, changes, fee)
            db.commit()
        if session is not None:
            TRANSACTIONS.labels(tx.network, fields["status"]).inc()
        for name, value in fields.items():
            setattr(tx, name, value)
        tx.updated_at = now


def _store_ledger(db: Session, changes: list[AssetChangeRow]) -> None:
    """Inserts the ledger entries in one statement and gives each its id (positions list
    assets in the order they were first held)."""
    if not changes:
        return
    rows = [{column: getattr(change, column) for column in _LEDGER_COLUMNS} for change in changes]
    for change, entry_id in zip(changes, db.connection().execute(_INSERT_LEDGER, rows).scalars(), strict=True):
        change.id = entry_id
