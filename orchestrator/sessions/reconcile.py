"""Reconciliation: do the wallets hold what their sessions are owed?

For every wallet with active sessions and each asset they hold, the sessions' positions
(allocation plus their own ledgers) are summed and compared with the balance read from the
chain. A wallet with a transaction still unconfirmed is skipped that cycle (its ledger is
about to change). A shortfall is a drift: recorded, announced as an event to each of the
wallet's sessions and, above `pause_above_fraction` of what is owed, the wallet's running
sessions are paused so that no agent trades on funds that are not there.

The ledger is read before the chain, to know which balances to read, and again after it; a
balance falls short only when it is below what both reads owe. A transaction is stored as
`signed` before it is broadcast, so whatever the chain showed had reached the second read,
settled or still unconfirmed (that wallet waits a cycle). A spend settled while the chain was
read lowers the second read; a purchase mined after the chain was read and settled before the
second raises it, and the first read does not count it: either alone would show a shortfall
and pause the sessions of a wallet that lost nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from corral.networks import address_key
from orchestrator.actions import balances
from orchestrator.actions.positions import positions_from
from orchestrator.chains import BalanceRead, Chain, read_balances
from orchestrator.config import ReconciliationConfig
from orchestrator.metrics import BREAKER_TRIPS
from orchestrator.store import Database, DriftRow, SessionBalanceRow, SessionRow, TransactionRow, events, utcnow
from orchestrator.store.statuses import SessionStatus, TransactionStatus

log = logging.getLogger("corral.reconcile")

ACTIVE = (SessionStatus.RUNNING, SessionStatus.PAUSED, SessionStatus.UNWINDING)

# Every active session with its balance rows and whether it has a transaction still
# unconfirmed: one statement, so one snapshot of the ledger, whatever the number of sessions.
# Not paper sessions: their wallet holds nothing on the real chain, and what it holds on its
# fork only that session moves.
_PENDING = exists().where(TransactionRow.session_id == SessionRow.id, TransactionRow.status == TransactionStatus.SIGNED)
_B = SessionBalanceRow
_LEDGER = (select(SessionRow, _PENDING, _B.network, _B.asset_key, _B.asset_address, _B.amount, _B.entries, _B.first_entry_id)
           .outerjoin(_B, _B.session_id == SessionRow.id).where(SessionRow.status.in_(ACTIVE), SessionRow.paper_of_wallet.is_(None)).order_by(SessionRow.id))


@dataclass
class Owed:
    """What the active sessions are owed, per (wallet, network, asset), keyed as their chain
    compares them (hex in any case is one address; base58 is case-sensitive)."""

    amounts: defaultdict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    spelling: dict[str, str] = field(default_factory=dict)  # key -> the spelling first seen, to read it back
    sessions_of: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    unsettled: set[str] = field(default_factory=set)  # wallets with a transaction still unconfirmed


def what_is_owed(db: Session) -> Owed:
    """The sessions' positions (allocation plus their own ledgers), summed per wallet and asset."""
    owed = Owed()
    held: dict[int, dict[balances.Key, balances.Balance]] = {}
    sessions: dict[int, tuple[SessionRow, bool]] = {}
    for session, pending, network, asset_key, spelling, amount, entries, first_entry_id in db.execute(_LEDGER):
        sessions[session.id] = (session, pending)
        rows = held.setdefault(session.id, {})
        if network is not None:
            rows[(network, asset_key)] = balances.Balance(spelling, int(amount), entries, first_entry_id)
    for session, pending in sessions.values():
        wallet = address_key(session.allocation_network, session.wallet_address)
        owed.spelling.setdefault(wallet, session.wallet_address)
        owed.sessions_of[wallet].append(session.id)
        if pending:
            owed.unsettled.add(wallet)
        for position in positions_from(session, held[session.id]):
            asset = address_key(position.network, position.asset_address)
            owed.spelling.setdefault(asset, position.asset_address)
            owed.amounts[(wallet, position.network, asset)] += int(position.current_qty)
    return owed


class Reconciler:
    def __init__(self, db: Database, chains: dict[str, Chain], config: ReconciliationConfig) -> None:
        self._db = db
        self._chains = chains
        self._config = config

    async def run_once(self) -> list[DriftRow]:
        before = await self._db.run(what_is_owed)
        to_read = self._balances_to_read(before)
        if not to_read:
            return []
        on_chain = {network: await read_balances(self._chains[network], reads) for network, (_, reads) in to_read.items()}
        owed = await self._db.run(what_is_owed)  # after the chain: see the module's docstring
        drifts = []
        for network, (keys, _) in to_read.items():
            for (wallet, asset), held in zip(keys, on_chain[network], strict=True):
                if isinstance(held, Exception):
                    log.warning("could not read %s on %s for %s: %s", asset, network, wallet, held)
                    continue
                expected = min(before.amounts[(wallet, network, asset)], owed.amounts.get((wallet, network, asset), 0))
                if wallet not in owed.unsettled and held < expected:
                    drifts.append(await self._db.run(partial(self._record, wallet, network, asset, expected, held, owed.sessions_of[wallet])))
        return drifts

    def _balances_to_read(self, owed: Owed) -> dict[str, tuple[list[tuple[str, str]], list[BalanceRead]]]:
        """Per network, the (wallet, asset) keys and the reads that could show a shortfall."""
        # Read from each chain in one batch: only what could show a shortfall. A wallet with a
        # transaction still unconfirmed waits a cycle (its ledger is about to change); nothing
        # owed cannot fall short (no balance is below zero).
        to_read: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)  # network -> [(wallet, asset)]
        for (wallet, network, asset), expected in sorted(owed.amounts.items()):
            chain = self._chains.get(network)
            if expected > 0 and wallet not in owed.unsettled and chain is not None and chain.reconciled:
                to_read[network].append((wallet, asset))
        reads: dict[str, tuple[list[tuple[str, str]], list[BalanceRead]]] = {}
        for network, keys in to_read.items():
            native = address_key(network, self._chains[network].native_asset)
            reads[network] = (keys, [(owed.spelling[wallet], None if asset == native else owed.spelling[asset]) for wallet, asset in keys])
        return reads

    def _record(self, wallet: str, network: str, asset: str, expected: int, on_chain: int, session_ids: list[int], db: Session) -> DriftRow:
        """Stores a drift and, above the fraction, pauses the wallet's running sessions (on a database thread)."""
        pause = expected - on_chain > self._config.pause_above_fraction * expected
        drift = DriftRow(wallet_address=wallet, network=network, asset_address=asset, expected=str(expected),
                         on_chain=str(on_chain), paused_sessions=pause, detected_at=utcnow())
        db.add(drift)
        db.flush()
        paused = 0
        for session in db.scalars(select(SessionRow).where(SessionRow.id.in_(session_ids))):
            events.record(db, "drift", "detected", session.id, drift.id)
            if pause and session.status == SessionStatus.RUNNING:
                session.status = SessionStatus.PAUSED
                session.status_reason = f"drift: the wallet holds {on_chain} of {asset} on {network}; its sessions are owed {expected}"
                events.record(db, "session", SessionStatus.PAUSED, session.id, session.id)
                paused += 1
        db.commit()
        BREAKER_TRIPS.labels("drift").inc(paused)
        log.warning("drift on %s: %s of %s on %s where the sessions hold %s%s", wallet, on_chain, asset, network, expected,
                    "; its running sessions are paused" if pause else "")
        return drift
