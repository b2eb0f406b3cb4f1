"""The reconciliation pass, made cheap without weakening what it detects: the active sessions'
ledgers are read in one statement and owed exactly what each session's positions say (the
per-session read it replaced is the oracle); each chain's balances are read in one batch, and
only those that could show a shortfall (a wallet with a transaction still unconfirmed waits a
cycle, nothing owed cannot fall short); a read that fails hides no other wallet's drift; and
EVM balances really are one JSON-RPC round trip against anvil."""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from collections.abc import Sequence

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from web3 import Web3

from corral.networks import NATIVE_EVM, address_key
from corral.v1 import runtime_pb2
from devtools.devstack import ANVIL_CHAIN_ID
from orchestrator.actions.positions import session_positions
from orchestrator.actions.transactions.intents import Intents
from orchestrator.chains import BalanceRead, SimulationFailed
from orchestrator.chains.evm import BALANCES_PER_BATCH, EvmChain
from orchestrator.chains.solana import SolanaChain
from orchestrator.config import ChainConfig, ReconciliationConfig, SolanaConfig
from orchestrator.sessions.reconcile import Reconciler, what_is_owed
from orchestrator.store import AgentRow, AssetChangeRow, Database, DriftRow, EventRow, SessionRow, utcnow
from orchestrator.store.statuses import SessionStatus, TransactionStatus
from tests.conftest import processes_only
from tests.e2e.test_solana_sessions import create_mint

NETWORK = "ethereum:1"
TOKEN = "0x" + "Aa" * 20  # mixed case: compared as the chain compares addresses
OUTSIDER = "0x" + "99" * 20


class OneByOne:
    """A chain that can only read one balance at a time (the fallback path)."""

    network, wallet_type, native_asset, reconciled = NETWORK, "ethereum", NATIVE_EVM, True

    def __init__(self, held: dict[tuple[str, str | None], int], failing: set[str] = frozenset()) -> None:
        self.held = {(owner.lower(), token.lower() if token else None): amount for (owner, token), amount in held.items()}
        self.failing = failing
        self.reads: list[BalanceRead] = []

    async def balance(self, address: str) -> int:
        return self._read(address, None)

    async def token_balance(self, token: str, owner: str) -> int:
        return self._read(owner, token)

    def _read(self, owner: str, token: str | None) -> int:
        self.reads.append((owner, token))
        if owner.lower() in self.failing:
            raise ConnectionError("the node did not answer")
        return self.held.get((owner.lower(), token.lower() if token else None), 0)

    def transaction_url(self, tx_hash: str) -> str | None:
        return None


class Batched(OneByOne):
    """A chain that reads them in batches, as EvmChain does."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[list[BalanceRead]] = []

    async def balances(self, reads: Sequence[BalanceRead]) -> list[int | Exception]:
        self.batches.append(list(reads))
        answers: list[int | Exception] = []
        for owner, token in reads:
            try:
                answers.append(self._read(owner, token))
            except ConnectionError as exc:
                answers.append(exc)
        return answers


@pytest.fixture
def database(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'o.db'}")
    yield database
    database.engine.dispose()


def new_session(database: Database, wallet: str, amount: int, asset: str = NATIVE_EVM, status: str = SessionStatus.RUNNING) -> SessionRow:
    with database.session() as db:
        agent = AgentRow(name="a", version="1", image="i", image_id=f"sha256:{os.urandom(8).hex()}", wallet_type="ethereum",
                         manifest_toml="", registered_at=utcnow())
        db.add(agent)
        db.flush()
        session = SessionRow(agent_id=agent.id, wallet_address=wallet, status=status, execution_mode="auto", allocation_network=NETWORK,
                             allocation_asset=asset, allocation_amount=str(amount), created_at=utcnow(), next_run_at=None, stopped_at=None)
        db.add(session)
        db.commit()
        return session


def send(database: Database, session: SessionRow, moved: list[tuple[str, str, str, int]], fee: int | None, settle: bool = True) -> None:
    """A transaction of `session`, signed and (`settle`) confirmed with ledger entries `moved`
    (token, sender, recipient, amount) and gas paid `fee`."""
    intents = Intents(database)
    request = runtime_pb2.SignAndSendRequest(request_id=os.urandom(12).hex(), network=NETWORK)
    tx, _ = intents.claim(session, None, request, to_address=OUTSIDER, value="0", data="0x")
    intents.update(tx, status=TransactionStatus.SIGNED, tx_hash="0x" + os.urandom(32).hex())
    if not settle:
        return
    changes = [AssetChangeRow(session_id=session.id, transaction_id=tx.id, network=NETWORK, tx_hash=tx.tx_hash, occurred_at=utcnow(),
                              from_address=sender, to_address=recipient, token_address=token,
                              token_type="native" if token == NATIVE_EVM else "ERC20", amount=str(amount))
               for token, sender, recipient, amount in moved]
    intents.settle(tx, changes, status=TransactionStatus.CONFIRMED, block_number=1, gas_used=fee, effective_gas_price="1", error="")


def per_session_oracle(database: Database) -> dict[tuple[str, str, str], int]:
    """What the pass computed before: every active session's positions, read one by one."""
    owed: defaultdict[tuple[str, str, str], int] = defaultdict(int)
    with database.session() as db:
        for session in db.query(SessionRow).filter(SessionRow.status.in_(("running", "paused", "unwinding"))):
            for p in session_positions(db, session)[0]:
                owed[(address_key(NETWORK, session.wallet_address), p.network, address_key(p.network, p.asset_address))] += int(p.current_qty)
    return dict(owed)


@pytest.fixture
def wallets(database) -> dict[str, str]:
    """Wallets in every situation the pass tells apart, with ledgers that exercise the rules
    (fees only, a token received then partly sent, a token-allocated session paying gas)."""
    shared, token_holder, unsettled, nothing, short = ("0x" + f"{i:02x}" * 20 for i in range(1, 6))
    a = new_session(database, shared, 1000)
    new_session(database, shared, 500)
    send(database, a, [(NATIVE_EVM, shared, OUTSIDER, 100)], fee=21)
    t = new_session(database, token_holder.upper().replace("0X", "0x"), 700, asset=TOKEN)
    send(database, t, [(TOKEN.lower(), t.wallet_address, OUTSIDER, 200)], fee=30)  # gas from a native row it was never given
    send(database, t, [("0x" + "bb" * 20, OUTSIDER, token_holder, 50), ("0x" + "bb" * 20, token_holder, OUTSIDER, 20)], fee=None)
    u = new_session(database, unsettled, 300)
    send(database, u, [], fee=None, settle=False)
    new_session(database, nothing, 0)
    new_session(database, short, 400)
    new_session(database, short, 10**6, status=SessionStatus.STOPPED)  # not active: owed nothing
    return {"shared": shared, "token_holder": token_holder, "unsettled": unsettled, "nothing": nothing, "short": short}


def test_what_is_owed_is_the_sum_of_every_active_sessions_positions(database, wallets):
    owed = what_is_owed(database.session())
    assert dict(owed.amounts) == per_session_oracle(database)
    assert owed.unsettled == {wallets["unsettled"]}


def test_one_batch_per_chain_reads_only_what_could_fall_short_and_finds_the_shortfall(database, wallets):
    owed = per_session_oracle(database)
    held: dict[tuple[str, str | None], int] = {(wallets["shared"], None): owed[(wallets["shared"], NETWORK, NATIVE_EVM)]}
    held[(wallets["token_holder"], TOKEN)] = 500
    held[(wallets["token_holder"], "0x" + "bb" * 20)] = 30
    held[(wallets["short"], None)] = 399  # one wei short of its session's 400
    chain = Batched(held)
    drifts = asyncio.run(Reconciler(database, {NETWORK: chain}, ReconciliationConfig(pause_above_fraction=0.5)).run_once())

    assert len(chain.batches) == 1
    # Not the unsettled wallet (its ledger is about to change), not the one owed nothing, not
    # the native coin the token-allocated session only paid gas in (never held, so not owed).
    assert sorted((owner.lower(), token) for owner, token in chain.batches[0]) == sorted([
        (wallets["shared"], None), (wallets["token_holder"], TOKEN), (wallets["token_holder"], "0x" + "bb" * 20), (wallets["short"], None)])
    assert [(d.wallet_address, d.asset_address, d.expected, d.on_chain) for d in drifts] == [(wallets["short"], NATIVE_EVM, "400", "399")]
    assert not drifts[0].paused_sessions  # below pause_above_fraction: announced, not paused
    with database.session() as db:
        announced = db.query(EventRow).filter(EventRow.kind == "drift").all()
        assert len(announced) == 1


def test_a_read_that_fails_hides_no_other_wallets_drift_and_the_one_by_one_path_finds_the_same(database, wallets):
    owed = per_session_oracle(database)
    held = {(wallets["short"], None): 0, (wallets["token_holder"], TOKEN): 0, (wallets["token_holder"], "0x" + "bb" * 20): 30}
    passes = []
    for chain in (Batched(held, failing={wallets["shared"]}), OneByOne(held, failing={wallets["shared"]})):
        drifts = asyncio.run(Reconciler(database, {NETWORK: chain}, ReconciliationConfig(pause_above_fraction=0.01)).run_once())
        passes.append({(d.wallet_address, d.asset_address): (int(d.expected), int(d.on_chain)) for d in drifts})
    # The shared wallet could not be read: no verdict on it, and every other one still found.
    assert passes[0] == passes[1] == {(wallets["short"], NATIVE_EVM): (400, 0),
                                      (wallets["token_holder"], TOKEN.lower()): (owed[(wallets["token_holder"], NETWORK, TOKEN.lower())], 0)}
    with database.session() as db:
        paused = {s.wallet_address.lower() for s in db.query(SessionRow).filter(SessionRow.status == SessionStatus.PAUSED)}
        assert paused == {wallets["short"], wallets["token_holder"]}
        assert db.query(DriftRow).count() == 4


def test_evm_balances_are_read_in_one_round_trip_per_batch_each_answer_on_its_own(anvil_only):
    anvil = anvil_only
    owners = [Web3.to_checksum_address("0x" + f"{i + 1:040x}") for i in range(BALANCES_PER_BATCH + 5)]
    for i, owner in enumerate(owners):
        anvil.web3.provider.make_request("anvil_setBalance", [owner, hex(1000 + i)])  # type: ignore[arg-type]

    async def scenario() -> tuple[list, int]:
        chain = EvmChain(f"ethereum:{ANVIL_CHAIN_ID}", ChainConfig(rpc_url=anvil.rpc_url))
        round_trips = 0
        batch = chain.rpc.batch

        async def counted(calls):
            nonlocal round_trips
            round_trips += 1
            return await batch(calls)

        chain.rpc.batch = counted  # type: ignore[method-assign]
        try:
            # A "token" that is no contract answers balanceOf with nothing: that read fails alone.
            return await chain.balances([(owner, None) for owner in owners] + [(owners[0], "0x" + "77" * 20)]), round_trips
        finally:
            await chain.close()

    answers, round_trips = asyncio.run(scenario())
    assert answers[:-1] == [1000 + i for i in range(len(owners))]
    assert isinstance(answers[-1], SimulationFailed) and "balanceOf" in str(answers[-1])
    assert round_trips == 2  # BALANCES_PER_BATCH, then the rest


class SpendsWhileRead(Batched):
    """A chain read while the session spends: the transaction is stored, broadcast and mined
    (`settle`: and settled) between the pass's first look at the ledger and its balance read."""

    def __init__(self, database: Database, session: SessionRow, settle: bool, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.database, self.session, self.settle = database, session, settle

    async def balances(self, reads: Sequence[BalanceRead]) -> list[int | Exception]:
        wallet = self.session.wallet_address.lower()
        send(self.database, self.session, [(NATIVE_EVM, wallet, OUTSIDER, 100)], fee=21, settle=self.settle)
        self.held[(wallet, None)] -= 100 + 21  # what the chain shows once it is mined
        return await super().balances(reads)


@pytest.mark.parametrize("settle", [True, False], ids=["settled", "unconfirmed"])
def test_a_transaction_sent_while_the_chain_is_read_is_no_drift_and_a_real_shortfall_still_is(database, settle):
    spender, short = "0x" + "0a" * 20, "0x" + "0b" * 20
    session = new_session(database, spender, 1000)
    new_session(database, short, 400)
    chain = SpendsWhileRead(database, session, settle, {(spender, None): 1000, (short, None): 300})
    drifts = asyncio.run(Reconciler(database, {NETWORK: chain}, ReconciliationConfig(pause_above_fraction=0.01)).run_once())

    assert [(d.wallet_address, int(d.expected), int(d.on_chain)) for d in drifts] == [(short, 400, 300)]
    with database.session() as db:
        statuses = {s.wallet_address: s.status for s in db.query(SessionRow)}
        assert statuses == {spender: SessionStatus.RUNNING, short: SessionStatus.PAUSED}
        # The spender's ledger is what the chain shows: nothing is missing from it.
        assert what_is_owed(db).amounts.get((spender, NETWORK, NATIVE_EVM)) == (879 if settle else 1000)


@pytest.fixture(scope="module")
def solana_only(tmp_path_factory):
    with processes_only(tmp_path_factory, "solana_devchain") as stack:
        yield stack


def test_solana_balances_are_read_in_one_round_trip_each_answer_on_its_own(solana_only):
    """Lamports and SPL holdings (over all of an owner's token accounts) for many wallets in
    one JSON-RPC batch, equal to the one-call-per-read answers; a malformed owner fails alone."""
    stack = solana_only
    owners = [str(Keypair().pubkey()) for _ in range(5)]
    for i, owner in enumerate(owners):
        stack.airdrop(owner, 10**9 + i)  # above the rent-exempt minimum
    mint = create_mint(stack, [Pubkey.from_string(owners[0])], Pubkey.from_string(owners[0]), 777)
    reads: list[BalanceRead] = [(owner, None) for owner in owners] + [(owners[0], str(mint)), (owners[1], str(mint)), ("not-base58!", None)]

    async def scenario() -> tuple[list, list, int]:
        chain = SolanaChain(SolanaConfig(rpc_url=stack.solana_rpc_url))
        round_trips = 0
        batch = chain._batches.batch

        async def counted(calls):
            nonlocal round_trips
            round_trips += 1
            return await batch(calls)

        chain._batches.batch = counted  # type: ignore[method-assign]
        try:
            one_by_one = [await (chain.balance(owner) if token is None else chain.token_balance(token, owner)) for owner, token in reads[:-1]]
            return await chain.balances(reads), one_by_one, round_trips
        finally:
            await chain.close()

    answers, one_by_one, round_trips = asyncio.run(scenario())
    assert answers[:-1] == one_by_one == [10**9, 10**9 + 1, 10**9 + 2, 10**9 + 3, 10**9 + 4, 777, 0]
    assert isinstance(answers[-1], SimulationFailed) and "not-base58!" in str(answers[-1])
    assert round_trips == 1


class BuysJustAfterTheRead(Batched):
    """The chain is read, then a swap of the session's is mined and settled before the pass
    reads the ledger again: the ledger then owes the bought token the chain was read without."""

    def __init__(self, database: Database, session: SessionRow, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.database, self.session = database, session

    async def balances(self, reads: Sequence[BalanceRead]) -> list[int | Exception]:
        answers = await super().balances(reads)
        wallet = self.session.wallet_address.lower()
        send(self.database, self.session, [(NATIVE_EVM, wallet, OUTSIDER, 100), (TOKEN.lower(), OUTSIDER, wallet, 500)], fee=21)
        return answers


def test_a_purchase_settled_just_after_the_chain_is_read_is_no_drift(database):
    wallet = "0x" + "0c" * 20
    trader = new_session(database, wallet, 1000)
    new_session(database, wallet, 0)  # another agent's session on the same wallet
    send(database, trader, [(NATIVE_EVM, wallet, OUTSIDER, 100), (TOKEN.lower(), OUTSIDER, wallet, 500)], fee=21)
    chain = BuysJustAfterTheRead(database, trader, {(wallet, None): 879, (wallet, TOKEN): 500})
    drifts = asyncio.run(Reconciler(database, {NETWORK: chain}, ReconciliationConfig(pause_above_fraction=0.01)).run_once())
    assert drifts == []
    with database.session() as db:
        assert {s.status for s in db.query(SessionRow)} == {SessionStatus.RUNNING}
