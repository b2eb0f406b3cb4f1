"""Per-session balances, kept as the ledger is written: positions are a read, not a fold.

A session's ledger is what its own settled transactions moved (`asset_changes`) and the fees
they paid (on `transactions`). `apply` folds one settled transaction into the session's
`session_balances` rows inside the database transaction that settles it (`Intents.settle`,
the one path every chain's outcome takes), so the rows and the ledger commit together or not
at all. `read` returns the rows; `read_at` the rows as they stood at a time: today's less
what transactions settled after it moved and paid (a bounded look back, the breaker window).

The rules are the ledger's (orchestrator/actions/ledger_check.py folds it the same way to
check them): an entry counts for an asset when the session's wallet is its sender (minus)
or its recipient (plus); a confirmed or reverted transaction's fee (gas used x effective
gas price; Solana's fee x 1) is taken from its network's native coin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, CursorResult, Select, bindparam, insert, select, update
from sqlalchemy.orm import Session

from corral.networks import address_key, native_asset
from orchestrator.store import AssetChangeRow, SessionBalanceRow, SessionRow, TransactionRow
from orchestrator.store.statuses import TransactionStatus

# The statuses whose fee was paid: the transaction landed, whatever it did.
LANDED = (TransactionStatus.CONFIRMED, TransactionStatus.REVERTED)

Key = tuple[str, str]  # (network, asset key)


@dataclass
class Balance:
    """One asset of a session's ledger, as stored (or as it stood at a time)."""

    spelling: str
    amount: int
    entries: int
    first_entry_id: int | None


def fee_paid(status: str, gas_used: int | None, effective_gas_price: str | None) -> int:
    """What a transaction in `status` paid in its native coin (0 when it never landed)."""
    if status not in LANDED or gas_used is None:
        return 0
    return gas_used * int(effective_gas_price or 0)


def native_key(network: str) -> Key:
    return network, address_key(network, native_asset(network))


class Owner(Protocol):
    """Whose balances: the session's id and wallet (its locked row, or the ORM's row)."""

    @property
    def id(self) -> int: ...

    @property
    def wallet_address(self) -> str: ...


# The settle path's statements, built once (SQLAlchemy caches the compiled SQL by the
# statement) and run on the settle's connection: building them, and the ORM's unit of work,
# cost more CPU than running them, on every settled transaction.
_TABLE = SessionBalanceRow.__table__
_SESSIONS = SessionRow.__table__
_LOCK = select(_SESSIONS.c.id, _SESSIONS.c.wallet_address).where(_SESSIONS.c.id == bindparam("session_id")).with_for_update()
_STORED = select(_TABLE.c.id, _TABLE.c.network, _TABLE.c.asset_key, _TABLE.c.asset_address, _TABLE.c.amount, _TABLE.c.entries,
                 _TABLE.c.first_entry_id).where(
    _TABLE.c.session_id == bindparam("session_id"), _TABLE.c.asset_key.in_(bindparam("asset_keys", expanding=True)))
_INSERT = insert(_TABLE)
# SET takes the columns of the parameters given.
_UPDATE = update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
_FOLDED = ("asset_address", "amount", "entries", "first_entry_id")  # what a fold changes on a row


def apply(db: Session, session: Owner, network: str, changes: Sequence[AssetChangeRow], fee: int) -> None:
    """Folds one settled transaction of `session` on `network` (its ledger entries, already
    flushed so they have ids, and its fee) into the session's balances. The caller holds the
    session's lock (see `lock`) and commits: a failure before the commit rolls back both."""
    touched = {(c.network, address_key(c.network, c.token_address)) for c in changes}
    if fee:
        touched.add(native_key(network))
    if not touched:
        return
    connection = db.connection()
    stored = connection.execute(_STORED, {"session_id": session.id, "asset_keys": sorted({asset for _, asset in touched})})
    rows = {(row.network, row.asset_key): {"row_id": row.id, **{name: getattr(row, name) for name in _FOLDED}}
            for row in stored if (row.network, row.asset_key) in touched}
    new = {key: {"asset_address": "", "amount": "0", "entries": 0, "first_entry_id": None} for key in touched - rows.keys()}
    updated = list(rows.values())
    rows.update(new)
    for change in sorted(changes, key=lambda c: c.id):
        row = rows[(change.network, address_key(change.network, change.token_address))]
        row["asset_address"] = row["asset_address"] or change.token_address
        delta = moved(session, change)
        if delta is not None:
            row["amount"] = str(int(row["amount"]) + delta)
            row["entries"] += 1
            row["first_entry_id"] = change.id if row["first_entry_id"] is None else row["first_entry_id"]
    if fee:
        row = rows[native_key(network)]
        row["amount"] = str(int(row["amount"]) - fee)
    if new:
        connection.execute(_INSERT, [{**row, "session_id": session.id, "network": net, "asset_key": asset} for (net, asset), row in new.items()])
    if updated:
        connection.execute(_UPDATE, updated)


def lock(db: Session, session_id: int) -> Owner | None:
    """The session's id and wallet, its row locked until the caller's commit (PostgreSQL: FOR
    UPDATE), so two replicas settling two of its transactions at once add to its balances one
    after the other. (SQLite has one writer at a time already: the settle's first write takes it.)"""
    return db.connection().execute(_LOCK, {"session_id": session_id}).first()


# Built once: the SDK's positions call runs these on every call, and building a statement
# costs more CPU than running it (SQLAlchemy caches the compiled SQL by the statement).
_BALANCES = select(SessionBalanceRow.network, SessionBalanceRow.asset_key, SessionBalanceRow.asset_address, SessionBalanceRow.amount,
                   SessionBalanceRow.entries, SessionBalanceRow.first_entry_id).where(
    SessionBalanceRow.session_id == bindparam("session_id"))
_SIGNED = select(TransactionRow.updated_at).where(
    TransactionRow.session_id == bindparam("session_id"), TransactionRow.status == TransactionStatus.SIGNED)
_ANY_SIGNED = _SIGNED.limit(1)


def _core(db: Session | Connection, statement: Select, parameters: dict) -> CursorResult:
    """Runs a built statement as plain rows, without the ORM's per-call set-up: on a plain
    connection (the SDK's reads), or on a session's, after flushing what the session holds
    unflushed, as its own queries would."""
    if isinstance(db, Session):
        db.flush()
        db = db.connection()
    return db.execute(statement, parameters)


def read(db: Session | Connection, session_id: int) -> dict[Key, Balance]:
    """The session's balances now: one indexed read of its (few) assets."""
    return {
        (network, asset_key): Balance(spelling, int(amount), entries, first_entry_id)
        for network, asset_key, spelling, amount, entries, first_entry_id in _core(db, _BALANCES, {"session_id": session_id})
    }


def read_at(db: Session, session: SessionRow, at: datetime) -> dict[Key, Balance]:
    """The session's balances as they stood at `at` (by this orchestrator's clock): today's
    less what the transactions settled after `at` moved and paid. It reads only those
    (indexed on session and update time), so it costs what happened since `at`."""
    balances = read(db, session.id)
    later = select(TransactionRow).where(TransactionRow.session_id == session.id, TransactionRow.updated_at > at)
    for tx in db.scalars(later):
        if fee := fee_paid(tx.status, tx.gas_used, tx.effective_gas_price):
            balances.setdefault(native_key(tx.network), Balance("", 0, 0, None)).amount += fee
    entries = (select(AssetChangeRow).join(TransactionRow, TransactionRow.id == AssetChangeRow.transaction_id)
               .where(TransactionRow.session_id == session.id, TransactionRow.updated_at > at))
    for change in db.scalars(entries):
        delta = moved(session, change)
        balance = balances.get((change.network, address_key(change.network, change.token_address)))
        if delta is not None and balance is not None:
            balance.amount -= delta
            balance.entries -= 1
    return balances


def has_pending(db: Session | Connection, session_id: int, at: datetime | None = None) -> bool:
    """Whether one of the session's transactions is signed and not yet settled (at `at`:
    was, by its last update then). Indexed on (session, status): it reads only those."""
    key = {"session_id": session_id}
    if at is None:
        return _core(db, _ANY_SIGNED, key).first() is not None
    # Filtered here, not in SQL: given a time bound, SQLite's planner walks the (session,
    # update time) index over the whole history instead of the few signed ones.
    return any(updated <= at for (updated,) in _core(db, _SIGNED, key))


def moved(session: Owner, change: AssetChangeRow) -> int | None:
    """What one ledger entry moved for the session's wallet (None: it is neither side)."""
    wallet = address_key(change.network, session.wallet_address)
    into, out_of = address_key(change.network, change.to_address) == wallet, address_key(change.network, change.from_address) == wallet
    if not (into or out_of):
        return None
    amount = int(change.amount)
    return (amount if into else 0) - (amount if out_of else 0)
