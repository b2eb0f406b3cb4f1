"""Backtests: a paper session run over past blocks (docs/api.md, "Backtests").

A backtest session's fork is taken at its first block. Before each run after the first, the
fork is moved to the next block (`anvil_reset` onto the real chain at that block), so the agent
sees the chain as it was then, and what the session holds is carried over from its ledger:
each position minted again, the wallet's nonce kept, fees paid from the real wallet's native
balance at that block. So the agent's own trades move the market for the rest of their step
only; the history between steps is the chain's.

Each step is stored (`BacktestStepRow`): the block, what the session held and its value in
the starting asset by the swap engines' quotes on the fork; after the last run, a final step
values what it ended with. The session is then paused, "backtest finished".

A backtest by time (a hypercore:* agent's) has no chain to fork: its steps are times, from
`from` every `every` seconds, its venue calls fill against the market data the platform
recorded at each step's time (venues/paper_hyperliquid.py), and each step values its paper
account there, in USDC.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from corral.networks import address_key
from corral.v1 import common_pb2
from orchestrator.actions.swaps.model import QuoteRequest
from orchestrator.actions.swaps.service import Swaps
from orchestrator.actions.venues.hypercore import USDC_UNITS
from orchestrator.actions.venues.paper_hyperliquid import PaperHyperliquid
from orchestrator.chains.evm import EvmChain
from orchestrator.chains.paper_forks import ForkError, balance_or_none, mint, session_chain
from orchestrator.errors import invalid, precondition
from orchestrator.store import BacktestStepRow, Database, SessionRow, events
from orchestrator.store.statuses import SessionStatus

log = logging.getLogger("corral.backtests")

# A backtest runs at most this many times (each run is a sandbox and a fork reset).
MAX_RUNS = 2_000
# A backtest by time's step at most (and its times before 2038: the columns are 32-bit on PostgreSQL).
MAX_EVERY_SECONDS = 366 * 24 * 3600
LAST_TIME = 2**31 - 1
FINISHED = "backtest finished"
# What a backtest's wallet holds of the native coin for fees at each step, at least (its real
# wallet's balance at that block if more): the wallet a backtest is run for may hold nothing.
GAS_FLOOR = 10**18


@dataclass(frozen=True)
class BacktestRange:
    """The blocks a backtest runs at, as StartSession asks for them; `by_time`: the times
    instead (Unix seconds, and seconds between runs)."""

    from_block: int
    to_block: int
    every_blocks: int
    by_time: bool = False

    def checked_times(self, now: int) -> BacktestRange:
        """Itself, or INVALID_ARGUMENT naming the field and the fix (`now`: Unix seconds)."""
        if self.from_block < 1:
            raise invalid("backtest.from_time must be set, after 1970", field="backtest.from_time")
        if self.to_block < 1:
            raise invalid("backtest.to_time must be set, after 1970", field="backtest.to_time")
        if not 1 <= self.every_blocks <= MAX_EVERY_SECONDS:
            raise invalid(f"backtest.every_seconds must be from 1 to {MAX_EVERY_SECONDS} (a year)", field="backtest.every_seconds")
        if self.to_block < self.from_block:
            raise invalid("backtest.to_time is before from_time", field="backtest.to_time")
        if self.to_block > min(now, LAST_TIME):
            raise invalid("backtest.to_time is in the future: a backtest runs over recorded market data", field="backtest.to_time")
        if (self.to_block - self.from_block) // self.every_blocks + 1 > MAX_RUNS:
            raise invalid(f"a backtest runs at most {MAX_RUNS} times; raise every_seconds or narrow the range", field="backtest.every_seconds")
        return self

    def checked(self, head: int) -> BacktestRange:
        """Itself, or INVALID_ARGUMENT naming the field and the fix (`head`: the chain's newest block)."""
        if self.from_block < 1:
            raise invalid("backtest.from_block must be a block number of at least 1", field="backtest.from_block")
        if self.every_blocks < 1:
            raise invalid("backtest.every_blocks must be at least 1", field="backtest.every_blocks")
        if self.to_block < self.from_block:
            raise invalid(f"backtest.to_block {self.to_block} is before from_block {self.from_block}", field="backtest.to_block")
        if self.to_block > head:
            raise invalid(f"backtest.to_block {self.to_block} is past the chain's newest block {head}", field="backtest.to_block")
        if (self.to_block - self.from_block) // self.every_blocks + 1 > MAX_RUNS:
            raise invalid(f"a backtest runs at most {MAX_RUNS} times; raise every_blocks or narrow the range", field="backtest.every_blocks")
        return self


def blocks(session: SessionRow) -> list[int]:
    """The blocks a backtest session runs at (a backtest by time: its times, Unix seconds)."""
    assert session.backtest_from_block is not None and session.backtest_to_block is not None and session.backtest_every_blocks
    return list(range(session.backtest_from_block, session.backtest_to_block + 1, session.backtest_every_blocks))


def step_time(seconds: int) -> datetime:
    """A backtest by time's step as a naive UTC time, as the database keeps times."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def runs_done(db: Session, session_id: int) -> int:
    """Steps taken before a run (the final valuation is not one)."""
    return db.scalar(select(func.count()).where(BacktestStepRow.session_id == session_id, BacktestStepRow.after_last_run.is_(False))) or 0


def all_run(db: Session, session: SessionRow) -> bool:
    """Whether a backtest session has run at every block of its range."""
    return session.backtest_every_blocks is not None and runs_done(db, session.id) >= len(blocks(session))


def finished(db: Session, session_id: int) -> bool:
    """Whether a backtest has its final valuation (after its last run)."""
    return db.scalar(select(func.count()).where(BacktestStepRow.session_id == session_id, BacktestStepRow.after_last_run.is_(True))) > 0


class Backtests:
    """Moves backtest sessions' forks from step to step and values what they hold."""

    def __init__(self, db: Database, chains: Mapping[str, EvmChain], swaps: Swaps | None, hyperliquid: PaperHyperliquid | None = None) -> None:
        self._db = db
        self._chains = chains
        self._swaps = swaps
        self._hyperliquid = hyperliquid

    async def before_run(self, session: SessionRow, positions: list[common_pb2.Position]) -> datetime:
        """The next step: the fork moved to its block (but for the first, taken there) with
        what the session holds, and the step stored with its valuation; the block's time (UTC)."""
        step = await self._db.run(lambda db: runs_done(db, session.id))
        block = blocks(session)[step]
        if session.backtest_by_time:
            return await self._store_on_venue(session, step, step_time(block), after_last_run=False)
        chain = self._fork(session)
        if step > 0:
            positions = await _held_on_fork(chain, session.wallet_address, positions)
            await self._move(chain, session, block, positions)
            await self._db.run(lambda db: _forked_at(db, session.id, block))
        return await self._store(session, chain, step, block, positions, after_last_run=False)

    async def after_run(self, session: SessionRow, positions: list[common_pb2.Position]) -> None:
        """After the run at the last block: the final valuation, and the session paused."""
        done = await self._db.run(lambda db: runs_done(db, session.id))
        if done < len(blocks(session)):
            return
        if session.backtest_by_time:
            await self._store_on_venue(session, done, step_time(blocks(session)[-1]), after_last_run=True)
            await self._db.run(lambda db: pause_finished(db, session.id))
            return
        chain = self._fork(session)
        positions = await _held_on_fork(chain, session.wallet_address, positions)
        await self._store(session, chain, done, blocks(session)[-1], positions, after_last_run=True)
        await self._db.run(lambda db: pause_finished(db, session.id))

    def _fork(self, session: SessionRow) -> EvmChain:
        chain = session_chain(self._chains, session, session.allocation_network)
        if not isinstance(chain, EvmChain):
            raise precondition(f"backtest session {session.id} has no fork of {session.allocation_network}")
        return chain

    async def _move(self, chain: EvmChain, session: SessionRow, block: int, positions: list[common_pb2.Position]) -> None:
        source = self._chains[session.allocation_network]
        wallet = session.wallet_address
        nonce = await chain.rpc.call("eth_getTransactionCount", wallet, "latest")
        await chain.rpc.call("anvil_reset", {"forking": {"jsonRpcUrl": source.config.rpc_url, "blockNumber": block}})
        await chain.rpc.call("anvil_setNonce", wallet, nonce)
        native = address_key(chain.network, chain.native_asset)
        held_native = 0
        try:
            for position in positions:
                qty = int(position.current_qty)
                if address_key(position.network, position.asset_address) == native:
                    held_native = max(qty, 0)
                elif qty > 0:
                    await mint(chain, position.asset_address, wallet, qty)
            assert session.paper_of_wallet is not None
            gas_money = max(await chain.balance(session.paper_of_wallet), GAS_FLOOR)
            await mint(chain, chain.native_asset, wallet, max(gas_money, held_native))
        except (ForkError, OSError, ValueError) as exc:
            raise precondition(f"the backtest's fork could not be moved to block {block}: {exc}") from None

    async def _store(self, session: SessionRow, chain: EvmChain, step: int, block: int, positions: list[common_pb2.Position],
                     after_last_run: bool) -> datetime:
        equity, unvalued = await self._value(session, chain, positions)
        at = datetime.fromtimestamp(await chain.block_timestamp(), UTC).replace(tzinfo=None)
        row = BacktestStepRow(session_id=session.id, step=step, block=block, block_time=at, after_last_run=after_last_run,
                              positions=[{"network": p.network, "asset_address": p.asset_address, "current_qty": p.current_qty}
                                         for p in positions],
                              equity=None if unvalued else str(equity), unvalued=unvalued)

        def store(db: Session) -> None:
            db.add(row)
            db.commit()

        await self._db.run(store)
        return at

    async def _store_on_venue(self, session: SessionRow, step: int, at: datetime, after_last_run: bool) -> datetime:
        """A backtest by time's step: its paper Hyperliquid account settled and valued at `at`,
        in the starting asset (USDC, its smallest unit), its holdings the account's (the session's
        ledger holds only its allocation); `at`."""
        if self._hyperliquid is None:
            raise precondition("this orchestrator keeps no paper Hyperliquid accounts: a backtest by time needs [hyperliquid] configured")
        value, unvalued, held = await self._hyperliquid.equity(session, at)
        row = BacktestStepRow(session_id=session.id, step=step, block=0, block_time=at, after_last_run=after_last_run,
                              positions=held, equity=None if unvalued else str(int(value * USDC_UNITS)), unvalued=unvalued)

        def store(db: Session) -> None:
            db.add(row)
            db.commit()

        await self._db.run(store)
        return at

    async def _value(self, session: SessionRow, chain: EvmChain, positions: list[common_pb2.Position]) -> tuple[int, list[str]]:
        """What the positions are worth in the starting asset, and the assets that could not
        be valued. The native coin is left out unless it is the starting asset: a token-funded
        session's native position is the fees it paid (reported apart)."""
        start = address_key(session.allocation_network, session.allocation_asset)
        native = address_key(chain.network, chain.native_asset)
        equity, unvalued = 0, []
        for position in positions:
            asset, qty = address_key(position.network, position.asset_address), int(position.current_qty)
            if asset == start:
                equity += qty
            elif asset == native or qty <= 0:
                continue
            elif (worth := await self._quote(session, position.network, position.asset_address, qty)) is not None:
                equity += worth
            else:
                unvalued.append(position.asset_address)
        return equity, unvalued

    async def _quote(self, session: SessionRow, network: str, asset: str, qty: int) -> int | None:
        if self._swaps is None:
            return None
        request = QuoteRequest.model_validate({"from": {"network": network, "address": asset},
                                               "to": {"network": network, "address": session.allocation_asset}, "amount": str(qty)})
        best = None
        for engine in self._swaps.session_engines(session):
            if not engine.supports(request):
                continue
            try:
                quote = await engine.quote(session.wallet_address, request, int(time.time()) + 60)
            except Exception as exc:  # noqa: BLE001 — a token's answer may be anything (eth-abi's DecodingError): unvalued
                log.info("backtest %d: %s not valued by %s: %s", session.id, asset, engine.name, exc)
                continue
            best = max(best or 0, quote.amount_out)
        return best


async def _held_on_fork(chain: EvmChain, wallet: str, positions: list[common_pb2.Position]) -> list[common_pb2.Position]:
    """The positions at most what the wallet holds of each token on the fork: a token may say
    in its Transfer events more than it moved (the ledger counts the events), and what is
    carried to the next step or valued is what the wallet really has."""
    native = address_key(chain.network, chain.native_asset)
    held = []
    for position in positions:
        qty = int(position.current_qty)
        if address_key(position.network, position.asset_address) != native and qty > 0:
            actual = await balance_or_none(chain, position.asset_address, wallet)
            qty = min(qty, actual if actual is not None else 0)
        held.append(common_pb2.Position(network=position.network, asset_address=position.asset_address, current_qty=str(qty)))
    return held


def _forked_at(db: Session, session_id: int, block: int) -> None:
    """The block the session's fork is at now (a restart takes it up there)."""
    db.get(SessionRow, session_id).paper_fork_block = block
    db.commit()


def pause_finished(db: Session, session_id: int, reason: str = FINISHED) -> None:
    """Pauses a backtest that has nothing more to run (or, with `reason`, cannot go on)."""
    session = db.get(SessionRow, session_id)
    if session.status == SessionStatus.RUNNING:
        session.status, session.status_reason = SessionStatus.PAUSED, reason
        events.record(db, "session", SessionStatus.PAUSED, session_id, session_id)
    db.commit()
