"""A session's positions: its allocation plus the ledger of its own transactions.

The wallet may hold more (other sessions' allocations, unallocated funds); a session
only ever sees what it was given and what its own confirmed transactions moved
(`asset_changes`: native value, ERC-20 Transfer events, Solana lamport and SPL balance
changes), less the fees it paid in the native coin. Amounts are integers end to end.

The ledger is folded as it is written (`balances`): this is a read of the session's few
balance rows, whatever the length of its history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from corral.networks import address_key
from corral.v1 import common_pb2
from orchestrator.actions import balances
from orchestrator.store import SessionRow


def session_positions(db: Session | Connection, session: SessionRow, until: datetime | None = None) -> tuple[list[common_pb2.Position], bool]:
    """Returns (positions, has_pending_txs): the allocated asset always, others once held,
    in the order they were first held. With `until`, as they stood at that time: what
    transactions settled by then moved and paid (by this orchestrator's clock; a chain's
    block times are coarser and its own); assets keep today's spelling. `db` is a session,
    or without `until` a plain connection too (the SDK's positions call: two indexed reads)."""
    if until is None:
        held = balances.read(db, session.id)
    else:
        if not isinstance(db, Session):
            raise TypeError("positions as they stood at a time are read through a session")
        held = balances.read_at(db, session, until)
    return positions_from(session, held), balances.has_pending(db, session.id, until)


def positions_from(session: SessionRow, held: dict[balances.Key, balances.Balance]) -> list[common_pb2.Position]:
    """The positions of `session` given its balances (`held`; its allocated asset's row is taken
    out): the rules in one place, for one session's read and for reconciliation's of them all."""
    allocated = (session.allocation_network, address_key(session.allocation_network, session.allocation_asset))
    own = held.pop(allocated, None)
    positions = [_position(allocated, session.allocation_asset, int(session.allocation_amount) + (own.amount if own else 0))]
    # A row no entry of the wallet's ever touched (a native coin only fees came out of) was never held.
    ever_held = sorted(((key, b) for key, b in held.items() if b.entries > 0), key=lambda item: item[1].first_entry_id or 0)
    positions += [_position(key, b.spelling or key[1], b.amount) for key, b in ever_held if b.amount != 0]
    return positions


def _position(key: balances.Key, spelling: str, amount: int) -> common_pb2.Position:
    return common_pb2.Position(network=key[0], asset_address=spelling, avg_unit_cost="0", current_qty=str(amount))
