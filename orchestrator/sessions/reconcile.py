"""Reconciliation: do the wallets hold what their sessions are owed?

For every wallet with active sessions and each asset they hold, the sessions' positions
(allocation plus their own ledgers) are summed and compared with the balance read from the
chain. A wallet with a transaction still unconfirmed is skipped that cycle (its ledger is
about to change). A shortfall is a drift: recorded, announced as an event to each of the
wallet's sessions and, above `pause_above_fraction` of what is owed, the wallet's running
sessions are paused so that no agent trades on funds that are not there.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from corral.networks import address_key
from orchestrator.actions.positions import session_positions
from orchestrator.chains import Chain, SimulationFailed
from orchestrator.config import ReconciliationConfig
from orchestrator.store import Database, DriftRow, SessionRow, events, utcnow
from orchestrator.store.statuses import SessionStatus

log = logging.getLogger("corral.reconcile")

ACTIVE = (SessionStatus.RUNNING, SessionStatus.PAUSED, SessionStatus.UNWINDING)


class Reconciler:
    def __init__(self, db: Database, chains: dict[str, Chain], config: ReconciliationConfig) -> None:
        self._db = db
        self._chains = chains
        self._config = config

    async def run_once(self) -> list[DriftRow]:
        # Wallets and assets are keyed as their chain compares them (hex in any case is one
        # address; base58 is case-sensitive), and read back in the spelling first seen.
        owed: defaultdict[tuple[str, str, str], int] = defaultdict(int)  # (wallet, network, asset) -> amount
        spelling: dict[str, str] = {}
        sessions_of: defaultdict[str, list[int]] = defaultdict(list)
        unsettled: set[str] = set()
        with self._db.session() as db:
            for session in db.scalars(select(SessionRow).options(joinedload(SessionRow.agent)).where(SessionRow.status.in_(ACTIVE))):
                wallet = address_key(session.allocation_network, session.wallet_address)
                spelling.setdefault(wallet, session.wallet_address)
                sessions_of[wallet].append(session.id)
                positions, pending = session_positions(db, session)
                if pending:
                    unsettled.add(wallet)
                for position in positions:
                    asset = address_key(position.network, position.asset_address)
                    spelling.setdefault(asset, position.asset_address)
                    owed[(wallet, position.network, asset)] += int(position.current_qty)
        drifts = []
        for (wallet, network, asset), expected in sorted(owed.items()):
            chain = self._chains.get(network)
            if wallet in unsettled or chain is None or not chain.reconciled:
                continue
            address, token = spelling[wallet], spelling[asset]
            try:
                on_chain = await chain.balance(address) if asset == address_key(network, chain.native_asset) else await chain.token_balance(token, address)
            except (SimulationFailed, OSError, ValueError) as exc:
                log.warning("could not read %s on %s for %s: %s", asset, network, wallet, exc)
                continue
            if on_chain < expected:
                drifts.append(self._record(wallet, network, asset, expected, on_chain, sessions_of[wallet]))
        return drifts

    def _record(self, wallet: str, network: str, asset: str, expected: int, on_chain: int, session_ids: list[int]) -> DriftRow:
        pause = expected - on_chain > self._config.pause_above_fraction * expected
        with self._db.session() as db:
            drift = DriftRow(wallet_address=wallet, network=network, asset_address=asset, expected=str(expected),
                             on_chain=str(on_chain), paused_sessions=pause, detected_at=utcnow())
            db.add(drift)
            db.flush()
            for session in db.scalars(select(SessionRow).where(SessionRow.id.in_(session_ids))):
                events.record(db, "drift", "detected", session.id, drift.id)
                if pause and session.status == SessionStatus.RUNNING:
                    session.status = SessionStatus.PAUSED
                    session.status_reason = f"drift: the wallet holds {on_chain} of {asset} on {network}; its sessions are owed {expected}"
                    events.record(db, "session", SessionStatus.PAUSED, session.id, session.id)
            db.commit()
        log.warning("drift on %s: %s of %s on %s where the sessions hold %s%s", wallet, on_chain, asset, network, expected,
                    "; its running sessions are paused" if pause else "")
        return drift
