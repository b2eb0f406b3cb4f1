"""A session's positions: its allocation plus the ledger of its own transactions.

The wallet may hold more (other sessions' allocations, unallocated funds); a session
only ever sees what it was given and what its own confirmed transactions moved
(`asset_changes`: native value, ERC-20 Transfer events, Solana lamport and SPL balance
changes), less the fees it paid in the native coin. Amounts are integers end to end.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from corral.v1 import common_pb2
from orchestrator.agents.manifest import address_key, native_asset
from orchestrator.store import AssetChangeRow, SessionRow, TransactionRow
from orchestrator.store.statuses import TransactionStatus


def session_positions(db: Session, session: SessionRow, until: datetime | None = None) -> tuple[list[common_pb2.Position], bool]:
    """Returns (positions, has_pending_txs): the allocated asset always, others once held.
    With `until`, as they stood at that time: what transactions settled by then moved and
    paid (by this orchestrator's clock; a chain's block times are coarser and its own)."""
    allocated = (session.allocation_network, address_key(session.allocation_network, session.allocation_asset))
    held: defaultdict[tuple[str, str], int] = defaultdict(int)
    held[allocated] = int(session.allocation_amount)
    # How each asset is spelled in answers: as the manifest or the chain spelled it first.
    spelling = {allocated: session.allocation_asset}
    changes = select(AssetChangeRow).where(AssetChangeRow.session_id == session.id)
    if until is not None:
        settled = select(TransactionRow.id).where(TransactionRow.session_id == session.id, TransactionRow.updated_at <= until)
        changes = changes.where(AssetChangeRow.transaction_id.in_(settled))
    for change in db.scalars(changes):
        key = (change.network, address_key(change.network, change.token_address))
        spelling.setdefault(key, change.token_address)
        wallet = address_key(change.network, session.wallet_address)
        if address_key(change.network, change.to_address) == wallet:
            held[key] += int(change.amount)
        if address_key(change.network, change.from_address) == wallet:
            held[key] -= int(change.amount)
    pending = False
    transactions = select(TransactionRow).where(TransactionRow.session_id == session.id)
    if until is not None:
        transactions = transactions.where(TransactionRow.updated_at <= until)
    for tx in db.scalars(transactions):
        pending = pending or tx.status == TransactionStatus.SIGNED
        fee_asset = (tx.network, address_key(tx.network, native_asset(tx.network)))
        if tx.status in (TransactionStatus.CONFIRMED, TransactionStatus.REVERTED) and tx.gas_used is not None and fee_asset in held:
            held[fee_asset] -= tx.gas_used * int(tx.effective_gas_price or 0)
    positions = [
        common_pb2.Position(network=network, asset_address=spelling.get((network, asset), asset), avg_unit_cost="0", current_qty=str(amount))
        for (network, asset), amount in held.items()
        if amount != 0 or (network, asset) == allocated
    ]
    return positions, pending
