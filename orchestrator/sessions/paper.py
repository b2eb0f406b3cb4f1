"""Paper sessions: an agent run as it would run on a wallet, on a fork of the chain instead.

A paper session of wallet W:
- acts with a throwaway key the signer makes for it, whose policy is a copy of W's
  (`CreatePaperWallet`): what W's policy would refuse, the paper session is refused;
- runs on its own fork of the allocation's chain (EVM or Solana), taken at that chain's head
  when it starts (`PaperForks`); every chain the platform reaches for it is that fork
  (`orchestrator.chains.paper_forks.session_chain`), so nothing it does reaches the real chain;
- holds, on the fork, its allocation (minted) and W's native balance at the fork's block
  (what it would pay fees from);
- is otherwise a session like any other: same schedule, sandbox, ledger, positions,
  suggestions and events, marked paper (`Session.paper_of_wallet_address`).

`PaperSupervisor` keeps the forks of active paper sessions running (after a restart, from
their saved state; a Solana fork, which keeps none, from the cluster again with the session's
holdings written back) and ends those of stopped ones. `StoppedPaperWallets` has the signer
remove the paper wallets of stopped sessions, so its bound on paper wallets counts live ones.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import grpc
from sqlalchemy import select

from orchestrator.actions.positions import session_positions
from orchestrator.actions.signer_client import SignerClient
from orchestrator.chains import Chain
from orchestrator.chains.paper_forks import ForkError, ForkSource, PaperForks, answers, fork_chain, mint
from orchestrator.errors import precondition
from orchestrator.store import Database, ExecutionRow, SessionRow, TransactionRow
from orchestrator.store.statuses import ExecutionStatus, SessionStatus, TransactionStatus

log = logging.getLogger("corral.paper")

SWEEP_SECONDS = 2.0
# How often stopped sessions' paper wallets are looked for (each look reads the signer's list).
WALLETS_SWEEP_SECONDS = 60.0
# A paper wallet no session names is a start that failed after its key was made, once it has
# been so for this long (a start inserts its session moments after the key is made).
ORPHAN_GRACE_SECONDS = 300.0


@dataclass(frozen=True)
class PaperFork:
    url: str
    block: int
    # The native coin given beyond the allocation, for fees (smallest unit).
    fee_money: int


async def open_fork(forks: PaperForks, session_id: int, source: ForkSource, real_wallet: str, paper_wallet: str,
                    asset: str, amount: int, at_block: int | None = None, gas_floor: int = 0) -> PaperFork:
    """The session's fork, its paper wallet funded there: the allocation minted, and the real
    wallet's native balance at the fork's block for fees. Refused (FAILED_PRECONDITION) when
    the fork cannot be made or funded; nothing is left running then. `at_block`: taken there
    (a backtest's first block) instead of at the head; `gas_floor`: the least native balance
    it gets for fees (a backtest's wallet, which may hold nothing on the real chain)."""
    try:
        fork = await forks.start(session_id, source, at_block)
    except ForkError as exc:
        raise precondition(f"the paper fork of {source.network} could not be started: {exc}") from None
    chain = fork_chain(source, fork.url)
    try:
        gas_money = max(await chain.balance(real_wallet), gas_floor)
        native = asset.lower() == chain.native_asset.lower()
        await mint(chain, chain.native_asset, paper_wallet, max(gas_money, amount) if native else gas_money)
        if not native:
            await mint(chain, asset, paper_wallet, amount)
        fee_money = max(gas_money - amount, 0) if native else gas_money
    except (ForkError, OSError, ValueError) as exc:
        await forks.stop(session_id)
        raise precondition(f"the paper session's allocation could not be minted on its fork: {exc}") from None
    return PaperFork(fork.url, fork.block, fee_money)


class PaperSupervisor:
    """Every few seconds: forks of active paper sessions that do not answer are started again
    from their state (the session's fork URL updated when the port changed); forks of stopped
    sessions, once no execution of theirs runs, are ended and their state removed."""

    def __init__(self, db: Database, forks: PaperForks, chains: dict[str, Chain]) -> None:
        self._db = db
        self._forks = forks
        self._chains = chains

    async def sweep(self) -> None:
        here = set(self._forks.running())
        active, ended = await self._db.run(lambda db: _paper_sessions(db, here, self._db.replica_id))
        for session_id, network, url, block in active:
            source = self._chains.get(network)
            # Only a fork this process started is trusted to be the session's: whatever else
            # answers on its old port (another session's fork, after the port was reused) is not.
            if not isinstance(source, ForkSource) or (session_id in here and await answers(fork_chain(source, url))):
                continue
            try:
                fresh, emptied = await self._forks.ensure(session_id, source, url, block)
            except Exception as exc:  # noqa: BLE001 — this session's fork waits for the next sweep; the others go on
                log.error("the fork of paper session %d could not be started again: %s", session_id, exc)
                continue
            if emptied:
                try:
                    await self._write_back_holdings(session_id, fork_chain(source, fresh))
                except Exception as exc:  # noqa: BLE001 — as above
                    log.error("paper session %d's holdings could not be written back onto its new fork: %s", session_id, exc)
                    await self._forks.stop(session_id)  # never used half written: made again at the next sweep
                    continue
            if fresh != url:
                await self._db.run(lambda db, s=session_id, u=fresh: _move_fork(db, s, u))
        for session_id in ended:
            await self._forks.stop(session_id)

    async def _write_back_holdings(self, session_id: int, chain: ForkSource) -> None:
        """A fork made again from the cluster (Solana keeps no state): the paper wallet holds on
        it what the session's ledger says it holds, the native coin with the fee money it was
        given at the start; its transactions signed for the old fork are expired (they can land
        nowhere now, and nothing they did is on the new fork)."""
        def read_and_expire(db) -> tuple[str, int, list]:
            session = db.get(SessionRow, session_id)
            for tx in db.scalars(select(TransactionRow).where(TransactionRow.session_id == session_id,
                                                              TransactionRow.status == TransactionStatus.SIGNED)):
                tx.status, tx.error = TransactionStatus.EXPIRED, "its paper fork was made again after a restart: it cannot land"
            db.commit()
            return session.wallet_address, int(session.paper_fee_money or 0), session_positions(db, session)[0]

        wallet, fee_money, positions = await self._db.run(read_and_expire)
        held = {p.asset_address: int(p.current_qty) for p in positions if p.network == chain.network}
        held[chain.native_asset] = held.get(chain.native_asset, 0) + fee_money
        for asset, amount in held.items():
            await mint(chain, asset, wallet, max(amount, 0))
        log.info("paper session %d's fork was made again from %s; its holdings were written back", session_id, chain.network)


def _paper_sessions(db, here: set[int], replica_id: str) -> tuple[list[tuple[int, str, str, int]], set[int]]:
    """(the active paper sessions whose fork this replica runs, with their fork) and which of
    the forks running `here` belong to sessions stopped with no execution still running. A
    fork is its replica's child process: another replica never starts a second one."""
    rows = db.execute(select(SessionRow.id, SessionRow.allocation_network, SessionRow.paper_fork_url, SessionRow.paper_fork_block,
                             SessionRow.paper_fork_replica)
                      .where(SessionRow.paper_of_wallet.is_not(None), SessionRow.status != SessionStatus.STOPPED)).all()
    # A session being started has no fork URL yet: its fork is running here, and kept.
    active = [(r.id, r.allocation_network, r.paper_fork_url, r.paper_fork_block) for r in rows
              if r.paper_fork_url is not None and r.paper_fork_replica == replica_id]
    still = {r.id for r in rows} | set(db.scalars(select(ExecutionRow.session_id).where(
        ExecutionRow.session_id.in_(here), ExecutionRow.status == ExecutionStatus.RUNNING)))
    return active, here - still


def _move_fork(db, session_id: int, url: str) -> None:
    db.get(SessionRow, session_id).paper_fork_url = url
    db.commit()


class StoppedPaperWallets:
    """Has the signer remove the paper wallets of stopped sessions once none of their runs is
    still going (an unwind signs with it), and the paper wallets no session names once they
    have been so for ORPHAN_GRACE_SECONDS. Any replica may: a wallet removed twice is NOT_FOUND
    the second time. A stopped session keeps everything else (ledger, report, recordings)."""

    def __init__(self, db: Database, signer: SignerClient) -> None:
        self._db = db
        self._signer = signer
        self._orphans: dict[str, float] = {}  # address -> when first seen named by no session

    async def sweep(self) -> list[str]:
        """The wallets removed."""
        held = await self._signer.paper_wallets()
        if not held:
            self._orphans.clear()
            return []
        stopped, named = await self._db.run(lambda db: _stopped_and_named(db, held))
        now = time.monotonic()
        self._orphans = {wallet: self._orphans.get(wallet, now) for wallet in held - named}
        due = stopped | {wallet for wallet, first in self._orphans.items() if now - first >= ORPHAN_GRACE_SECONDS}
        removed = []
        for wallet in sorted(due):
            try:
                await self._signer.remove_paper_wallet(wallet)
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:  # (NOT_FOUND: another replica was first)
                    log.warning("the signer did not remove paper wallet %s: %s", wallet, exc.details())
                continue
            self._orphans.pop(wallet, None)
            removed.append(wallet)
        if removed:
            log.info("removed %d paper wallet(s) of stopped paper sessions", len(removed))
        return removed


def _stopped_and_named(db, wallets: set[str]) -> tuple[set[str], set[str]]:
    """(the `wallets` whose session has stopped with no execution running, those a session names)."""
    rows = db.execute(select(SessionRow.id, SessionRow.wallet_address, SessionRow.status)
                      .where(SessionRow.wallet_address.in_(wallets), SessionRow.paper_of_wallet.is_not(None))).all()
    running = set(db.scalars(select(ExecutionRow.session_id).where(ExecutionRow.session_id.in_([r.id for r in rows]),
                                                                   ExecutionRow.status == ExecutionStatus.RUNNING)))
    named = {r.wallet_address for r in rows}
    unfinished = {r.wallet_address for r in rows if r.status != SessionStatus.STOPPED or r.id in running}
    return named - unfinished, named
