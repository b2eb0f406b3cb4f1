"""A session's positions: its allocation plus the ledger of its own transactions.

The wallet may hold more (other sessions' allocations, unallocated funds); a session
only ever sees what it was given and what its own confirmed transactions moved
(`asset_changes`: native value and ERC-20 Transfer events), less the gas it paid in the
native token. Amounts are integers from end to end.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from corral.v1 import common_pb2
from orchestrator.manifest import NATIVE_EVM
from orchestrator.store import AssetChangeRow, SessionRow, TransactionRow


def session_positions(db: Session, session: SessionRow) -> tuple[list[common_pb2.Position], bool]:
    """Returns (positions, has_pending_txs): the allocated asset always, others once held."""
    wallet = session.wallet_address.lower()
    allocated = (session.allocation_network, session.allocation_asset.lower())
    held: defaultdict[tuple[str, str], int] = defaultdict(int)
    held[allocated] = int(session.allocation_amount)
    for change in db.scalars(select(AssetChangeRow).where(AssetChangeRow.session_id == session.id)):
        key = (change.network, change.token_address.lower())
        if change.to_address.lower() == wallet:
            held[key] += int(change.amount)
        if change.from_address.lower() == wallet:
            held[key] -= int(change.amount)
    pending = False
    for tx in db.scalars(select(TransactionRow).where(TransactionRow.session_id == session.id)):
        pending = pending or tx.status == "signed"
        if tx.status in ("confirmed", "reverted") and tx.gas_used is not None and (tx.network, NATIVE_EVM) in held:
            held[(tx.network, NATIVE_EVM)] -= tx.gas_used * int(tx.effective_gas_price or 0)
    positions = [
        common_pb2.Position(
            network=network, asset_address=session.allocation_asset if (network, asset) == allocated else asset,
            avg_unit_cost="0", current_qty=str(amount),
        )
        for (network, asset), amount in held.items()
        if amount != 0 or (network, asset) == allocated
    ]
    return positions, pending
