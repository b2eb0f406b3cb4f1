"""A session's life: start (with every check answered by a clear status), pause, resume,
unwind, stop, and update (settings, breakers, mode: checked as start checks them). Every transition not allowed from the current state is refused with
FAILED_PRECONDITION, naming the state and what is allowed.

    created -> running <-> paused
    running | paused -> unwinding -> stopped      (one unwind execution, then stop)
    any state but stopped -> stopped
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import grpc
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from corral.hosts import Ceiling
from corral.networks import Network, address_key
from corral.v1 import signer_pb2
from orchestrator.actions.backtests import GAS_FLOOR, BacktestRange, step_time
from orchestrator.actions.breakers import BreakerSettings, stored_settings
from orchestrator.actions.positions import session_positions
from orchestrator.actions.signer_client import SignerClient
from orchestrator.actions.venues.market_data import HYPERLIQUID, MarketData
from orchestrator.agents.manifest import Manifest
from orchestrator.agents.registry import agent_manifest
from orchestrator.agents.settings import SettingError, resolve
from orchestrator.chains import Chain, SimulationFailed
from orchestrator.chains.evm import EvmChain
from orchestrator.chains.paper_forks import ForkError, ForkSource, PaperForks
from orchestrator.errors import Refused, invalid, not_found, precondition
from orchestrator.executions import memory
from orchestrator.executions.schedule import resume_at
from orchestrator.sessions.environment import checked_environment
from orchestrator.sessions.paper import open_fork
from orchestrator.store import AgentRow, Database, SessionRow, events, utcnow
from orchestrator.store.statuses import ExecutionMode, SessionStatus

ACTIVE = (SessionStatus.CREATED, SessionStatus.RUNNING, SessionStatus.PAUSED, SessionStatus.UNWINDING)
UPDATABLE = (SessionStatus.CREATED, SessionStatus.RUNNING, SessionStatus.PAUSED)


@dataclass(frozen=True)
class SessionChanges:
    """What an UpdateSession replaces; None: left as it is. A mode of "" is the agent's default."""

    mode: str | None = None
    settings: dict[str, str] | None = None
    breakers: BreakerSettings | None = None
    record_executions: bool | None = None
    # Another version of the agent to replay on its executions; 0: none.
    shadow_agent_id: int | None = None


def checked_mode(manifest: Manifest, mode: str | None) -> str:
    """`mode`, or the agent's default when none is given; FAILED_PRECONDITION when the agent does not allow it."""
    mode = mode or manifest.default_execution_mode
    if mode not in manifest.allowedExecutionModes:
        raise precondition(f"execution mode {str(mode)!r} is not allowed by this agent; allowed: {manifest.allowedExecutionModes}")
    return mode


def check_auto_allowed(mode: str, auto_allowed: bool) -> None:
    """Auto mode approves every action the agent asks for in advance: choosing it takes the
    approver role too (an operator alone could otherwise bypass every approver)."""
    if mode == ExecutionMode.AUTO and not auto_allowed:
        raise Refused(grpc.StatusCode.PERMISSION_DENIED, (
            "running a session in auto mode approves each of its actions in advance: it needs the approver role "
            "as well as operator; start it in manual mode, or ask an approver"))


def check_settings(manifest: Manifest, settings: dict[str, str], field: str = "settings") -> None:
    """INVALID_ARGUMENT naming the setting when the agent's schema does not take `settings`
    (`field`: where the request holds them)."""
    try:
        resolve(manifest, settings)
    except SettingError as exc:
        # The one setting at fault, as a path a console marks: settings['risk'].
        raise invalid(str(exc), field=field if exc.key is None else f"{field}[{exc.key!r}]") from None


async def _starting_balance(chain: Chain, wallet: str, asset: str, native: bool) -> int:
    try:
        return await chain.balance(wallet) if native else await chain.token_balance(asset, wallet)
    except SimulationFailed as exc:
        raise precondition(f"the agent's starting asset {asset} on {chain.network} cannot be read: {exc}") from None


async def _checked_backtest(backtest: BacktestRange, mode: str, chain: Chain, market_data: MarketData | None) -> BacktestRange:
    if mode == ExecutionMode.MANUAL:
        raise invalid("a backtest runs in auto mode: nobody approves past blocks", field="execution_mode")
    on_venue = Network.parse(chain.network).is_hypercore
    if on_venue != backtest.by_time:
        raise invalid(f"a backtest of a {chain.network} agent runs at "
                      + ("times: set from_time, to_time and every_seconds" if on_venue else "blocks: set from_block, to_block and every_blocks"),
                      field="backtest")
    if not backtest.by_time:
        return backtest.checked(await _head(chain))
    backtest = backtest.checked_times(int(time.time()))
    await _check_recorded(backtest, market_data)
    return backtest


async def _check_recorded(backtest: BacktestRange, market_data: MarketData | None) -> None:
    """A backtest by time starts and ends where the platform has recorded Hyperliquid's mids
    (a gap between is said by the step that meets it)."""
    last_step = backtest.from_block + (backtest.to_block - backtest.from_block) // backtest.every_blocks * backtest.every_blocks
    for name, at in (("from_time", step_time(backtest.from_block)), ("to_time", step_time(last_step))):
        if market_data is not None and await market_data.at(HYPERLIQUID, "allMids", at) is not None:
            continue
        held = [s for s in (await market_data.series(HYPERLIQUID) if market_data is not None else []) if s.series == "allMids"]
        has = (f"it has Hyperliquid market data from {held[0].first_at.isoformat()}Z to {held[0].last_at.isoformat()}Z" if held
               else "it has none ([market_data] hyperliquid_coins in the orchestrator config starts recording it)")
        raise precondition(f"the platform has no recorded Hyperliquid market data at backtest.{name}'s step {at.isoformat()}Z; {has}")


async def _head(chain: Chain) -> int:
    if not isinstance(chain, EvmChain):
        raise precondition(f"backtests run on a fork of an EVM chain; this agent's starting asset is on {chain.network}")
    try:
        return int(await chain.rpc.call("eth_blockNumber"), 16)
    except (OSError, ValueError) as exc:
        raise precondition(f"the node of {chain.network} did not give its newest block: {exc}") from None


def _remove(session_id: int, db: Session) -> None:
    """A session that never ran (its start failed after it was stored): nothing refers to it."""
    db.delete(db.get(SessionRow, session_id))
    db.commit()


class Sessions:
    def __init__(self, db: Database, signer: SignerClient, chains: dict[str, Chain], minute_seconds: float = 60.0,
                 egress_ceiling: Ceiling | None = None, paper_forks: PaperForks | None = None,
                 market_data: MarketData | None = None) -> None:
        self._db = db
        self._market_data = market_data
        self._signer = signer
        self._chains = chains
        self._paper_forks = paper_forks
        self._minute_seconds = minute_seconds
        self._egress_ceiling = egress_ceiling or Ceiling(rules=())

    def _check_egress(self, agent_name: str, manifest: Manifest) -> None:
        if refused := self._egress_ceiling.refused(manifest.network.rules):
            raise precondition(
                f"agent {agent_name!r} fetches from {', '.join(map(str, refused))}, which this installation does not permit; "
                "an operator can add the hosts to egress.allow_hosts in the orchestrator's config"
            )

    async def start(
        self, agent_id: int, wallet_address: str, mode: str | None, settings: dict[str, str], allocation: str | None,
        breakers: BreakerSettings | None = None, environment: dict[str, str] | None = None, actor: str = "",
        auto_allowed: bool = True, record_executions: bool = False, paper: bool = False, backtest: BacktestRange | None = None,
    ) -> SessionRow:
        """Every database step runs on the database's threads (`Database.run`): the loop keeps
        serving sandboxes' SDK calls while a start waits for the signer, the chain or a lock."""
        agent = await self._db.run(lambda db: db.get(AgentRow, agent_id))
        if agent is None:
            raise not_found(f"agent {agent_id} is not registered")
        manifest = agent_manifest(agent)

        wallet = await self._held_wallet(wallet_address, agent.name, manifest)

        mode = checked_mode(manifest, mode)
        check_auto_allowed(mode, auto_allowed)
        check_settings(manifest, settings)
        self._check_egress(agent.name, manifest)
        environment = checked_environment(environment or {})

        asset = manifest.startingAsset
        if asset is None:
            raise precondition(f"agent {agent.name!r} declares no [startingAsset]; it cannot be allocated funds")
        if Network.parse(asset.network).is_hypercore and not paper and backtest is None:  # a paper account is the session's own
            await self._db.run(lambda db: _check_one_hyperliquid_agent(db, wallet))
        chain = self._chains.get(asset.network)
        if chain is None:
            raise precondition(f"the agent's starting asset is on {asset.network}, which this platform has not configured")
        amount = allocation if allocation is not None else asset.minimumAmount
        if not amount.isdigit():
            raise invalid(f"allocation_amount {amount!r} must be an integer string in the asset's smallest unit")
        if int(amount) < int(asset.minimumAmount):
            raise precondition(f"allocation {amount} is below the agent's minimumAmount {asset.minimumAmount}")

        native = address_key(asset.network, asset.address) == address_key(asset.network, chain.native_asset)
        paper_of = None
        if backtest is not None:  # a paper session whose fork moves from block to block
            backtest, paper = await _checked_backtest(backtest, mode, chain, self._market_data), True
        if paper:
            # The session acts with a throwaway wallet on a fork (on Hyperliquid: a paper
            # account): what it is allocated is minted there, not taken from the real wallet.
            if Network.parse(asset.network).is_hypercore and asset.address.upper() != "USDC":
                raise precondition(f"{asset.network} sessions start with USDC; {asset.address!r} is not an asset there")
            wallet, paper_of, balance = await self._paper_wallet(wallet, chain), wallet, int(amount)
        else:
            balance = await _starting_balance(chain, wallet, asset.address, native)

        def insert(db: Session) -> SessionRow:
            duplicate = db.scalar(
                select(SessionRow).where(
                    SessionRow.agent_id == agent_id, func.lower(SessionRow.wallet_address) == wallet.lower(), SessionRow.status.in_(ACTIVE)
                )
            )
            if duplicate is not None:
                raise precondition(f"agent {agent.name!r} already runs on wallet {wallet} in session {duplicate.id}; stop it first")
            # What the wallet's active sessions hold of the asset now (their allocations and what
            # their settled transactions moved since), not what they were allocated: a session that
            # spent part of its allocation took it out of the wallet's balance too.
            others = db.scalars(select(SessionRow).where(
                func.lower(SessionRow.wallet_address) == wallet.lower(), SessionRow.status.in_(ACTIVE))).all()
            wanted = (asset.network, address_key(asset.network, asset.address))
            held = sum(int(p.current_qty) for other in others for p in session_positions(db, other)[0]
                       if (p.network, address_key(p.network, p.asset_address)) == wanted)
            unallocated = balance - held
            if int(amount) > unallocated:
                raise precondition(
                    f"wallet {wallet} has {unallocated} unallocated of the starting asset on {asset.network}; "
                    f"the session needs {amount}. Fund the wallet or allocate less"
                )
            now = utcnow()
            session = SessionRow(
                agent_id=agent_id,
                wallet_address=wallet,
                status=SessionStatus.CREATED,
                execution_mode=mode,
                settings=dict(settings),
                allocation_network=asset.network,
                allocation_asset=asset.address,
                allocation_amount=amount,
                created_at=now,
                next_run_at=None,
                stopped_at=None,
                breakers=stored_settings(breakers or BreakerSettings()),
                egress_hosts=list(manifest.network.allow),
                environment=environment,
                # A paper session's executions record by default: they are for looking at (a
                # backtest's, thousands of runs, only when asked).
                record_executions=record_executions or (paper and backtest is None),
                paper_of_wallet=paper_of,
                backtest_from_block=backtest.from_block if backtest else None,
                backtest_to_block=backtest.to_block if backtest else None,
                backtest_every_blocks=backtest.every_blocks if backtest else None,
                backtest_by_time=backtest.by_time if backtest else False,
            )
            db.add(session)
            db.commit()
            return session

        session = await self._db.run(insert)
        await self._launch(session, chain, native, actor)
        return await self._db.run(lambda _db: self.get(session.id))

    async def _launch(self, session: SessionRow, chain: Chain, native: bool, actor: str) -> None:
        """A stored session made ready and set running: a paper session's fork, the signer's
        budget for it, then RUNNING (unless it was stopped meanwhile)."""
        if session.paper_of_wallet is not None and isinstance(chain, ForkSource):  # (on Hyperliquid: a paper account)
            await self._open_fork(session, chain, session.paper_of_wallet)
        # The signer bounds what the session may spend, by the wallet owner's policy.
        # (EVM chains so far: Solana policies cap per transaction and per rolling window.)
        if isinstance(chain, EvmChain):
            await self._open_budget(session, chain, native)

        def run(db: Session) -> bool:
            row = db.get(SessionRow, session.id)
            if row.status != SessionStatus.CREATED:
                return False  # stopped while it was being started: it stays stopped
            row.status, row.next_run_at = SessionStatus.RUNNING, utcnow()
            events.record(db, "session", SessionStatus.RUNNING, row.id, row.id, actor)
            db.commit()
            return True

        if not await self._db.run(run) and self._paper_forks is not None and session.paper:
            await self._paper_forks.stop(session.id)

    async def _held_wallet(self, wallet_address: str, agent_name: str, manifest: Manifest) -> str:
        """The signer's spelling of the wallet, one of the agent's wallet type."""
        held = await self._signer.wallets()
        # EVM addresses match in any case; Solana's base58 addresses only exactly.
        wallet = next((a for a in held if a == wallet_address or (a.startswith("0x") and a.lower() == wallet_address.lower())), None)
        if wallet is None:
            raise not_found(f"wallet {wallet_address!r} is not held by the signer; create it with `corral signer wallet create`")
        if manifest.walletType != held[wallet]:
            raise precondition(f"agent {agent_name!r} needs a {manifest.walletType} wallet; {wallet} is a {held[wallet]} wallet")
        return wallet

    async def _paper_wallet(self, real_wallet: str, chain: Chain) -> str:
        if self._paper_forks is None:
            raise precondition("paper sessions are not enabled on this orchestrator")
        if not isinstance(chain, ForkSource) and not Network.parse(chain.network).is_hypercore:
            raise precondition("paper sessions run on a fork of an EVM chain or of Solana, or on a paper Hyperliquid account; "
                               f"this agent's starting asset is on {chain.network}")
        if isinstance(chain, ForkSource):
            try:
                self._paper_forks.check_room()
            except ForkError as exc:  # asked before the signer makes a key the session could not use
                raise precondition(f"the paper fork of {chain.network} could not be started: {exc}") from None
        try:
            return await self._signer.create_paper_wallet(real_wallet)
        except grpc.aio.AioRpcError as exc:
            raise precondition(f"the signer did not make a paper wallet for {real_wallet}: {exc.details()}") from None

    async def _open_fork(self, session: SessionRow, source: Chain, real_wallet: str) -> None:
        """The paper session's fork, its wallet funded there; the session is removed when
        that fails (it never ran: nothing else refers to it)."""
        assert self._paper_forks is not None and isinstance(source, ForkSource)  # checked by `start`
        try:
            fork = await open_fork(self._paper_forks, session.id, source, real_wallet, session.wallet_address,
                                   session.allocation_asset, int(session.allocation_amount), at_block=session.backtest_from_block,
                                   gas_floor=GAS_FLOOR if session.backtest_every_blocks is not None else 0)
        except Refused:
            await self._db.run(partial(_remove, session.id))
            raise

        def place(db: Session) -> None:
            row = db.get(SessionRow, session.id)
            row.paper_fork_url, row.paper_fork_block, row.paper_fork_replica = fork.url, fork.block, self._db.replica_id
            row.paper_fee_money = str(fork.fee_money)
            db.commit()

        await self._db.run(place)
        session.paper_fork_url, session.paper_fork_block = fork.url, fork.block

    async def _open_budget(self, session: SessionRow, chain: EvmChain, native: bool) -> None:
        wallet, asset, amount = session.wallet_address, session.allocation_asset, session.allocation_amount
        try:
            await self._signer.open_session_budget(
                signer_pb2.OpenSessionBudgetRequest(
                    wallet_address=wallet, session_id=session.id, chain_id=chain.chain_id, asset="native" if native else asset.lower(), amount=amount
                )
            )
        except grpc.aio.AioRpcError as exc:
            await self._db.run(partial(_remove, session.id))
            if self._paper_forks is not None and session.paper:
                await self._paper_forks.stop(session.id)
            raise precondition(f"the signer did not open the session's budget: {exc.details()}") from None

    def stop(self, session_id: int, actor: str = "") -> SessionRow:
        with self._db.session() as db:
            session = _row(db, session_id)
            if session.status == SessionStatus.STOPPED:
                raise precondition(f"session {session_id} is already stopped")
            session.status, session.next_run_at, session.stopped_at, session.status_reason = SessionStatus.STOPPED, None, utcnow(), ""
            events.record(db, "session", SessionStatus.STOPPED, session_id, session_id, actor)
            # Session memory ends with the session, in the same commit; shared memory stays with the agent.
            memory.clear_namespace(db, memory.session_namespace(session_id))
            db.commit()
        return self.get(session_id)

    def pause(self, session_id: int, actor: str = "") -> SessionRow:
        with self._db.session() as db:
            session = _row(db, session_id)
            if session.status != SessionStatus.RUNNING:
                raise precondition(f"session {session_id} is {session.status}; only a running session can be paused")
            session.status, session.status_reason = SessionStatus.PAUSED, ""  # next_run_at is kept: resume picks up from it
            events.record(db, "session", SessionStatus.PAUSED, session_id, session_id, actor)
            db.commit()
        return self.get(session_id)

    def resume(self, session_id: int, actor: str = "") -> SessionRow:
        with self._db.session() as db:
            session = _row(db, session_id)
            if session.status != SessionStatus.PAUSED:
                raise precondition(f"session {session_id} is {session.status}; only a paused session can be resumed")
            manifest = agent_manifest(session.agent)
            session.status, session.status_reason = SessionStatus.RUNNING, ""
            session.next_run_at = resume_at(
                session.next_run_at, utcnow(), manifest.runtimeIntervalMinutes, manifest.schedule, self._minute_seconds
            )
            events.record(db, "session", SessionStatus.RUNNING, session_id, session_id, actor)
            db.commit()
        return self.get(session_id)

    def unwind(self, session_id: int, positions: list[tuple[str, str]], actor: str = "") -> SessionRow:
        """`positions`: (network, asset_address) pairs the session holds; empty = all."""
        with self._db.session() as db:
            session = _row(db, session_id)
            if session.status not in (SessionStatus.RUNNING, SessionStatus.PAUSED):
                raise precondition(f"session {session_id} is {session.status}; only a running or paused session can be unwound")
            held = {(p.network, p.asset_address.lower()) for p in session_positions(db, session)[0]}
            chosen = []
            for network, asset in positions:
                if (network, asset.lower()) not in held:
                    raise invalid(
                        f"session {session_id} holds no position {asset} on {network}; it holds "
                        + ", ".join(f"{a} on {n}" for n, a in sorted(held))
                    )
                chosen.append({"network": network, "asset_address": asset})
            session.status, session.unwind_positions, session.next_run_at = SessionStatus.UNWINDING, chosen or None, utcnow()
            events.record(db, "session", SessionStatus.UNWINDING, session_id, session_id, actor)
            db.commit()
        return self.get(session_id)

    def update(self, session_id: int, changes: SessionChanges, actor: str = "", auto_allowed: bool = True) -> SessionRow:
        """Replaces what `changes` gives, keeping memory, allocation and schedule. The runner
        reads a session's settings and mode when an execution starts (its ticket), so one
        already running keeps what it started with; breakers apply from their next check."""
        with self._db.session() as db:
            session = _row(db, session_id)
            if session.status not in UPDATABLE:
                raise precondition(f"session {session_id} is {session.status}; only a created, running or paused session can be updated")
            manifest = agent_manifest(session.agent)
            if changes.mode is not None:
                session.execution_mode = checked_mode(manifest, changes.mode)
                check_auto_allowed(session.execution_mode, auto_allowed)
            if changes.settings is not None:
                check_settings(manifest, changes.settings, field="session.settings")
                session.settings = dict(changes.settings)
            if changes.breakers is not None:
                session.breakers = stored_settings(changes.breakers)
            if changes.record_executions is not None:
                session.record_executions = changes.record_executions
            if changes.shadow_agent_id is not None:
                session.shadow_agent_id = _checked_shadow(db, session, changes.shadow_agent_id)
            if session.shadow_agent_id is not None and not session.record_executions:
                # A shadow replays the session's recordings: it needs them.
                raise invalid("a session with a shadow agent records its executions; leave record_executions on or remove the shadow",
                              field="session.record_executions")
            events.record(db, "session", "updated", session_id, session_id, actor)
            db.commit()
        return self.get(session_id)

    def get(self, session_id: int) -> SessionRow:
        with self._db.session() as db:
            session = db.scalar(select(SessionRow).options(joinedload(SessionRow.agent)).where(SessionRow.id == session_id))
        if session is None:
            raise not_found(f"session {session_id} does not exist")
        return session


def _checked_shadow(db: Session, session: SessionRow, agent_id: int) -> int | None:
    """The shadow agent to set (None for 0): a registered version of the session's agent.
    Setting one turns record_executions on (a shadow replays the recordings)."""
    if agent_id == 0:
        return None
    shadow = db.get(AgentRow, agent_id)
    if shadow is None:
        raise invalid(f"shadow_agent_id: agent {agent_id} is not registered", field="session.shadow_agent_id")
    if shadow.name != session.agent.name or shadow.wallet_type != session.agent.wallet_type:
        raise invalid(f"shadow_agent_id: agent {agent_id} is {shadow.name!r}, not a version of the session's agent {session.agent.name!r}",
                      field="session.shadow_agent_id")
    session.record_executions = True
    return agent_id


def _check_one_hyperliquid_agent(db: Session, wallet: str) -> None:
    """Hyperliquid has one account per wallet: two agents trading it would trade each
    other's positions, so a wallet runs at most one Hyperliquid agent at a time."""
    active = db.scalars(
        select(SessionRow).options(joinedload(SessionRow.agent))
        .where(func.lower(SessionRow.wallet_address) == wallet.lower(), SessionRow.status.in_(ACTIVE))
    ).all()
    for other in active:
        starting = agent_manifest(other.agent).startingAsset
        if starting is not None and Network.parse(starting.network).is_hypercore:
            raise precondition(
                f"wallet {wallet} already runs the Hyperliquid agent {other.agent.name!r} in session {other.id}; "
                "a wallet runs one Hyperliquid agent at a time: stop that session first"
            )


def _row(db, session_id: int) -> SessionRow:
    session = db.scalar(select(SessionRow).options(joinedload(SessionRow.agent)).where(SessionRow.id == session_id))
    if session is None:
        raise not_found(f"session {session_id} does not exist")
    return session
