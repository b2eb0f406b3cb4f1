"""OrchestratorService: the frontend API. Converts between the wire and the domain
modules; every refusal becomes a gRPC status with a message that says what to fix."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from corral.v1 import common_pb2, orchestrator_pb2, orchestrator_pb2_grpc
from orchestrator.actions.breakers import settings_from_request, settings_message
from orchestrator.actions.positions import session_positions
from orchestrator.actions.signer_client import SignerClient
from orchestrator.actions.suggestions import Suggestions
from orchestrator.agents.registry import agent_manifest, register_agent
from orchestrator.api import execution_logs
from orchestrator.chains import Chain, SimulationFailed
from orchestrator.egress import secret_store
from orchestrator.egress.secrets import SecretBox, SecretError, SecretsKeyError
from orchestrator.errors import Refused, as_grpc_status, invalid, not_found
from orchestrator.executions import memory
from orchestrator.executions.progress import SDK_METHODS
from orchestrator.sessions.kill_switch import Halt, KillSwitch, stored_halt
from orchestrator.sessions.lifecycle import Sessions
from orchestrator.store import (
    AgentRow,
    Database,
    DriftRow,
    EgressConnectionRow,
    EventRow,
    ExecutionLogRow,
    ExecutionRow,
    SessionRow,
    SuggestionRow,
    TransactionRow,
    events,
)
from orchestrator.store.audit_heads import newest_head
from orchestrator.store.statuses import (
    ActionKind,
    EgressOutcome,
    ExecutionMode,
    ExecutionStatus,
    SessionStatus,
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
    )


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
    )
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


def execution_message(row: ExecutionRow, with_logs: bool = True) -> orchestrator_pb2.Execution:
    message = orchestrator_pb2.Execution(
        id=row.id,
        session_id=row.session_id,
        command=COMMANDS[row.command],
        status=EXECUTION_STATUS[row.status],
        error=row.error,
        started_at=timestamp(row.started_at),
        logs=[log_message(line) for line in row.logs] if with_logs else [],
        traceback=row.traceback,
        log_lines_dropped=row.log_lines_dropped,
        output_dropped_bytes=row.output_dropped_bytes,
        egress_connections=[egress_message(connection) for connection in row.egress_connections] if with_logs else [],
    )
    if row.finished_at is not None:
        message.finished_at.CopyFrom(timestamp(row.finished_at))
    if row.last_sdk_call and row.last_sdk_call_at is not None:
        message.last_sdk_call.CopyFrom(orchestrator_pb2.SdkCall(
            method=row.last_sdk_call, sdk_method=SDK_METHODS.get(row.last_sdk_call, ""), called_at=timestamp(row.last_sdk_call_at),
        ))
    return message


def transaction_message(row: TransactionRow) -> orchestrator_pb2.Transaction:
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


def event_message(db, row: EventRow) -> orchestrator_pb2.Event:
    message = orchestrator_pb2.Event(
        id=row.id, kind=EVENT_KIND[row.kind], change=row.change, session_id=row.session_id or 0, occurred_at=timestamp(row.occurred_at)
    )
    if row.kind == "session":
        message.session.CopyFrom(session_message(db.get(SessionRow, row.ref_id)))
    elif row.kind == "execution":
        message.execution.CopyFrom(execution_message(db.get(ExecutionRow, row.ref_id), with_logs=False))
    elif row.kind == "log":
        # The line may be gone ([retention] execution_logs_days shorter than events_days).
        if (line := db.get(ExecutionLogRow, row.ref_id)) is not None:
            message.log.CopyFrom(orchestrator_pb2.LogEvent(execution_id=line.execution_id, line=log_message(line)))
    elif row.kind == "suggestion":
        message.suggestion.CopyFrom(suggestion_message(db.get(SuggestionRow, row.ref_id)))
    elif row.kind == "transaction":
        message.transaction.CopyFrom(transaction_message(db.get(TransactionRow, row.ref_id)))
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


def secret_message(info: secret_store.SecretInfo) -> orchestrator_pb2.SessionSecret:
    return orchestrator_pb2.SessionSecret(name=info.name, host=info.host, set_at=timestamp(info.set_at))


class OrchestratorApi(orchestrator_pb2_grpc.OrchestratorServiceServicer):
    def __init__(
        self, db: Database, backend: SandboxBackend, sessions: Sessions, suggestions: Suggestions, signer: SignerClient,
        chains: dict[str, Chain], kill_switch: KillSwitch, secrets_key_file: Path | None = None, feed: events.EventFeed | None = None,
    ) -> None:
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

    @as_grpc_status
    async def RegisterAgent(self, request, context):
        row = await asyncio.to_thread(register_agent, self._db, self._backend, request.image)
        return orchestrator_pb2.RegisterAgentResponse(agent=agent_message(row))

    @as_grpc_status
    async def ListAgents(self, request, context):
        with self._db.session() as db:
            rows = db.scalars(select(AgentRow).order_by(AgentRow.id)).all()
        return orchestrator_pb2.ListAgentsResponse(agents=[agent_message(r) for r in rows])

    @as_grpc_status
    async def ListWallets(self, request, context):
        try:
            held = await self._signer.wallets()
        except grpc.aio.AioRpcError as exc:
            raise Refused(grpc.StatusCode.UNAVAILABLE, f"the signer did not answer: {exc.details()}") from None
        wallets = []
        for address, wallet_type in held.items():
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
    async def StartSession(self, request, context):
        mode = None
        if request.execution_mode != common_pb2.EXECUTION_MODE_UNSPECIFIED:
            mode = MODE_NAMES[request.execution_mode]
        allocation = request.allocation_amount if request.HasField("allocation_amount") else None
        breakers = settings_from_request(request.breakers)
        row = await self._sessions.start(request.agent_id, request.wallet_address, mode, dict(request.settings), allocation, breakers,
                                         environment=dict(request.environment))
        return orchestrator_pb2.StartSessionResponse(session=session_message(row))

    @as_grpc_status
    async def StopSession(self, request, context):
        return orchestrator_pb2.StopSessionResponse(session=session_message(self._sessions.stop(request.session_id)))

    @as_grpc_status
    async def PauseSession(self, request, context):
        return orchestrator_pb2.PauseSessionResponse(session=session_message(self._sessions.pause(request.session_id)))

    @as_grpc_status
    async def ResumeSession(self, request, context):
        return orchestrator_pb2.ResumeSessionResponse(session=session_message(self._sessions.resume(request.session_id)))

    @as_grpc_status
    async def UnwindSession(self, request, context):
        positions = [(p.network, p.asset_address) for p in request.positions]
        return orchestrator_pb2.UnwindSessionResponse(session=session_message(self._sessions.unwind(request.session_id, positions)))

    @as_grpc_status
    async def GetSession(self, request, context):
        return orchestrator_pb2.GetSessionResponse(session=self._with_positions(self._sessions.get(request.session_id)))

    @as_grpc_status
    async def ListSessions(self, request, context):
        return orchestrator_pb2.ListSessionsResponse(sessions=[self._with_positions(s) for s in self._sessions.list()])

    def _with_positions(self, row: SessionRow) -> orchestrator_pb2.Session:
        message = session_message(row)
        with self._db.session() as db:
            positions, pending = session_positions(db, row)
        message.positions.extend(positions)
        message.has_pending_transactions = pending
        return message

    @as_grpc_status
    async def ListExecutions(self, request, context):
        self._sessions.get(request.session_id)  # NOT_FOUND for an unknown session
        limit = request.page_size or 50
        with self._db.session() as db:
            rows = db.scalars(
                select(ExecutionRow)
                .options(selectinload(ExecutionRow.logs), selectinload(ExecutionRow.egress_connections))
                .where(ExecutionRow.session_id == request.session_id)
                .order_by(ExecutionRow.id.desc())
                .limit(limit)
            ).all()
        return orchestrator_pb2.ListExecutionsResponse(executions=[execution_message(r) for r in rows])

    @as_grpc_status
    async def GetExecutionLogs(self, request, context):
        cursor = execution_logs.parse_token(request.page_token, request.execution_id)
        size = execution_logs.page_size(request.page_size)
        with self._db.session() as db:
            row = db.get(ExecutionRow, request.execution_id)
            if row is None:
                raise not_found(f"execution {request.execution_id} does not exist; `corral executions SESSION_ID` lists a session's")
            lines = db.scalars(
                select(ExecutionLogRow)
                .where(ExecutionLogRow.execution_id == row.id, ExecutionLogRow.id > cursor.after_log_id)
                .order_by(ExecutionLogRow.id)
                .limit(size + 1)  # one more than asked: is there another page?
            ).all()
            more_logs, lines = len(lines) > size, lines[:size]
            output, output_end = execution_logs.output_part(row.output, cursor)
            next_token = execution_logs.next_token(
                cursor, lines[-1].id if lines else None, more_logs, output_end, len(row.output)
            )
            return orchestrator_pb2.GetExecutionLogsResponse(
                execution=execution_message(row, with_logs=False), logs=[log_message(line) for line in lines],
                output=output, next_page_token=next_token,
            )

    @as_grpc_status
    async def ListTransactions(self, request, context):
        self._sessions.get(request.session_id)
        with self._db.session() as db:
            rows = db.scalars(
                select(TransactionRow).where(TransactionRow.session_id == request.session_id).order_by(TransactionRow.id)
            ).all()
        return orchestrator_pb2.ListTransactionsResponse(transactions=[transaction_message(r) for r in rows])

    @as_grpc_status
    async def ListSuggestions(self, request, context):
        self._sessions.get(request.session_id)
        rows = self._suggestions.list(request.session_id, request.include_discarded)
        return orchestrator_pb2.ListSuggestionsResponse(suggestions=[suggestion_message(r) for r in rows])

    @as_grpc_status
    async def ApproveSuggestion(self, request, context):
        row = await self._suggestions.approve(request.suggestion_id)
        return orchestrator_pb2.ApproveSuggestionResponse(suggestion=suggestion_message(row))

    @as_grpc_status
    async def RejectSuggestion(self, request, context):
        return orchestrator_pb2.RejectSuggestionResponse(suggestion=suggestion_message(self._suggestions.reject(request.suggestion_id)))

    @as_grpc_status
    async def ListSessionMemory(self, request, context):
        session = self._sessions.get(request.session_id)
        namespace = memory.shared_namespace(session.agent_id) if request.shared else memory.session_namespace(session.id)
        with self._db.session() as db:
            rows = memory.list_entries(db, namespace)
        return orchestrator_pb2.ListSessionMemoryResponse(
            entries=[orchestrator_pb2.MemoryEntry(key=r.key, value=r.value, updated_at=timestamp(r.updated_at)) for r in rows]
        )

    @as_grpc_status
    async def SetSessionSecret(self, request, context):
        try:
            box = SecretBox.from_file(self._secrets_key_file)
        except SecretsKeyError as exc:
            raise Refused(grpc.StatusCode.FAILED_PRECONDITION, str(exc)) from None
        session = self._sessions.get(request.session_id)
        with self._db.session() as db:
            try:
                info = secret_store.set_secret(db, box, session, request.name, request.host, request.value)
            except SecretError as exc:
                raise invalid(str(exc)) from None
        log.info("secret %s of session %s set for %s", info.name, request.session_id, info.host)
        return orchestrator_pb2.SetSessionSecretResponse(secret=secret_message(info))

    @as_grpc_status
    async def ListSessionSecrets(self, request, context):
        self._sessions.get(request.session_id)
        with self._db.session() as db:
            infos = secret_store.list_secrets(db, request.session_id)
        return orchestrator_pb2.ListSessionSecretsResponse(secrets=[secret_message(i) for i in infos])

    @as_grpc_status
    async def DeleteSessionSecret(self, request, context):
        self._sessions.get(request.session_id)
        with self._db.session() as db:
            if not secret_store.delete_secret(db, request.session_id, request.name):
                raise not_found(f"session {request.session_id} has no secret {request.name[:64]!r}; "
                                f"`corral secret list {request.session_id}` shows its secrets")
        log.info("secret %s of session %s deleted", request.name[:64], request.session_id)
        return orchestrator_pb2.DeleteSessionSecretResponse()

    async def WatchEvents(self, request, context):
        # A stream: refusals are raised before the first event, so as_grpc_status does not apply.
        session_id = request.session_id if request.HasField("session_id") else None
        if session_id is not None:
            try:
                self._sessions.get(session_id)
            except Refused as refused:
                await context.abort(refused.code, refused.message)
        after = request.after_event_id if request.HasField("after_event_id") else None
        async for row in self._event_feed().watch(session_id, after):
            with self._db.session() as db:
                yield event_message(db, row)

    def _event_feed(self) -> events.EventFeed:
        if self._feed is None:
            self._feed = events.EventFeed(self._db)
            self._feed_task = asyncio.create_task(self._feed.run_forever(), name="event feed")
        return self._feed

    @as_grpc_status
    async def HaltPlatform(self, request, context):
        outcome = await self._kill_switch.halt(request.reason)
        return orchestrator_pb2.HaltPlatformResponse(
            status=platform_status(outcome.halt), sandboxes_stopped=outcome.sandboxes_stopped,
            signer_halted=not outcome.signer_error, signer_error=outcome.signer_error,
        )

    @as_grpc_status
    async def ResumePlatform(self, request, context):
        outcome = await self._kill_switch.resume()
        return orchestrator_pb2.ResumePlatformResponse(
            status=platform_status(None), signer_resumed=not outcome.signer_error and not outcome.signer_halted_by_owner,
            signer_halted_by_owner=outcome.signer_halted_by_owner, signer_error=outcome.signer_error,
        )

    @as_grpc_status
    async def GetPlatformStatus(self, request, context):
        with self._db.session() as db:
            head = newest_head(db)
        return orchestrator_pb2.GetPlatformStatusResponse(status=platform_status(self._kill_switch.read(), head))
