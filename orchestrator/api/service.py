"""OrchestratorService: the frontend API. Converts between the wire and the domain
modules; every refusal becomes a gRPC status with a message that says what to fix."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import select

from corral.v1 import common_pb2, orchestrator_pb2, orchestrator_pb2_grpc
from orchestrator.actions.backtests import BacktestRange
from orchestrator.actions.breakers import BreakerSettings, settings_from_request, settings_message
from orchestrator.actions.positions import session_positions
from orchestrator.actions.signer_client import SignerClient
from orchestrator.actions.suggestions import Suggestions
from orchestrator.actions.venues.market_data import MarketData
from orchestrator.agents.registry import agent_manifest, register_agent
from orchestrator.api import execution_logs, export, notifications, resources
from orchestrator.api.access import Access, caller, visible_wallets
from orchestrator.api.catalogue import catalogue_fields
from orchestrator.api.idempotency import RequestIds, idempotent
from orchestrator.api.session_update import requested_changes
from orchestrator.api.watch import check_watch_request, heartbeat_message
from orchestrator.chains import Chain, SimulationFailed
from orchestrator.egress import secret_store
from orchestrator.egress.secrets import SecretBox, SecretError, SecretsKeyError
from orchestrator.errors import Refused, as_grpc_status, invalid, not_found, precondition
from orchestrator.executions import memory, recording
from orchestrator.executions.progress import SDK_METHODS
from orchestrator.sessions import position_history
from orchestrator.sessions.backtest_report import backtest_report
from orchestrator.sessions.kill_switch import Halt, KillSwitch, stored_halt
from orchestrator.sessions.lifecycle import Sessions
from orchestrator.sessions.prices import PriceBook
from orchestrator.sessions.summary import session_summary
from orchestrator.store import (
    AgentRow,
    Database,
    DriftRow,
    EgressConnectionRow,
    EventRow,
    ExecutionLogRow,
    ExecutionRow,
    SessionRow,
    ShadowRunRow,
    SuggestionRow,
    TransactionRow,
    events,
    pages,
    principals,
)
from orchestrator.store.audit_heads import newest_head
from orchestrator.store.principals import Principal, Role
from orchestrator.store.statuses import (
    ActionKind,
    EgressOutcome,
    ExecutionMode,
    ExecutionStatus,
    SessionStatus,
    ShadowOutcome,
    SuggestionStatus,
    TransactionStatus,
)
from sandbox_runner.host.backend import SandboxBackend

# The wire's enums by the store's names: a state missing on either side fails here, at import.
MODES = {mode: common_pb2.ExecutionMode.Value(f"EXECUTION_MODE_{mode.name}") for mode in ExecutionMode}
MODE_NAMES = {v: k for k, v in MODES.items()}
SESSION_STATUS = {status: orchestrator_pb2.SessionStatus.Value(f"SESSION_STATUS_{status.name}") for status in SessionStatus}
EXECUTION_STATUS = {status: orchestrator_pb2.ExecutionStatus.Value(f"EXECUTION_STATUS_{status.name}") for status in ExecutionStatus}
TX_STATUS = {status: orchestrator_pb2.TransactionStatus.Value(f"TRANSACTION_STATUS_{status.name}") for status in TransactionStatus}
SUGGESTION_KIND = {kind: orchestrator_pb2.SuggestionKind.Value(f"SUGGESTION_KIND_{kind.name}") for kind in ActionKind}
SUGGESTION_STATUS = {status: orchestrator_pb2.SuggestionStatus.Value(f"SUGGESTION_STATUS_{status.name}") for status in SuggestionStatus}
EGRESS_OUTCOMES = {outcome: orchestrator_pb2.EgressOutcome.Value(f"EGRESS_OUTCOME_{outcome.name}") for outcome in EgressOutcome}
COMMANDS = {"run": common_pb2.EXECUTION_COMMAND_RUN, "unwind": common_pb2.EXECUTION_COMMAND_UNWIND}

log = logging.getLogger("corral.api")
T = TypeVar("T")
M = TypeVar("M", bound=Message)


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.replace(tzinfo=UTC))
    return ts


def agent_message(row: AgentRow) -> orchestrator_pb2.Agent:
    manifest = agent_manifest(row)
    return orchestrator_pb2.Agent(
        id=row.id,
        name=row.name,
        version=row.version,
        image=row.image,
        image_id=row.image_id,
        wallet_type=row.wallet_type,
        allowed_execution_modes=[MODES[m] for m in manifest.allowedExecutionModes],
        runtime_interval_minutes=manifest.runtimeIntervalMinutes,
        manifest_toml=row.manifest_toml,
        registered_at=timestamp(row.registered_at),
        egress_hosts=manifest.network.allow,
        **catalogue_fields(row, manifest),
    )


SHADOW_OUTCOMES = {outcome: orchestrator_pb2.ShadowOutcome.Value(f"SHADOW_OUTCOME_{outcome.name}") for outcome in ShadowOutcome}


def shadow_run_message(row: ShadowRunRow) -> orchestrator_pb2.ShadowRun:
    message = orchestrator_pb2.ShadowRun(
        id=row.id, session_id=row.session_id, execution_id=row.execution_id, agent_id=row.agent_id, outcome=SHADOW_OUTCOMES[row.outcome],
        difference=row.difference, missing_reads=row.missing_reads, recorded_actions=row.recorded_actions,
        replayed_actions=row.replayed_actions, error=row.error)
    message.finished_at.CopyFrom(timestamp(row.finished_at))
    return message


def _backtest_range(request: orchestrator_pb2.StartSessionRequest) -> BacktestRange | None:
    if not request.HasField("backtest"):
        return None
    asked = request.backtest
    if asked.HasField("from_time") or asked.HasField("to_time") or asked.every_seconds:
        if asked.from_block or asked.to_block or asked.every_blocks:
            raise invalid("a backtest runs at blocks (from_block, to_block, every_blocks: an EVM agent) or at times (from_time, "
                          "to_time, every_seconds: a hypercore:* agent), not both", field="backtest")
        return BacktestRange(asked.from_time.seconds, asked.to_time.seconds, asked.every_seconds, by_time=True)
    return BacktestRange(asked.from_block, asked.to_block, asked.every_blocks)


def session_message(row: SessionRow) -> orchestrator_pb2.Session:
    message = orchestrator_pb2.Session(
        id=row.id,
        agent_id=row.agent_id,
        wallet_address=row.wallet_address,
        status=SESSION_STATUS[row.status],
        execution_mode=MODES[row.execution_mode],
        settings={k: str(v) for k, v in row.settings.items()},
        allocation=common_pb2.Position(
            network=row.allocation_network, asset_address=row.allocation_asset, avg_unit_cost="0", current_qty=row.allocation_amount
        ),
        created_at=timestamp(row.created_at),
        breakers=settings_message(row.breakers),
        status_reason=row.status_reason,
        egress_hosts=row.egress_hosts,
        environment=row.environment,
        record_executions=row.record_executions,
    )
    if row.paper_of_wallet is not None:
        message.paper_of_wallet_address = row.paper_of_wallet
        message.paper_fork_block = row.paper_fork_block or 0
    if row.shadow_agent_id is not None:
        message.shadow_agent_id = row.shadow_agent_id
    if row.backtest_every_blocks is not None and row.backtest_by_time:
        message.backtest.every_seconds = row.backtest_every_blocks
        message.backtest.from_time.FromSeconds(row.backtest_from_block or 0)
        message.backtest.to_time.FromSeconds(row.backtest_to_block or 0)
    elif row.backtest_every_blocks is not None:
        message.backtest.CopyFrom(orchestrator_pb2.Backtest(from_block=row.backtest_from_block, to_block=row.backtest_to_block,
                                                            every_blocks=row.backtest_every_blocks))
    if row.next_run_at is not None:
        message.next_run_at.CopyFrom(timestamp(row.next_run_at))
    if row.stopped_at is not None:
        message.stopped_at.CopyFrom(timestamp(row.stopped_at))
    for position in row.unwind_positions or []:
        message.unwind_positions.add(network=position["network"], asset_address=position["asset_address"])
    return message


def log_message(row: ExecutionLogRow) -> orchestrator_pb2.ExecutionLog:
    return orchestrator_pb2.ExecutionLog(level=row.level, message=row.message, logged_at=timestamp(row.logged_at))


def egress_message(row: EgressConnectionRow) -> orchestrator_pb2.EgressConnection:
    return orchestrator_pb2.EgressConnection(
        method=row.method, host=row.host, port=row.port, address=row.address, bytes_out=row.bytes_out, bytes_in=row.bytes_in,
        duration_ms=row.duration_ms, outcome=EGRESS_OUTCOMES[EgressOutcome(row.outcome)], reason=row.reason,
    )


def execution_message(row: ExecutionRow, full: bool = False, log_tail: tuple[list[ExecutionLogRow], int] = ([], 0),
                      traceback: bool = True) -> orchestrator_pb2.Execution:
    """An execution; `full` adds its egress connections and `log_tail` (its last lines, and how
    many it kept in all: the rest is counted in log_lines_not_shown)."""
    lines, kept = log_tail
    message = orchestrator_pb2.Execution(
        id=row.id,
        session_id=row.session_id,
        command=COMMANDS[row.command],
        status=EXECUTION_STATUS[row.status],
        error=row.error,
        started_at=timestamp(row.started_at),
        logs=[log_message(line) for line in lines],
        log_lines_not_shown=kept - len(lines),
        traceback=row.traceback if traceback or full else "",
        log_lines_dropped=row.log_lines_dropped,
        output_dropped_bytes=row.output_dropped_bytes,
        egress_connections=[egress_message(connection) for connection in row.egress_connections] if full else [],
    )
    if row.finished_at is not None:
        message.finished_at.CopyFrom(timestamp(row.finished_at))
    if row.last_sdk_call and row.last_sdk_call_at is not None:
        message.last_sdk_call.CopyFrom(orchestrator_pb2.SdkCall(
            method=row.last_sdk_call, sdk_method=SDK_METHODS.get(row.last_sdk_call, ""), called_at=timestamp(row.last_sdk_call_at),
        ))
    return message


# A transaction's block-explorer link from its network and hash (None: no explorer configured).
ExplorerLinks = Callable[[str, str], str | None]


def no_explorer(network: str, tx_hash: str) -> str | None:
    return None


def explorer_links(chains: dict[str, Chain]) -> ExplorerLinks:
    """Links by the configured networks' explorer_tx_url templates."""
    def link(network: str, tx_hash: str) -> str | None:
        chain = chains.get(network)
        return chain.transaction_url(tx_hash) if chain is not None and tx_hash else None
    return link


def transaction_message(row: TransactionRow, explorer: ExplorerLinks = no_explorer) -> orchestrator_pb2.Transaction:
    message = orchestrator_pb2.Transaction(
        id=row.id,
        session_id=row.session_id,
        execution_id=row.execution_id or 0,
        network=row.network,
        from_address=row.from_address,
        to_address=row.to_address,
        value=row.value,
        tx_hash=row.tx_hash,
        status=TX_STATUS[row.status],
        error=row.error,
        created_at=timestamp(row.created_at),
    )
    if row.block_number is not None:
        message.block_number = row.block_number
    if not row.paper and (url := explorer(row.network, row.tx_hash)) is not None:
        message.explorer_url = url
    return message


def suggestion_message(row: SuggestionRow) -> orchestrator_pb2.Suggestion:
    message = orchestrator_pb2.Suggestion(
        id=row.id,
        session_id=row.session_id,
        execution_id=row.execution_id or 0,
        kind=SUGGESTION_KIND[row.kind],
        status=SUGGESTION_STATUS[row.status],
        error=row.error,
        created_at=timestamp(row.created_at),
    )
    message.details.update(row.details)
    message.result.update(row.result)
    if row.expires_at is not None:
        message.expires_at.CopyFrom(timestamp(row.expires_at))
    if row.decided_at is not None:
        message.decided_at.CopyFrom(timestamp(row.decided_at))
    return message


EVENT_KIND = {
    "session": orchestrator_pb2.EVENT_KIND_SESSION, "execution": orchestrator_pb2.EVENT_KIND_EXECUTION,
    "log": orchestrator_pb2.EVENT_KIND_LOG, "suggestion": orchestrator_pb2.EVENT_KIND_SUGGESTION,
    "transaction": orchestrator_pb2.EVENT_KIND_TRANSACTION, "drift": orchestrator_pb2.EVENT_KIND_DRIFT,
    "platform": orchestrator_pb2.EVENT_KIND_PLATFORM,
}


def platform_status(halt: Halt | None, audit_head: str = "") -> orchestrator_pb2.PlatformStatus:
    if halt is None:
        return orchestrator_pb2.PlatformStatus(halted=False, signer_audit_head=audit_head)
    return orchestrator_pb2.PlatformStatus(halted=True, reason=halt.reason, halted_at=timestamp(halt.at), signer_audit_head=audit_head)


def event_message(db, row: EventRow, explorer: ExplorerLinks = no_explorer) -> orchestrator_pb2.Event:
    message = orchestrator_pb2.Event(
        id=row.id, kind=EVENT_KIND[row.kind], change=row.change, session_id=row.session_id or 0, occurred_at=timestamp(row.occurred_at),
        actor=row.actor,
    )
    if row.kind == "session":
        message.session.CopyFrom(session_message(db.get(SessionRow, row.ref_id)))
    elif row.kind == "execution":
        message.execution.CopyFrom(execution_message(db.get(ExecutionRow, row.ref_id)))
    elif row.kind == "log":
        # The line may be gone ([retention] execution_logs_days shorter than events_days).
        if (line := db.get(ExecutionLogRow, row.ref_id)) is not None:
            message.log.CopyFrom(orchestrator_pb2.LogEvent(execution_id=line.execution_id, line=log_message(line)))
    elif row.kind == "suggestion":
        message.suggestion.CopyFrom(suggestion_message(db.get(SuggestionRow, row.ref_id)))
    elif row.kind == "transaction":
        message.transaction.CopyFrom(transaction_message(db.get(TransactionRow, row.ref_id), explorer))
    elif row.kind == "drift":
        drift = db.get(DriftRow, row.ref_id)
        message.drift.CopyFrom(orchestrator_pb2.Drift(
            id=drift.id, wallet_address=drift.wallet_address, network=drift.network, asset_address=drift.asset_address,
            expected=drift.expected, on_chain=drift.on_chain, paused_sessions=drift.paused_sessions,
            detected_at=timestamp(drift.detected_at),
        ))
    elif row.kind == "platform":
        message.platform.CopyFrom(platform_status(stored_halt(db)))
    return message


class SeenEvents:
    """What one WatchEvents stream shows its principal: the platform's events, and those of
    sessions on its wallets (each session's wallet read once). A user's heartbeats say where
    the stream stands as the id of the last event it was sent, not the feed's own position
    (which would show how busy other users' sessions are). A user's stream sends nothing
    once its key is revoked (looked up before a message, at most every REVOKED_CHECK_SECONDS)."""

    REVOKED_CHECK_SECONDS = 1.0

    def __init__(self, principal: Principal, start: int, explorer: ExplorerLinks = no_explorer) -> None:
        self.principal = principal
        self._explorer = explorer
        self._mine: dict[int, bool] = {}
        self._checked_at = time.monotonic()
        self._last_sent = start

    def message(self, db, row: EventRow) -> orchestrator_pb2.Event | None:
        if self.principal.wallets is not None and row.session_id is not None:
            if row.session_id not in self._mine:
                self._mine[row.session_id] = self.principal.owns(db.get(SessionRow, row.session_id).owner_wallet)
            if not self._mine[row.session_id]:
                return None
        self._last_sent = row.id
        return event_message(db, row, self._explorer)

    def position(self, position: events.Position) -> events.Position:
        if self.principal.wallets is None:
            return position
        return dataclasses.replace(position, after=self._last_sent)

    async def revoked(self, db: Database) -> bool:
        if self.principal.wallets is None or time.monotonic() - self._checked_at < self.REVOKED_CHECK_SECONDS:
            return False
        self._checked_at = time.monotonic()
        return await db.run(lambda s: not principals.is_active(s, self.principal.name))


def _execution_logs_page(db, execution_id: int, cursor: execution_logs.Cursor, size: int) -> orchestrator_pb2.GetExecutionLogsResponse:
    """One page of an execution's log lines and output (on a database thread)."""
    row = db.get(ExecutionRow, execution_id)
    if row is None:
        raise not_found(resources.MISSING["execution"].format(execution_id))
    lines = db.scalars(
        select(ExecutionLogRow)
        .where(ExecutionLogRow.execution_id == row.id, ExecutionLogRow.id > cursor.after_log_id)
        .order_by(ExecutionLogRow.id)
        .limit(size + 1)  # one more than asked: is there another page?
    ).all()
    more_logs, lines = len(lines) > size, lines[:size]
    output, output_end = execution_logs.output_part(row.output, cursor)
    next_token = execution_logs.next_token(cursor, lines[-1].id if lines else None, more_logs, output_end, len(row.output))
    return orchestrator_pb2.GetExecutionLogsResponse(
        execution=execution_message(row), logs=[log_message(line) for line in lines],
        output=output, next_page_token=next_token,
    )


EXPORT_RENDERERS = export.Renderers(
    session=session_message, execution=execution_message,  # without log lines: the export writes them after it
    transaction=transaction_message, suggestion=suggestion_message,
)


def position_sample(sample: position_history.Sample) -> orchestrator_pb2.PositionSample:
    message = orchestrator_pb2.PositionSample(network=sample.network, asset_address=sample.asset_address, amount=str(sample.amount),
                                              transaction_id=sample.transaction_id)
    if sample.at is not None:
        message.at.CopyFrom(timestamp(sample.at))
    return message


def secret_message(info: secret_store.SecretInfo) -> orchestrator_pb2.SessionSecret:
    return orchestrator_pb2.SessionSecret(name=info.name, host=info.host, set_at=timestamp(info.set_at))


class OrchestratorApi(orchestrator_pb2_grpc.OrchestratorServiceServicer):
    def __init__(
        self, db: Database, backend: SandboxBackend, sessions: Sessions, suggestions: Suggestions, signer: SignerClient,
        chains: dict[str, Chain], kill_switch: KillSwitch, secrets_key_file: Path | None = None, feed: events.EventFeed | None = None,
        prices: PriceBook | None = None, market_data: MarketData | None = None,
    ) -> None:
        self._market_data = market_data
        # The owner's USD price sources ([[prices]]); none: summaries show no USD.
        self._prices = prices or PriceBook([])
        # The process's one reader of the events table (app/server.py runs it); made here
        # on the first WatchEvents when none was given.
        self._feed = feed
        self._feed_task: asyncio.Task | None = None
        self._kill_switch = kill_switch
        self._secrets_key_file = secrets_key_file
        self._db = db
        self._backend = backend
        self._sessions = sessions
        self._suggestions = suggestions
        self._signer = signer
        self._chains = chains
        self._explorer = explorer_links(chains)
        self.request_ids = RequestIds(db)  # the @idempotent methods' request_id answers
        self.access = Access(db)  # what a call names is on its caller's wallets (the boundary checks)
        self._closing = asyncio.Event()  # set at shutdown: open streams end UNAVAILABLE

    @as_grpc_status
    @idempotent
    async def RegisterAgent(self, request, context):
        row = await asyncio.to_thread(register_agent, self._db, self._backend, request.image)
        return orchestrator_pb2.RegisterAgentResponse(agent=agent_message(row))

    async def _off_loop(self, work: Callable[[], T]) -> T:
        """Runs `work`, which opens its own database sessions (the domain modules' sync calls),
        on the database's threads: the loop serves every sandbox's SDK calls meanwhile."""
        return await self._db.run(lambda _unused: work())

    async def _page(self, read: Callable[[Any], pages.Page], message: Callable[[Any], M]) -> tuple[list[M], str]:
        """One page read on a database thread (`read`), as messages that fit a reply, and the next page's token."""
        page = await self._db.run(read)
        return page.reply([message(row) for row in page.rows])

    async def _require_session(self, session_id: int) -> SessionRow:
        """The session (NOT_FOUND for an unknown one), read off the loop."""
        return await self._off_loop(lambda: self._sessions.get(session_id))

    @as_grpc_status
    async def ListAgents(self, request, context):
        agents, next_token = await self._page(lambda db: resources.agents(db, request), agent_message)
        return orchestrator_pb2.ListAgentsResponse(agents=agents, next_page_token=next_token)

    @as_grpc_status
    async def GetAgent(self, request, context):
        return orchestrator_pb2.GetAgentResponse(agent=agent_message(await self._db.run(lambda db: resources.agent(db, request.agent_id))))

    @as_grpc_status
    async def ListWallets(self, request, context):
        try:
            held = await self._signer.wallets()
        except grpc.aio.AioRpcError as exc:
            raise Refused(grpc.StatusCode.UNAVAILABLE, f"the signer did not answer: {exc.details()}") from None
        wallets = []
        principal = caller()
        for address, wallet_type in held.items():
            if not principal.owns(address):
                continue
            balances = []
            for network, chain in sorted(self._chains.items()):
                if chain.wallet_type == wallet_type:
                    try:
                        amount = await chain.balance(address)
                    except SimulationFailed as exc:  # a venue account that cannot be read now
                        log.warning("could not read %s on %s: %s", address, network, exc)
                        continue
                    balances.append(orchestrator_pb2.Balance(network=network, asset_address=chain.native_asset, amount=str(amount)))
            wallets.append(orchestrator_pb2.Wallet(address=address, wallet_type=wallet_type, balances=balances))
        return orchestrator_pb2.ListWalletsResponse(wallets=wallets)

    @as_grpc_status
    @idempotent
    async def StartSession(self, request, context):
        mode = None
        if request.execution_mode != common_pb2.EXECUTION_MODE_UNSPECIFIED:
            mode = MODE_NAMES[request.execution_mode]
        allocation = request.allocation_amount if request.HasField("allocation_amount") else None
        breakers = settings_from_request(request.breakers)
        row = await self._sessions.start(request.agent_id, request.wallet_address, mode, dict(request.settings), allocation, breakers,
                                         environment=dict(request.environment), actor=caller().name,
                                         auto_allowed=caller().may(Role.APPROVER), record_executions=request.record_executions, paper=request.paper,
                                         backtest=_backtest_range(request))
        return orchestrator_pb2.StartSessionResponse(session=session_message(row))

    @as_grpc_status
    @idempotent
    async def PromoteSession(self, request, context):
        paper = await self._off_loop(lambda: self._sessions.get(request.session_id))
        if not paper.paper:
            raise precondition(f"session {request.session_id} is not a paper session; only a paper session is promoted")
        allocation = request.allocation_amount if request.HasField("allocation_amount") else paper.allocation_amount
        row = await self._sessions.start(paper.agent_id, paper.owner_wallet, paper.execution_mode, dict(paper.settings), allocation,
                                         BreakerSettings.model_validate(paper.breakers or {}), environment=dict(paper.environment),
                                         actor=caller().name, auto_allowed=caller().may(Role.APPROVER),
                                         record_executions=False)
        return orchestrator_pb2.PromoteSessionResponse(session=session_message(row))

    @as_grpc_status
    @idempotent
    async def StopSession(self, request, context):
        by = caller().name
        return orchestrator_pb2.StopSessionResponse(session=session_message(await self._off_loop(lambda: self._sessions.stop(request.session_id, by))))

    @as_grpc_status
    @idempotent
    async def PauseSession(self, request, context):
        by = caller().name
        return orchestrator_pb2.PauseSessionResponse(session=session_message(await self._off_loop(lambda: self._sessions.pause(request.session_id, by))))

    @as_grpc_status
    @idempotent
    async def ResumeSession(self, request, context):
        by = caller().name
        row = await self._off_loop(lambda: self._sessions.resume(request.session_id, by))
        return orchestrator_pb2.ResumeSessionResponse(session=session_message(row))

    @as_grpc_status
    @idempotent
    async def UnwindSession(self, request, context):
        positions = [(p.network, p.asset_address) for p in request.positions]
        by = caller().name
        row = await self._off_loop(lambda: self._sessions.unwind(request.session_id, positions, by))
        return orchestrator_pb2.UnwindSessionResponse(session=session_message(row))

    @as_grpc_status
    @idempotent
    async def UpdateSession(self, request, context):
        changes = requested_changes(request, MODE_NAMES)
        by, auto_allowed = caller().name, caller().may(Role.APPROVER)
        row = await self._off_loop(lambda: self._sessions.update(request.session.id, changes, by, auto_allowed))
        return orchestrator_pb2.UpdateSessionResponse(session=session_message(row))

    @as_grpc_status
    async def GetSession(self, request, context):
        session = await self._off_loop(lambda: self._sessions.get(request.session_id))
        return orchestrator_pb2.GetSessionResponse(session=(await self._with_positions([session]))[0])

    @as_grpc_status
    async def ListSessions(self, request, context):
        wallets = visible_wallets()
        page = await self._db.run(lambda db: resources.sessions(db, request, wallets))
        full = resources.is_full(request.view)
        sessions, next_token = page.reply(await self._with_positions(page.rows, full))
        return orchestrator_pb2.ListSessionsResponse(sessions=sessions, next_page_token=next_token)

    async def _with_positions(self, rows: list[SessionRow], full: bool = True) -> list[orchestrator_pb2.Session]:
        """The sessions' messages with their positions, read in one database session off the loop.
        Not `full`: without settings and environment, which may be large (stored before they were bounded)."""
        held = await self._db.run(lambda db: [session_positions(db, row) for row in rows])
        messages = []
        for row, (positions, pending) in zip(rows, held, strict=True):
            message = session_message(row)
            if not full:
                message.ClearField("settings")
                message.ClearField("environment")
            message.positions.extend(positions)
            message.has_pending_transactions = pending
            messages.append(message)
        return messages

    @as_grpc_status
    async def ListExecutions(self, request, context):
        await self._require_session(request.session_id)
        full = resources.is_full(request.view)

        def read(db):
            page = resources.executions(db, request)
            lines = resources.log_lines(db, [row.id for row in page.rows], resources.LOG_TAIL if full else 0)
            return page.reply([execution_message(row, full, lines[row.id], traceback=False) for row in page.rows])

        executions, next_token = await self._db.run(read)
        return orchestrator_pb2.ListExecutionsResponse(executions=executions, next_page_token=next_token)

    @as_grpc_status
    async def GetExecution(self, request, context):
        def read(db):
            row = resources.execution(db, request.execution_id)
            return execution_message(row, True, resources.log_lines(db, [row.id], resources.LOG_TAIL)[row.id])

        return orchestrator_pb2.GetExecutionResponse(execution=await self._db.run(read))

    @as_grpc_status
    async def GetExecutionLogs(self, request, context):
        cursor = execution_logs.parse_token(request.page_token, request.execution_id)
        size = execution_logs.page_size(request.page_size)
        return await self._db.run(lambda db: _execution_logs_page(db, request.execution_id, cursor, size))

    @as_grpc_status
    async def ListTransactions(self, request, context):
        await self._require_session(request.session_id)
        transactions, next_token = await self._page(lambda db: resources.transactions(db, request),
                                                    functools.partial(transaction_message, explorer=self._explorer))
        return orchestrator_pb2.ListTransactionsResponse(transactions=transactions, next_page_token=next_token)

    @as_grpc_status
    async def GetTransaction(self, request, context):
        row = await self._db.run(lambda db: resources.transaction(db, request.transaction_id))
        return orchestrator_pb2.GetTransactionResponse(transaction=transaction_message(row, self._explorer))

    @as_grpc_status
    async def ListSuggestions(self, request, context):
        await self._require_session(request.session_id)
        await self._off_loop(lambda: self._suggestions.expire_due(request.session_id))
        suggestions, next_token = await self._page(lambda db: resources.suggestions(db, request), suggestion_message)
        return orchestrator_pb2.ListSuggestionsResponse(suggestions=suggestions, next_page_token=next_token)

    @as_grpc_status
    async def GetSuggestion(self, request, context):
        row = await self._db.run(lambda db: resources.suggestion(db, request.suggestion_id))
        await self._off_loop(lambda: self._suggestions.expire_due(row.session_id))  # shown as it is: expired once its time passed
        row = await self._db.run(lambda db: resources.suggestion(db, request.suggestion_id))
        return orchestrator_pb2.GetSuggestionResponse(suggestion=suggestion_message(row))

    @as_grpc_status
    @idempotent
    async def ApproveSuggestion(self, request, context):
        row = await self._suggestions.approve(request.suggestion_id, caller().name)  # approving: the outcome comes as an event
        return orchestrator_pb2.ApproveSuggestionResponse(suggestion=suggestion_message(row))

    @as_grpc_status
    @idempotent
    async def RejectSuggestion(self, request, context):
        by = caller().name
        row = await self._off_loop(lambda: self._suggestions.reject(request.suggestion_id, by))
        return orchestrator_pb2.RejectSuggestionResponse(suggestion=suggestion_message(row))

    @as_grpc_status
    async def ListSessionMemory(self, request, context):
        session = await self._require_session(request.session_id)
        principal = caller()  # here, on the call's task: a database thread sees no CALLER
        if request.shared and not await self._db.run(lambda db: resources.owns_every_session_of(db, principal, session.agent_id)):
            raise Refused(grpc.StatusCode.PERMISSION_DENIED, (
                f"agent {session.agent_id}'s shared memory is shared by its sessions on wallets you do not own; "
                "only a caller owning all of them may read it"))
        namespace = memory.shared_namespace(session.agent_id) if request.shared else memory.session_namespace(session.id)
        entries, next_token = await self._page(
            lambda db: resources.memory(db, namespace, request),
            lambda r: orchestrator_pb2.MemoryEntry(key=r.key, value=r.value, updated_at=timestamp(r.updated_at)))
        return orchestrator_pb2.ListSessionMemoryResponse(entries=entries, next_page_token=next_token)

    @as_grpc_status
    async def SetSessionSecret(self, request, context):
        try:
            box = SecretBox.from_file(self._secrets_key_file)
        except SecretsKeyError as exc:
            raise Refused(grpc.StatusCode.FAILED_PRECONDITION, str(exc)) from None
        # Keyed by the installation's key: the stored hash must not let a leaked database test guesses of the value.
        return await self.request_ids.once("SetSessionSecret", request, lambda: self._set_secret(box, request), fingerprint=box.fingerprint)

    async def _set_secret(self, box: SecretBox, request) -> orchestrator_pb2.SetSessionSecretResponse:
        session = await self._require_session(request.session_id)
        try:
            info = await self._db.run(lambda db: secret_store.set_secret(db, box, session, request.name, request.host, request.value))
        except SecretError as exc:
            raise invalid(str(exc)) from None
        log.info("secret %s of session %s set for %s", info.name, request.session_id, info.host)
        return orchestrator_pb2.SetSessionSecretResponse(secret=secret_message(info))

    @as_grpc_status
    async def ListSessionSecrets(self, request, context):
        await self._require_session(request.session_id)
        infos, page = await self._db.run(lambda db: resources.secrets(db, request))
        secrets, next_token = page.reply([secret_message(i) for i in infos])
        return orchestrator_pb2.ListSessionSecretsResponse(secrets=secrets, next_page_token=next_token)

    @as_grpc_status
    @idempotent
    async def DeleteSessionSecret(self, request, context):
        await self._require_session(request.session_id)
        if not await self._db.run(lambda db: secret_store.delete_secret(db, request.session_id, request.name)):
            raise not_found(f"session {request.session_id} has no secret {request.name[:64]!r}; "
                                f"`corral secret list {request.session_id}` shows its secrets")
        log.info("secret %s of session %s deleted", request.name[:64], request.session_id)
        return orchestrator_pb2.DeleteSessionSecretResponse()

    async def WatchEvents(self, request, context):
        # A stream: refusals are raised before the first event, so as_grpc_status does not apply.
        session_id = request.session_id if request.HasField("session_id") else None
        after = request.after_event_id if request.HasField("after_event_id") else None
        try:
            if session_id is not None:
                await self._require_session(session_id)
            head = await self._db.run(events.head_id) if after else 0
            check_watch_request(after, request.heartbeat_seconds, head)
        except Refused as refused:
            await context.abort(refused.code, refused.message)
        feed = self._event_feed()
        seen = SeenEvents(caller(), after if after is not None else feed.high, self._explorer)
        async for item in self._until_closing(feed.watch(session_id, after, request.heartbeat_seconds or None)):
            if isinstance(item, events.Position):
                message = heartbeat_message(seen.position(item))
            else:
                message = await self._db.run(functools.partial(seen.message, row=item))
            if message is None:
                continue
            if await seen.revoked(self._db):
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, f"{seen.principal.name}'s API key was revoked")
            yield message

    async def _until_closing(self, items: AsyncIterator[T]) -> AsyncIterator[T]:
        """`items`, until the orchestrator shuts down: then UNAVAILABLE, which tells a client
        to reconnect (to another replica, or this one once back) and resume after its last id."""
        closing = asyncio.ensure_future(self._closing.wait())
        iterator = aiter(items)
        try:
            while True:
                following = asyncio.ensure_future(anext(iterator))
                await asyncio.wait((following, closing), return_when=asyncio.FIRST_COMPLETED)
                if not following.done():
                    following.cancel()
                    await asyncio.gather(following, return_exceptions=True)
                    raise Refused(grpc.StatusCode.UNAVAILABLE, "the orchestrator is shutting down; reconnect and resume "
                                                               "with after_event_id set to the last event id you received")
                try:
                    yield following.result()
                except StopAsyncIteration:
                    return
        finally:
            closing.cancel()
            await iterator.aclose()  # the feed forgets the stream

    def close_streams(self) -> None:
        """At shutdown: every open event stream ends UNAVAILABLE (see `_until_closing`)."""
        self._closing.set()

    def _event_feed(self) -> events.EventFeed:
        if self._feed is None:
            self._feed = events.EventFeed(self._db)
            # A context of its own: not the first watcher's (its caller, say).
            self._feed_task = asyncio.create_task(self._feed.run_forever(), name="event feed", context=contextvars.Context())
        return self._feed

    async def ExportSession(self, request, context):
        # A stream, like WatchEvents: an unknown session is refused before the first chunk.
        try:
            await self._require_session(request.session_id)
        except Refused as refused:
            await context.abort(refused.code, refused.message)
        async for data in export.chunked(export.export_lines(self._db, request.session_id, EXPORT_RENDERERS)):
            yield orchestrator_pb2.ExportSessionResponse(data=data)

    @as_grpc_status
    async def GetSessionSummary(self, request, context):
        session = await self._require_session(request.session_id)
        return orchestrator_pb2.GetSessionSummaryResponse(summary=await session_summary(self._db, self._chains, self._prices, session))

    @as_grpc_status
    async def GetExecutionRecording(self, request, context):
        principal = caller()  # here, on the call's task: a database thread sees no CALLER

        def read(db) -> orchestrator_pb2.ExecutionRecording:
            execution = resources.execution(db, request.execution_id)
            try:
                found = recording.load(db, request.execution_id)
            except ValueError as damaged:
                raise Refused(grpc.StatusCode.DATA_LOSS, str(damaged)) from None
            session = db.get_one(SessionRow, execution.session_id)
            if found is None:
                why = ("it has not ended yet" if execution.finished_at is None
                       else "its session does not record its executions (StartSession or UpdateSession record_executions)"
                       if not session.record_executions
                       else "it ran before recording was turned on, ended before its sandbox ran, or is past [retention] recordings_days")
                raise not_found(f"execution {request.execution_id} has no recording: {why}")
            if not resources.owns_every_session_of(db, principal, session.agent_id):
                recording.withhold_shared_memory(found)
                recording.withhold_exchanges(found)
            found.egress_connections.extend(egress_message(connection) for connection in execution.egress_connections)
            return found
        return orchestrator_pb2.GetExecutionRecordingResponse(recording=await self._db.run(read))

    @as_grpc_status
    async def ListMarketData(self, request, context):
        series = await self._market_data.series(request.venue) if self._market_data is not None else []
        response = orchestrator_pb2.ListMarketDataResponse()
        for held in series:
            message = response.series.add(venue=held.venue, series=held.series, samples=held.samples)
            message.first_at.CopyFrom(timestamp(held.first_at))
            message.last_at.CopyFrom(timestamp(held.last_at))
        return response

    @as_grpc_status
    async def GetBacktestReport(self, request, context):
        await self._require_session(request.session_id)
        report = await self._db.run(lambda db: backtest_report(db, db.get(SessionRow, request.session_id)))
        return orchestrator_pb2.GetBacktestReportResponse(report=report)

    @as_grpc_status
    async def ListShadowRuns(self, request, context):
        await self._require_session(request.session_id)
        runs, next_token = await self._page(lambda db: resources.shadow_runs(db, request), shadow_run_message)
        return orchestrator_pb2.ListShadowRunsResponse(shadow_runs=runs, next_page_token=next_token)

    @as_grpc_status
    async def GetPositionHistory(self, request, context):
        limit = position_history.transactions_asked(request.max_transactions)
        await self._require_session(request.session_id)
        history = await self._db.run(lambda db: position_history.position_history(db, db.get(SessionRow, request.session_id), limit))
        return orchestrator_pb2.GetPositionHistoryResponse(
            start=[position_sample(sample) for sample in history.start], samples=[position_sample(sample) for sample in history.samples],
            complete=history.complete)

    @as_grpc_status
    @idempotent
    async def HaltPlatform(self, request, context):
        outcome = await self._kill_switch.halt(request.reason, caller().name)
        return orchestrator_pb2.HaltPlatformResponse(
            status=platform_status(outcome.halt), sandboxes_stopped=outcome.sandboxes_stopped,
            signer_halted=not outcome.signer_error, signer_error=outcome.signer_error,
        )

    @as_grpc_status
    @idempotent
    async def ResumePlatform(self, request, context):
        outcome = await self._kill_switch.resume(caller().name)
        return orchestrator_pb2.ResumePlatformResponse(
            status=platform_status(None), signer_resumed=not outcome.signer_error and not outcome.signer_halted_by_owner,
            signer_halted_by_owner=outcome.signer_halted_by_owner, signer_error=outcome.signer_error,
        )

    @as_grpc_status
    async def GetPlatformStatus(self, request, context):
        halt, head = await self._db.run(lambda db: (stored_halt(db), newest_head(db)))
        return orchestrator_pb2.GetPlatformStatusResponse(status=platform_status(halt, head))

    @as_grpc_status
    async def GetCaller(self, request, context):
        principal = caller()
        return orchestrator_pb2.GetCallerResponse(
            name=principal.name, roles=[orchestrator_pb2.Role.Value(f"ROLE_{role.name}") for role in sorted(principal.roles)],
            wallet_addresses=sorted(principal.wallets or ()), all_wallets=principal.wallets is None,
        )

    @as_grpc_status
    async def CreateSubscription(self, request, context):
        return await notifications.create_subscription(self._db, self._secrets_key_file, request)

    @as_grpc_status
    async def ListSubscriptions(self, request, context):
        return await notifications.list_subscriptions(self._db)

    @as_grpc_status
    async def DeleteSubscription(self, request, context):
        return await notifications.delete_subscription(self._db, request.subscription_id)

    @as_grpc_status
    async def ListDeliveries(self, request, context):
        return await notifications.list_deliveries(self._db, request)
