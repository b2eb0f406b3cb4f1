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
holdings written back) and ends those of stopped ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from orchestrator.actions.positions import session_positions
from orchestrator.chains import Chain
from orchestrator.chains.paper_forks import ForkError, ForkSource, PaperForks, answers, fork_chain, mint
from orchestrator.errors import precondition
from orchestrator.store import Database, ExecutionRow, SessionRow
from orchestrator.store.statuses import ExecutionStatus, SessionStatus

log = logging.getLogger("corral.paper")

SWEEP_SECONDS = 2.0


@dataclass(frozen=True)
class PaperFork:
    url: str
    block: int


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
    except (ForkError, OSError, ValueError) as exc:
        await forks.stop(session_id)
        raise precondition(f"the paper session's allocation could not be minted on its fork: {exc}") from None
    return PaperFork(fork.url, fork.block)


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
            if not isinstance(source, ForkSource) or await answers(fork_chain(source, url)):
                continue
            try:
                fresh, emptied = await self._forks.ensure(session_id, source, url, block)
                if emptied:
                    await self._write_back_holdings(session_id, source, fork_chain(source, fresh))
            except (ForkError, OSError, ValueError) as exc:
                log.error("the fork of paper session %d could not be started again: %s", session_id, exc)
                continue
            if fresh != url:
                await self._db.run(lambda db, s=session_id, u=fresh: _move_fork(db, s, u))
        for session_id in ended:
            await self._forks.stop(session_id)

    async def _write_back_holdings(self, session_id: int, source: ForkSource, chain: ForkSource) -> None:
        """A fork started again from the cluster (Solana): the paper wallet holds on it what the
        session's ledger says it holds, and, as when it started, the real wallet's native balance
        besides, to pay fees from."""
        def read(db) -> tuple[str, str, list]:
            session = db.get(SessionRow, session_id)
            return session.wallet_address, session.owner_wallet, session_positions(db, session)[0]

        wallet, real_wallet, positions = await self._db.run(read)
        held = {p.asset_address: max(int(p.current_qty), 0) for p in positions if p.network == chain.network}
        held[chain.native_asset] = held.get(chain.native_asset, 0) + await source.balance(real_wallet)
        for asset, amount in held.items():
            await mint(chain, asset, wallet, amount)
        log.info("paper session %d's fork was started again from %s; its holdings were written back", session_id, chain.network)


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
