"""Positions as a session's history grows: flat, because they are read, not folded.

One session with 0, 10k and 100k ledger entries (one transaction each, with its fee; one
every 10 minutes back in time, so a breaker's one-hour window holds the same six at 10k and
100k). Each history is written as Corral 0005 wrote it (ledger only) and migrated, so the
migration's one-time fold is timed too. Per history:

- the positions call: what the runtime service's GetCurrentPositions does (a database
  session, `session_positions`);
- the execution-start read: the runner's `session_positions` plus the loss breaker's check
  (positions now and as they stood at the window's start);
- the full fold of the ledger (what both cost on every call before issue 17; `ledger_check`
  now does it only when asked), for contrast.

Each row's ratio is against the same call at 0 entries in the same run.

    .venv/bin/python -m bench.positions_history [--sizes 0,10000,100000] [--postgres]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, insert

from bench.common import Row, emit, percentile, summary
from orchestrator.actions import ledger_check
from orchestrator.actions.breakers import Breakers
from orchestrator.actions.positions import session_positions
from orchestrator.store import AgentRow, AssetChangeRow, Database, SessionRow, TransactionRow, utcnow
from orchestrator.store.db import MIGRATIONS

WALLET, OTHER, TOKEN, NATIVE = "0x" + "ab" * 20, "0x" + "99" * 20, "0x" + "11" * 20, "0x" + "ee" * 20
NETWORK = "ethereum:31337"
SPACING = timedelta(minutes=10)
BATCH = 5000
# Every session was started long before its window, so the loss breaker reads its window at every size.
CREATED_BEFORE = timedelta(days=3 * 365)


def history(url: str, entries: int) -> float:
    """A database at revision 0005 with one session of `entries` ledger entries; returns the
    seconds the migration to head (its fold of the ledger) took."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        now = utcnow()
        connection.execute(insert(AgentRow.__table__), [{"id": 1, "name": "b", "version": "1", "image": "b", "image_id": "sha256:b",
                                                         "wallet_type": "ethereum", "manifest_toml": "", "registered_at": now}])
        connection.execute(insert(SessionRow.__table__), [{
            "id": 1, "agent_id": 1, "wallet_address": WALLET, "status": "running", "execution_mode": "auto", "settings": {},
            "allocation_network": NETWORK, "allocation_asset": NATIVE, "allocation_amount": str(10**24), "created_at": now - CREATED_BEFORE,
            "next_run_at": None, "stopped_at": None, "unwind_positions": None, "breakers": {"max_loss": 10**24, "max_loss_window_seconds": 3600},
            "status_reason": "", "egress_hosts": [], "environment": {}}])
        for start in range(0, entries, BATCH):
            ids = range(start + 1, min(start + BATCH, entries) + 1)
            at = {i: now - SPACING * (entries - i) for i in ids}
            connection.execute(insert(TransactionRow.__table__), [{
                "id": i, "session_id": 1, "execution_id": None, "request_id": f"r{i}", "replica_id": "", "network": NETWORK,
                "from_address": WALLET, "to_address": OTHER, "value": "1000", "data": "0x", "message": "", "nonce": i, "status": "confirmed",
                "signed_raw": None, "tx_hash": f"0x{i:064x}", "block_number": i, "gas_used": 21000, "effective_gas_price": "1000000000",
                "error": "", "created_at": at[i], "updated_at": at[i]} for i in ids])
            connection.execute(insert(AssetChangeRow.__table__), [{
                "id": i, "session_id": 1, "transaction_id": i, "network": NETWORK, "tx_hash": f"0x{i:064x}",
                "from_address": WALLET if i % 2 else OTHER, "to_address": OTHER if i % 2 else WALLET, "token_address": NATIVE if i % 2 else TOKEN,
                "token_type": "native" if i % 2 else "ERC20", "amount": "1000", "occurred_at": at[i]} for i in ids])
    engine.dispose()
    start = time.perf_counter()
    Database(url).engine.dispose()
    return time.perf_counter() - start


class Calls:
    """The three calls against one history's database."""

    def __init__(self, url: str) -> None:
        self.database = Database(url)
        with self.database.session() as db:
            self.session = db.get(SessionRow, 1)
            db.expunge(self.session)
        self.breakers = Breakers(self.database)

    def positions_call(self) -> None:
        with self.database.session() as db:
            session_positions(db, self.session)

    def execution_start(self) -> None:
        with self.database.session() as db:
            session_positions(db, self.session)
        assert self.breakers.check_loss(self.session.id) is None

    def full_fold(self) -> None:
        with self.database.session() as db:
            ledger_check.recompute(db, self.session)


CALLS = {"positions call": Calls.positions_call, "execution-start read (positions + loss breaker)": Calls.execution_start,
         "full fold (before issue 17)": Calls.full_fold}


def measure(histories: dict[int, Calls], repeat: int, fold_repeat: int) -> dict[str, dict[int, list[float]]]:
    """Every call on every history in turn, round after round: the machine's noise (it is
    shared) falls on all sizes alike."""
    samples: dict[str, dict[int, list[float]]] = {name: {size: [] for size in histories} for name in CALLS}
    for name, call in CALLS.items():
        for calls in histories.values():
            call(calls)  # warm: connections, statement caches
        for _ in range(fold_repeat if call is Calls.full_fold else repeat):
            for size, calls in histories.items():
                start = time.perf_counter()
                call(calls)
                samples[name][size].append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,10000,100000")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--fold-repeat", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="on a private PostgreSQL server instead of a SQLite file")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    server = None
    if args.postgres:
        from devtools.devpostgres import PostgresServer
        server = PostgresServer()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            histories = {}
            for size in sizes:
                url = server.create_database(f"positions_{size}") if server else f"sqlite:///{Path(tmp) / f'{size}.db'}"
                migrated = history(url, size)
                print(f"{size:>7} entries: migration 0006 folded the ledger in {migrated * 1000:.0f} ms", flush=True)
                histories[size] = Calls(url)
            results = measure(histories, args.repeat, args.fold_repeat)
            for calls in histories.values():
                calls.database.engine.dispose()
    finally:
        if server:
            server.close()
    print(f"\npositions vs history ({'PostgreSQL' if server else 'SQLite'}); ratios against the same call at {sizes[0]} entries")
    for name, by_size in results.items():
        baseline = percentile(by_size[sizes[0]], 50)
        for size in sizes:
            print(summary(f"{name} @ {size}", by_size[size], None if size == sizes[0] else baseline))
        if name != "full fold" and len(sizes) > 1:
            largest = percentile(by_size[sizes[-1]], 50)
            emit(Row(f"{name} at {sizes[-1]:,} ledger entries ({'PostgreSQL' if server else 'SQLite'})", f"{largest * 1000:.2f} ms",
                     f"at {sizes[0]} entries: {baseline * 1000:.2f} ms", largest / baseline, "flat within 2x"))

if __name__ == "__main__":
    main()
