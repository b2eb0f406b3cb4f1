"""A session's positions: its allocation plus the deltas of its own transactions.

The wallet may hold more (other sessions' allocations, unallocated funds); a session
only ever sees what it was given and what it did with it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from corral.v1 import common_pb2
from orchestrator.manifest import NATIVE_EVM
from orchestrator.store import SessionRow, TransactionRow


def session_positions(db: Session, session: SessionRow) -> tuple[list[common_pb2.Position], bool]:
    """Returns (positions, has_pending_txs)."""
    amount = int(session.allocation_amount)
    pending = False
    native = session.allocation_asset.lower() == NATIVE_EVM
    txs = db.scalars(select(TransactionRow).where(TransactionRow.session_id == session.id)).all()
    for tx in txs:
        if tx.status == "signed":
            pending = True
        if tx.network != session.allocation_network or not native:
            continue
        if tx.status in ("confirmed", "reverted") and tx.gas_used is not None:
            amount -= tx.gas_used * int(tx.effective_gas_price or 0)
        if tx.status == "confirmed":
            amount -= int(tx.value)
    position = common_pb2.Position(
        network=session.allocation_network,
        asset_address=session.allocation_asset,
        avg_unit_cost="0",
        current_qty=str(amount),
    )
    return [position], pending
