"""Per-session balances kept as the ledger is written (orchestrator/actions/balances.py) equal
a full fold of the ledger, on SQLite and on PostgreSQL: after every step of randomised
histories (sends, confirmations, reverts that pay only fees, expiries, token transfers in and
out and between others, Solana lamports and SPL, several assets, addresses in any case), now
and as they stood at every earlier moment; a failure or a kill between the ledger write and
the commit leaves neither; the migration folds existing ledgers once; the operators' check
finds a drift."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from corral.networks import NATIVE_EVM, NATIVE_SOLANA, address_key, native_asset
from corral.v1 import common_pb2, runtime_pb2
from devtools.devpostgres import PostgresServer
from orchestrator.actions import balances, ledger_check
from orchestrator.actions.positions import session_positions
from orchestrator.actions.transactions.intents import Intents
from orchestrator.store import AgentRow, AssetChangeRow, Database, SessionBalanceRow, SessionRow, TransactionRow, utcnow
from orchestrator.store.db import MIGRATIONS
from orchestrator.store.statuses import TransactionStatus
from tests.helpers import wait_for

EVM_WALLET = "0x" + "ab" * 20
SOL_WALLET = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"
EVM_TOKENS = ["0x" + "11" * 20, "0x" + "2B" * 20, "0x" + "cc" * 20]
SOL_MINTS = ["EPjFWdd5AufqSSqeM2qN1xzybapC8G7wHXBoFQL4mJkN", "So11111111111111111111111111111111111111112"]
OTHER = {"ethereum:1": "0x" + "99" * 20, "solana": "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"}


def fold(db: Session, session: SessionRow, until: datetime | None = None) -> tuple[list[common_pb2.Position], bool]:
    """The oracle: positions as Corral computed them before balances were kept, its whole
    ledger folded on every call (orchestrator/actions/positions.py until issue 17), verbatim
    but for the entries' explicit order (it relied on the database's)."""
    allocated = (session.allocation_network, address_key(session.allocation_network, session.allocation_asset))
    held: defaultdict[tuple[str, str], int] = defaultdict(int)
    held[allocated] = int(session.allocation_amount)
    spelling = {allocated: session.allocation_asset}
    changes = select(AssetChangeRow).where(AssetChangeRow.session_id == session.id)
    if until is not None:
        settled = select(TransactionRow.id).where(TransactionRow.session_id == session.id, TransactionRow.updated_at <= until)
        changes = changes.where(AssetChangeRow.transaction_id.in_(settled))
    for change in db.scalars(changes.order_by(AssetChangeRow.id)):
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


def by_key(positions: list[common_pb2.Position]) -> dict[tuple[str, str], str]:
    return {(p.network, address_key(p.network, p.asset_address)): p.current_qty for p in positions}


@pytest.fixture(scope="module")
def postgres():
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path, postgres) -> str:
    return f"sqlite:///{tmp_path / 'o.db'}" if request.param == "sqlite" else postgres.create_database(f"bal_{tmp_path.name[-12:]}")


@pytest.fixture
def database(url):
    database = Database(url)
    yield database
    database.engine.dispose()


def new_session(database: Database, network: str, allocation_asset: str, amount: int = 10**30) -> SessionRow:
    with database.session() as db:
        agent = AgentRow(name="a", version="1", image="i", image_id=f"sha256:{os.urandom(8).hex()}",
                         wallet_type="solana" if network == "solana" else "ethereum", manifest_toml="", registered_at=utcnow())
        db.add(agent)
        db.flush()
        session = SessionRow(agent_id=agent.id, wallet_address=SOL_WALLET if network == "solana" else EVM_WALLET, status="running",
                             execution_mode="auto", allocation_network=network, allocation_asset=allocation_asset,
                             allocation_amount=str(amount), created_at=utcnow(), next_run_at=None, stopped_at=None, unwind_positions=None)
        db.add(session)
        db.commit()
        return session


def signed_tx(intents: Intents, session: SessionRow) -> TransactionRow:
    request = runtime_pb2.SignAndSendRequest(request_id=os.urandom(12).hex(), network=session.allocation_network)
    tx, _ = intents.claim(session, None, request, to_address=OTHER[session.allocation_network], value="0", data="0x")
    intents.update(tx, status=TransactionStatus.SIGNED, tx_hash="0x" + os.urandom(32).hex())
    return tx


def entry(tx: TransactionRow, token: str, sender: str, recipient: str, amount: int) -> AssetChangeRow:
    return AssetChangeRow(session_id=tx.session_id, transaction_id=tx.id, network=tx.network, tx_hash=tx.tx_hash, occurred_at=utcnow(),
                          from_address=sender, to_address=recipient, token_address=token, token_type="ERC20", amount=str(amount))


def settle(intents: Intents, tx: TransactionRow, changes: list[AssetChangeRow], *, reverted: bool, gas: int, price: int) -> None:
    intents.settle(tx, [] if reverted else changes, status=TransactionStatus.REVERTED if reverted else TransactionStatus.CONFIRMED,
                   block_number=1, gas_used=gas, effective_gas_price=str(price), error="reverted" if reverted else "")


def spell(address: str, upper: bool) -> str:
    """EVM hex in either case is one address (Solana's base58 is case-sensitive: kept)."""
    return "0x" + address[2:].upper() if upper and address.startswith("0x") else address


# One step of a history: start a transaction, or settle / revert / expire one that is signed
# with a list of movements (asset index, direction, amount, spelt in upper case).
movement = st.tuples(st.integers(0, 3), st.sampled_from(["in", "out", "self", "others"]), st.integers(0, 2**256 - 1), st.booleans())
step = st.one_of(
    st.just(("send",)),
    st.tuples(st.just("confirm"), st.integers(0, 7), st.lists(movement, max_size=4), st.integers(0, 300_000), st.integers(0, 10**12)),
    st.tuples(st.just("revert"), st.integers(0, 7), st.integers(0, 300_000), st.integers(0, 10**12)),
    st.tuples(st.just("expire"), st.integers(0, 7)),
)
# The session's wallet kind and its allocation: the native coin (fees show) or a token (they do not, until it holds the coin).
kinds = st.sampled_from([("ethereum:1", NATIVE_EVM), ("ethereum:1", EVM_TOKENS[1].lower()), ("solana", NATIVE_SOLANA), ("solana", SOL_MINTS[0])])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=kinds, steps=st.lists(step, min_size=1, max_size=25))
def test_balances_equal_a_full_fold_after_every_step_now_and_at_every_earlier_moment(database, kind, steps):
    network, allocation = kind
    session = new_session(database, network, allocation)
    intents = Intents(database)
    assets = [native_asset(network), *(SOL_MINTS if network == "solana" else EVM_TOKENS)]
    wallet, other = session.wallet_address, OTHER[network]
    signed: list[TransactionRow] = []
    moments: list[datetime] = [utcnow()]
    for action, *args in steps:
        if action == "send" or not signed:
            signed.append(signed_tx(intents, session))
        elif action == "confirm":
            index, moves, gas, price = args
            tx = signed.pop(index % len(signed))
            sides = {"in": (other, wallet), "out": (wallet, other), "self": (wallet, wallet), "others": (other, other)}
            changes = [entry(tx, spell(assets[a % len(assets)], upper), *(spell(s, upper) for s in sides[way]), amount)
                       for a, way, amount, upper in moves]
            settle(intents, tx, changes, reverted=False, gas=gas, price=price)
        elif action == "revert":
            index, gas, price = args
            settle(intents, signed.pop(index % len(signed)), [], reverted=True, gas=gas, price=price)
        else:
            intents.update(signed.pop(args[0] % len(signed)), status=TransactionStatus.EXPIRED, error="expired")
        moments.append(utcnow())
        with database.session() as db:
            assert session_positions(db, session) == fold(db, session)
    with database.session() as db:
        for at in moments:
            positions, pending = session_positions(db, session, until=at)
            expected, expected_pending = fold(db, session, until=at)
            assert (by_key(positions), pending) == (by_key(expected), expected_pending)
    assert ledger_check.verify(database, [session.id]).drifts == []


def test_a_second_settle_of_the_same_transaction_adds_nothing(database):
    session = new_session(database, "ethereum:1", NATIVE_EVM, 1000)
    intents = Intents(database)
    tx = signed_tx(intents, session)
    settle(intents, tx, [entry(tx, NATIVE_EVM, EVM_WALLET, OTHER["ethereum:1"], 100)], reverted=False, gas=2, price=3)
    again = TransactionRow(**{c: getattr(tx, c) for c in ("id", "session_id", "network", "tx_hash")})
    settle(intents, again, [entry(again, NATIVE_EVM, EVM_WALLET, OTHER["ethereum:1"], 100)], reverted=False, gas=2, price=3)
    with database.session() as db:
        assert by_key(session_positions(db, session)[0]) == {("ethereum:1", NATIVE_EVM): "894"}
        assert session_positions(db, session) == fold(db, session)


@pytest.mark.parametrize("where", ["in the fold", "after the fold"])
def test_a_failure_before_the_commit_leaves_neither_ledger_nor_balances(database, monkeypatch, where):
    session = new_session(database, "ethereum:1", NATIVE_EVM, 1000)
    intents = Intents(database)
    tx = signed_tx(intents, session)
    real = balances.apply

    def failing(*args, **kwargs):
        if where == "after the fold":
            real(*args, **kwargs)  # the balance rows are written (flushed); the commit never comes
        raise RuntimeError("injected")

    monkeypatch.setattr(balances, "apply", failing)
    changes = [entry(tx, EVM_TOKENS[0], OTHER["ethereum:1"], EVM_WALLET, 5)]
    with pytest.raises(RuntimeError, match="injected"):
        settle(intents, tx, changes, reverted=False, gas=21_000, price=1)
    with database.session() as db:
        assert db.get(TransactionRow, tx.id).status == TransactionStatus.SIGNED
        assert db.scalars(select(AssetChangeRow)).all() == [] and db.scalars(select(SessionBalanceRow)).all() == []
        assert session_positions(db, session) == fold(db, session) == (
            [common_pb2.Position(network="ethereum:1", asset_address=NATIVE_EVM, avg_unit_cost="0", current_qty="1000")], True)
    monkeypatch.setattr(balances, "apply", real)
    settle(intents, tx, [entry(tx, EVM_TOKENS[0], OTHER["ethereum:1"], EVM_WALLET, 5)], reverted=False, gas=21_000, price=1)  # resumed
    with database.session() as db:
        assert session_positions(db, session) == fold(db, session)
        assert by_key(session_positions(db, session)[0]) == {("ethereum:1", NATIVE_EVM): str(1000 - 21_000), ("ethereum:1", EVM_TOKENS[0]): "5"}


CRASHING_SETTLE = textwrap.dedent("""
    import os, signal, sys
    from orchestrator.actions import balances
    from orchestrator.actions.transactions.intents import Intents
    from orchestrator.store import AssetChangeRow, Database, TransactionRow, utcnow
    url, tx_id, when = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    database = Database(url)
    real = balances.apply
    def apply(*args, **kwargs):
        real(*args, **kwargs)
        if when == "before commit":
            os.kill(os.getpid(), signal.SIGKILL)  # as kill -9 between the ledger write and its commit
    balances.apply = apply
    with database.session() as db:
        tx = db.get(TransactionRow, tx_id)
    change = AssetChangeRow(session_id=tx.session_id, transaction_id=tx.id, network=tx.network, tx_hash=tx.tx_hash, occurred_at=utcnow(),
                            from_address=tx.from_address, to_address="0x" + "99" * 20, token_address="0x" + "11" * 20,
                            token_type="ERC20", amount="7")
    Intents(database).settle(tx, [change], status="confirmed", block_number=1, gas_used=3, effective_gas_price="5", error="")
    os.kill(os.getpid(), signal.SIGKILL)  # after the commit: dies before anything else
""")


@pytest.mark.parametrize("when", ["before commit", "after commit"])
def test_a_kill_between_ledger_write_and_commit_leaves_neither_and_after_it_both(database, url, when):
    session = new_session(database, "ethereum:1", NATIVE_EVM, 1000)
    intents = Intents(database)
    tx = signed_tx(intents, session)
    died = subprocess.run([sys.executable, "-c", CRASHING_SETTLE, url, str(tx.id), when], capture_output=True, text=True, timeout=120)
    assert died.returncode == -9, died.stderr
    restarted = Database(url)  # as the orchestrator starting again
    try:
        with restarted.session() as db:
            status = db.get(TransactionRow, tx.id).status
            entries = db.scalars(select(AssetChangeRow)).all()
            assert (status, len(entries)) == ((TransactionStatus.SIGNED, 0) if when == "before commit" else (TransactionStatus.CONFIRMED, 1))
            assert session_positions(db, session) == fold(db, session)
        assert ledger_check.verify(restarted, [session.id]).drifts == []
    finally:
        restarted.engine.dispose()


def test_the_check_reports_a_balance_that_differs_from_its_ledger(database):
    session = new_session(database, "ethereum:1", NATIVE_EVM, 1000)
    intents = Intents(database)
    tx = signed_tx(intents, session)
    settle(intents, tx, [entry(tx, EVM_TOKENS[0], OTHER["ethereum:1"], EVM_WALLET, 5)], reverted=False, gas=1, price=1)
    assert ledger_check.verify(database).drifts == []
    with database.session() as db:
        db.execute(text("UPDATE session_balances SET amount = '6' WHERE asset_key = :token"), {"token": EVM_TOKENS[0]})
        db.commit()
    report = ledger_check.verify(database)
    assert [(d.session_id, d.asset, d.stored, d.ledger) for d in report.drifts] == [(session.id, EVM_TOKENS[0], "6", "5")]
    assert (report.sessions_checked, report.entries_read, report.sessions_left) == (1, 1, 0)


def test_the_check_stops_at_its_budget_of_ledger_entries(database):
    intents = Intents(database)
    sessions = [new_session(database, "ethereum:1", NATIVE_EVM, 1000) for _ in range(3)]
    for session in sessions:
        for _ in range(2):
            tx = signed_tx(intents, session)
            settle(intents, tx, [entry(tx, NATIVE_EVM, EVM_WALLET, OTHER["ethereum:1"], 1)], reverted=False, gas=1, price=1)
    report = ledger_check.verify(database, max_entries=5)
    assert (report.sessions_checked, report.entries_read, report.sessions_left, report.drifts) == (2, 4, 1, [])


def test_the_migration_folds_existing_ledgers_once(url):
    """A database at revision 0005 with a history (written as Corral then wrote it: ledger rows
    and fees, no balances) has, once migrated, balances equal to the fold of that history."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
    session_ids = []
    with Session(engine) as db:
        for network, wallet, allocation in (("ethereum:1", EVM_WALLET, NATIVE_EVM), ("solana", SOL_WALLET, SOL_MINTS[0])):
            agent_id = db.execute(text("INSERT INTO agents (name, version, image, image_id, wallet_type, manifest_toml, registered_at) "
                                       "VALUES ('a', '1', 'i', :image, 'x', '', :now) RETURNING id"),
                                  {"image": os.urandom(8).hex(), "now": utcnow()}).scalar_one()
            session_id = db.execute(text(
                "INSERT INTO sessions (agent_id, wallet_address, status, execution_mode, settings, allocation_network, allocation_asset, "
                "allocation_amount, created_at, unwind_positions, breakers, status_reason, egress_hosts, environment) VALUES "
                "(:agent, :wallet, 'running', 'auto', '{}', :network, :asset, '1000', :now, NULL, '{}', '', '[]', '{}') RETURNING id"),
                {"agent": agent_id, "wallet": wallet, "network": network, "asset": allocation, "now": utcnow()}).scalar_one()
            session_ids.append(session_id)
            native, token = native_asset(network), (SOL_MINTS[0] if network == "solana" else EVM_TOKENS[1])
            for n, (status, moves) in enumerate([("confirmed", [(native, wallet, OTHER[network], 10), (token, OTHER[network], spell(wallet, True), 2**255)]),
                                                 ("reverted", []), ("signed", []), ("confirmed", [(spell(token, True), wallet, OTHER[network], 3)])]):
                tx_id = db.execute(text(
                    "INSERT INTO transactions (session_id, request_id, replica_id, network, from_address, to_address, value, data, message, "
                    "status, tx_hash, gas_used, effective_gas_price, error, created_at, updated_at) VALUES (:s, :r, '', :network, :wallet, "
                    "'x', '0', '0x', '', :status, 'h', :gas, '7', '', :now, :now) RETURNING id"),
                    {"s": session_id, "r": f"{session_id}-{n}", "network": network, "wallet": wallet, "status": status,
                     "gas": None if status == "signed" else 100 + n, "now": utcnow()}).scalar_one()
                for asset, sender, recipient, amount in moves:
                    db.execute(text("INSERT INTO asset_changes (session_id, transaction_id, network, tx_hash, from_address, to_address, "
                                    "token_address, token_type, amount, occurred_at) VALUES (:s, :t, :network, 'h', :f, :to, :asset, 'x', :a, :now)"),
                               {"s": session_id, "t": tx_id, "network": network, "f": sender, "to": recipient, "asset": asset,
                                "a": str(amount), "now": utcnow()})
        db.commit()
    engine.dispose()
    database = Database(url)  # migrates to head: 0006 folds the ledgers
    try:
        with database.session() as db:
            for session_id in session_ids:
                session = db.get(SessionRow, session_id)
                assert session_positions(db, session) == fold(db, session)
                assert len(session_positions(db, session)[0]) == 2 and session_positions(db, session)[1] is True
        assert ledger_check.verify(database).drifts == []
    finally:
        database.engine.dispose()


def test_fees_count_from_when_the_session_first_holds_the_coin_now_and_as_it_stood(database):
    """A session given a token sees no native position for the fees it pays (the coin is
    not its own) until the coin comes in; from then on its native position is what came in
    less every fee it paid. As positions stood before that, the fees do not show."""
    session = new_session(database, "ethereum:1", EVM_TOKENS[0], 1000)
    intents = Intents(database)
    settle(intents, signed_tx(intents, session), [], reverted=True, gas=10, price=2)
    before = utcnow()
    tx = signed_tx(intents, session)
    settle(intents, tx, [entry(tx, NATIVE_EVM, OTHER["ethereum:1"], EVM_WALLET, 100)], reverted=False, gas=5, price=2)
    with database.session() as db:
        assert by_key(session_positions(db, session, until=before)[0]) == {("ethereum:1", EVM_TOKENS[0]): "1000"}
        assert by_key(session_positions(db, session)[0]) == {("ethereum:1", EVM_TOKENS[0]): "1000", ("ethereum:1", NATIVE_EVM): "70"}
        assert by_key(session_positions(db, session, until=before)[0]) == by_key(fold(db, session, until=before)[0])


def test_replicas_settling_one_sessions_transactions_at_once_lose_no_update(url, database):
    """Several orchestrators (each its own engine) settle a session's transactions in
    parallel: each adds to the same balance rows under the session's lock, none overwrites."""
    session = new_session(database, "ethereum:1", NATIVE_EVM, 10**6)
    intents = Intents(database)
    txs = [signed_tx(intents, session) for _ in range(24)]
    replicas = [Database(url, replica_id=f"r{n}") for n in range(4)]

    def settle_share(n: int) -> None:
        replica = Intents(replicas[n])
        for tx in txs[n::4]:
            settle(replica, tx, [entry(tx, NATIVE_EVM, OTHER["ethereum:1"], EVM_WALLET, 1000),
                                 entry(tx, EVM_TOKENS[n % 2], EVM_WALLET, OTHER["ethereum:1"], 1)], reverted=False, gas=1, price=1)

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(settle_share, range(4)))
    finally:
        for replica in replicas:
            replica.engine.dispose()
    with database.session() as db:
        assert by_key(session_positions(db, session)[0]) == {
            ("ethereum:1", NATIVE_EVM): str(10**6 + 24 * 999), ("ethereum:1", EVM_TOKENS[0]): "-12", ("ethereum:1", EVM_TOKENS[1].lower()): "-12"}
        assert session_positions(db, session) == fold(db, session)


def test_a_settle_waits_for_another_of_the_sessions_settles_to_commit_and_adds_to_it(url, database, monkeypatch):
    """The second of two overlapping settles of one session (two replicas) reads the balances
    only once the first has committed, so it adds to them rather than overwriting them."""
    if not url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: the overlap cannot happen there")
    session = new_session(database, "ethereum:1", NATIVE_EVM, 1000)
    intents = Intents(database)
    first, second, third = (signed_tx(intents, session) for _ in range(3))
    settle(intents, first, [entry(first, EVM_TOKENS[0], OTHER["ethereum:1"], EVM_WALLET, 1)], reverted=False, gas=1, price=1)
    release, real = threading.Event(), balances.apply

    def held_open(*args, **kwargs):
        real(*args, **kwargs)
        if threading.current_thread().name == "holder":
            release.wait()  # folded, not committed: the session's lock is held

    monkeypatch.setattr(balances, "apply", held_open)
    other = Database(url, replica_id="other")
    holder = threading.Thread(name="holder", target=settle, args=(intents, second, [entry(second, EVM_TOKENS[0], OTHER["ethereum:1"], EVM_WALLET, 10)]),
                              kwargs={"reverted": False, "gas": 1, "price": 1})
    follower = threading.Thread(target=settle, args=(Intents(other), third, [entry(third, EVM_TOKENS[0], OTHER["ethereum:1"], EVM_WALLET, 100)]),
                                kwargs={"reverted": False, "gas": 1, "price": 1})
    try:
        holder.start()
        wait_for(lambda: locks_waited(postgres_dsn(url)) == 0 and holder_has_folded(database, session.id), what="the first settle to hold the lock")
        follower.start()
        wait_for(lambda: locks_waited(postgres_dsn(url)) >= 1, what="the second settle to wait for the first")
        release.set()
        holder.join()
        follower.join()
    finally:
        release.set()
        other.engine.dispose()
    with database.session() as db:
        assert by_key(session_positions(db, session)[0]) == {("ethereum:1", NATIVE_EVM): "997", ("ethereum:1", EVM_TOKENS[0]): "111"}


def postgres_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def locks_waited(dsn: str) -> int:
    with psycopg.connect(dsn) as connection:
        return connection.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()").fetchone()[0]


def holder_has_folded(database: Database, session_id: int) -> bool:
    """The holder's settle holds the session's lock (taken after its transaction's update):
    a `FOR UPDATE NOWAIT` on the session's row fails."""
    with database.engine.connect() as connection:
        try:
            connection.execute(text("SELECT id FROM sessions WHERE id = :id FOR UPDATE NOWAIT"), {"id": session_id})
        except Exception:  # LockNotAvailable: the holder has it
            return True
        finally:
            connection.rollback()
    return False
