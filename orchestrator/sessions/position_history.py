"""A session's holdings over time, for a console's chart: after each of its newest settled
transactions, what it held of each asset that transaction moved.

Computed on read, backwards from today's holdings (the session's few balance rows and its
allocation, as GetSession's positions): before a transaction, the session held what it held
after it, less what that transaction moved and paid. Only the newest `limit` settled
transactions and their ledger entries are read (indexed on session and update time, and on
transaction, and at most MAX_ENTRIES entries), so the cost is bounded however long the
history; `complete` says whether they reach the session's start, where the holdings are the
allocation. Transactions are taken in the order they settled (their update time, as
`balances.read_at` counts them).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from corral.networks import address_key, native_asset
from orchestrator.actions import balances
from orchestrator.store import AssetChangeRow, SessionRow, TransactionRow
from orchestrator.store.pages import page_size

DEFAULT_TRANSACTIONS = 200
MAX_TRANSACTIONS = 1000
# The most ledger entries one history reads. A transaction's receipt can hold thousands of
# Transfer events (a contract an agent chose can emit them), so the transactions covered stop
# before the one that would pass this: the reply stays well under the API's size budget.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Sample:
    network: str
    asset_address: str
    amount: int
    at: datetime | None = None  # None: before the history covered
    transaction_id: int = 0


@dataclass(frozen=True)
class History:
    start: list[Sample]  # before the earliest transaction covered: the allocated asset first
    samples: list[Sample]  # oldest first
    complete: bool


def transactions_asked(asked: int) -> int:
    """How many transactions a history covers, by the page-size rules."""
    return page_size(asked, DEFAULT_TRANSACTIONS, MAX_TRANSACTIONS, field="max_transactions")


def position_history(db: Session, session: SessionRow, limit: int) -> History:
    held = balances.read(db, session.id)
    amounts: dict[balances.Key, int] = {key: balance.amount for key, balance in held.items()}
    spelling: dict[balances.Key, str] = {key: balance.spelling for key, balance in held.items()}
    allocated = (session.allocation_network, address_key(session.allocation_network, session.allocation_asset))
    amounts[allocated] = amounts.get(allocated, 0) + int(session.allocation_amount)
    spelling[allocated] = session.allocation_asset

    newest_first = list(db.scalars(
        select(TransactionRow).where(TransactionRow.session_id == session.id, TransactionRow.status.in_(balances.LANDED))
        .order_by(TransactionRow.updated_at.desc(), TransactionRow.id.desc()).limit(limit + 1)))
    complete = len(newest_first) <= limit
    newest_first = newest_first[:limit]
    if newest_first:
        # Which transactions' entries fit: at most MAX_ENTRIES + 1 entry ids are read (the
        # newest transactions' first), never a count of however many a receipt made.
        ids = [tx.id for tx in newest_first]
        found = list(db.scalars(select(AssetChangeRow.transaction_id).where(AssetChangeRow.transaction_id.in_(ids))
                                .order_by(AssetChangeRow.transaction_id.desc()).limit(MAX_ENTRIES + 1)))
        counts = Counter(found)
        # Past the bound, a transaction at or below the last id read may have more entries than were counted.
        unknown_from = found[-1] if len(found) > MAX_ENTRIES else None
        read = 0
        for covered, tx in enumerate(newest_first):
            read += counts.get(tx.id, 0)
            if read > MAX_ENTRIES or (unknown_from is not None and tx.id <= unknown_from):
                newest_first, complete = newest_first[:covered], False
                break
    entries: dict[int, list[AssetChangeRow]] = defaultdict(list)
    if newest_first:
        for change in db.scalars(select(AssetChangeRow).where(AssetChangeRow.transaction_id.in_([tx.id for tx in newest_first]))):
            entries[change.transaction_id].append(change)

    samples: list[Sample] = []
    for tx in newest_first:
        moved: dict[balances.Key, int] = defaultdict(int)
        for change in entries[tx.id]:
            delta = balances.moved(session, change)
            if delta is not None:
                key = (change.network, address_key(change.network, change.token_address))
                moved[key] += delta
                spelling[key] = spelling.get(key) or change.token_address
        if fee := balances.fee_paid(tx.status, tx.gas_used, tx.effective_gas_price):
            key = balances.native_key(tx.network)
            moved[key] -= fee
            spelling[key] = spelling.get(key) or native_asset(tx.network)
        # Newest first here, reversed below: each sample is the amount after the transaction.
        for key in sorted(moved, reverse=True):
            samples.append(Sample(key[0], spelling[key], amounts.get(key, 0), tx.updated_at, tx.id))
            amounts[key] = amounts.get(key, 0) - moved[key]
    samples.reverse()
    # Every asset the session held over the window: the ones it moved, and (when the window
    # does not reach its start) the ones it holds and did not move in it.
    moved_keys = {(sample.network, address_key(sample.network, sample.asset_address)) for sample in samples}
    held_keys = {key for key, balance in held.items() if balance.entries > 0 and (amounts.get(key, 0) != 0 or not complete)}
    others = (moved_keys | held_keys) - {allocated}
    start = [Sample(key[0], spelling[key], amounts.get(key, 0)) for key in [allocated, *sorted(others)]]
    return History(start, samples, complete)
