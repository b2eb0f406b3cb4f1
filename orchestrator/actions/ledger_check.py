"""Do the sessions' stored balances still equal their ledgers? A check operators can run.

    .venv/bin/python -m orchestrator.actions.ledger_check [--config orchestrator.toml] [--session ID] [--max-entries N]

`recompute` folds a session's whole ledger (asset changes and fees) the way `balances.apply`
folds it one transaction at a time; `verify` compares the two for each session and reports
every asset where they differ (a drift: the stored balances were written by something other
than `Intents.settle`, or edited by hand). It reads the ledger in full, so it is an operator's
(or a bounded start-up) check, never on the path of an execution; `--max-entries` bounds it.
Exit status 1 when a drift is found, 2 when a session asked for does not exist.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from corral.networks import address_key
from orchestrator.actions import balances
from orchestrator.config import load_config
from orchestrator.store import AssetChangeRow, Database, SessionRow, TransactionRow

log = logging.getLogger("corral.ledger_check")


class BalanceDrift(BaseModel):
    session_id: int
    network: str
    asset: str
    stored: str  # the stored amount, "" when there is no row
    ledger: str  # what the ledger folds to, "" when it has nothing of the asset
    stored_entries: int
    ledger_entries: int


class CheckReport(BaseModel):
    sessions_checked: int
    entries_read: int
    # Sessions not reached once `max_entries` were read (check them with --session).
    sessions_left: int
    drifts: list[BalanceDrift]


def recompute(db: Session, session: SessionRow) -> dict[balances.Key, balances.Balance]:
    """The session's balances folded from its whole ledger, in entry order."""
    held: dict[balances.Key, balances.Balance] = {}
    wallet = session.wallet_address
    for change in db.scalars(select(AssetChangeRow).where(AssetChangeRow.session_id == session.id).order_by(AssetChangeRow.id)):
        key = (change.network, address_key(change.network, change.token_address))
        balance = held.setdefault(key, balances.Balance("", 0, 0, None))
        balance.spelling = balance.spelling or change.token_address
        own = address_key(change.network, wallet)
        into, out_of = address_key(change.network, change.to_address) == own, address_key(change.network, change.from_address) == own
        if into or out_of:
            balance.amount += (int(change.amount) if into else 0) - (int(change.amount) if out_of else 0)
            balance.entries += 1
            balance.first_entry_id = change.id if balance.first_entry_id is None else balance.first_entry_id
    for tx in db.scalars(select(TransactionRow).where(TransactionRow.session_id == session.id, TransactionRow.status.in_(balances.LANDED))):
        if fee := balances.fee_paid(tx.status, tx.gas_used, tx.effective_gas_price):
            held.setdefault(balances.native_key(tx.network), balances.Balance("", 0, 0, None)).amount -= fee
    return held


def drifts_of(db: Session, session: SessionRow) -> list[BalanceDrift]:
    stored, ledger = balances.read(db, session.id), recompute(db, session)
    none = balances.Balance("", 0, 0, None)
    found = []
    for key in sorted(stored.keys() | ledger.keys()):
        have, want = stored.get(key), ledger.get(key)
        if have != want:
            found.append(BalanceDrift(
                session_id=session.id, network=key[0], asset=key[1], stored=str(have.amount) if have else "",
                ledger=str(want.amount) if want else "", stored_entries=(have or none).entries, ledger_entries=(want or none).entries,
            ))
    return found


def verify(database: Database, session_ids: Iterable[int] | None = None, max_entries: int | None = None) -> CheckReport:
    """Checks the given sessions (all, by id, when None), stopping before the one that would
    take the ledger entries read past `max_entries`. Drifts are logged as warnings."""
    with database.session() as db:
        ids = list(session_ids) if session_ids is not None else list(db.scalars(select(SessionRow.id).order_by(SessionRow.id)))
        checked = read = 0
        drifts: list[BalanceDrift] = []
        for session_id in ids:
            session = db.get(SessionRow, session_id)
            if session is None:
                raise ValueError(f"session {session_id} does not exist; pass the id of an existing session (or none for all)")
            size = db.scalar(select(func.count()).select_from(AssetChangeRow).where(AssetChangeRow.session_id == session_id)) or 0
            if max_entries is not None and checked and read + size > max_entries:
                break
            drifts += drifts_of(db, session)
            checked, read = checked + 1, read + size
            db.expunge_all()  # one session's rows at a time in memory
    for drift in drifts:
        log.warning("balance drift in session %s: %s %s is stored as %r, its ledger folds to %r", drift.session_id, drift.network,
                    drift.asset, drift.stored, drift.ledger)
    return CheckReport(sessions_checked=checked, entries_read=read, sessions_left=len(ids) - checked, drifts=drifts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.actions.ledger_check", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="the orchestrator's TOML config (its database_url is checked)")
    parser.add_argument("--session", type=int, action="append", help="check only this session (repeatable)")
    parser.add_argument("--max-entries", type=int, help="stop before reading more ledger entries than this")
    args = parser.parse_args(argv)
    try:
        report = verify(Database(load_config(args.config).database_url), args.session, args.max_entries)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    for drift in report.drifts:
        print(f"session {drift.session_id} {drift.network} {drift.asset}: stored {drift.stored or '(none)'}, "
              f"ledger {drift.ledger or '(none)'} ({drift.stored_entries} vs {drift.ledger_entries} entries)")
    print(f"{report.sessions_checked} sessions checked ({report.entries_read} ledger entries), {report.sessions_left} left, "
          f"{len(report.drifts)} drifts")
    return 1 if report.drifts else 0


if __name__ == "__main__":
    sys.exit(main())
