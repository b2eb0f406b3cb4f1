"""The AgentRuntime API one execution's sandbox calls, served on that execution's socket.

Each execution gets its own servicer and server, bound to one session: requests never
name a session, so an agent can only ever touch its own. The token interceptor refuses
any call without the execution's token before a handler runs.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct
from sqlalchemy import Connection, bindparam, select

from corral.limits import LOG_LINE_MAX_CHARS, LOG_LINES_DEFAULT, RUNTIME_REQUEST_MAX_BYTES, TRACEBACK_MAX_CHARS, shortened, tail_shortened
from corral.v1 import common_pb2, runtime_pb2, runtime_pb2_grpc
from orchestrator.actions import ledger_pages
from orchestrator.actions.gateway import ActionGateway, Suggested
from orchestrator.actions.positions import session_positions
from orchestrator.errors import Refused, as_grpc_status, precondition, refusing_handler
from orchestrator.executions import group_commit, loop_reads, memory
from orchestrator.executions.execution_context import execution_context
from orchestrator.executions.progress import AgentProgress
from orchestrator.executions.recording import Recorder, recorded
from orchestrator.executions.telemetry import count_refusal, counted
from orchestrator.store import Database, ExecutionLogRow, SessionRow, events, utcnow
from orchestrator.store.statuses import ActionKind, SessionStatus
from orchestrator.tracing import tag_request
from orchestrator.wire_errors import parsing_handler

log = logging.getLogger("corral.runtime")
T = TypeVar("T")
# Built once: read on every memory write (see _writable_namespace). FOR SHARE on PostgreSQL: a
# stop (an UPDATE of the row) waits for the write's commit, or the write reads the stop's.
_SESSION_STATUS = select(SessionRow.status).where(SessionRow.id == bindparam("session_id")).with_for_update(read=True)



@dataclass
class CallBudget:
    """How much of the platform one execution may use; a flood of calls stops here."""

    max_calls: int = 5000
    max_log_lines: int = LOG_LINES_DEFAULT
    calls: int = 0
    log_lines: int = 0
    log_lines_dropped: int = 0


@dataclass
class ExecutionTicket:
    """What one execution is allowed to act on."""

    execution_id: int
    session: SessionRow
    command: int
    token: str
    settings: dict[str, Any]
    positions_snapshot: list[common_pb2.Position]
    # For an unwind: the positions the user chose to unwind (all of them by default).
    unwind_positions: list[common_pb2.Position] = field(default_factory=list)
    budget: CallBudget = field(default_factory=CallBudget)
    # Filled by CompleteExecution: (success, error), and the failure's traceback.
    outcome: tuple[bool, str] | None = field(default=None)
    traceback: str = ""
    # When the sandbox says the agent's function was called (Unix seconds; telemetry only).
    agent_entered_at: float | None = None
    # The agent's last SDK call and log line, for a deadline kill's report.
    progress: AgentProgress = field(default_factory=AgentProgress)
    # Keeps what the execution saw through the socket, when its session records (recording.py).
    recorder: Recorder | None = None
    # What the agent's clock reads as it starts (a backtest's block time); None: the host's.
    agent_clock: datetime | None = None


class ExecutionMethods(grpc.GenericRpcHandler):
    """The runtime API's methods for one execution, each behind that execution's checks.

    The server asks `service` once per call, before reading the request: it refuses a call
    without this execution's token (UNAUTHENTICATED) and a call past the execution's budget
    (RESOURCE_EXHAUSTED), notes the agent's progress, and answers with the method's handler.
    Those handlers are built once per execution, each parsing its own request so that bytes
    that are not the message are INVALID_ARGUMENT (`wire_errors.parsing_handler`). One plain
    call instead of interceptors: an interceptor chain costs coroutines per call (issue 17).
    """

    def __init__(self, servicer: runtime_pb2_grpc.AgentRuntimeServicer, token: str, budget: CallBudget, progress: AgentProgress,
                 recorder: Recorder | None = None) -> None:
        self._expected = f"Bearer {token}".encode()
        self._budget = budget
        self._progress = progress
        self._handlers = {method: counted(method, recorded(method, parsing_handler(method, handler), recorder))
                          for method, handler in _generated_handlers(servicer).items()}
        self._unauthenticated = refusing_handler(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong execution token")
        self._exhausted = refusing_handler(grpc.StatusCode.RESOURCE_EXHAUSTED, f"this execution has used all {budget.max_calls} of its SDK calls")

    def service(self, handler_call_details):
        method = handler_call_details.method
        known = method in self._handlers
        if not hmac.compare_digest(_authorization(handler_call_details.invocation_metadata).encode(), self._expected):
            count_refusal(method, known, grpc.StatusCode.UNAUTHENTICATED)
            return self._unauthenticated
        self._progress.called(method, utcnow())
        if method != _COMPLETE_EXECUTION:  # the outcome report always gets through
            self._budget.calls += 1
            if self._budget.calls > self._budget.max_calls:
                count_refusal(method, known, grpc.StatusCode.RESOURCE_EXHAUSTED)
                return self._exhausted
        if not known:
            count_refusal(method, known, grpc.StatusCode.UNIMPLEMENTED)
            return None  # UNIMPLEMENTED
        return self._handlers[method]


_COMPLETE_EXECUTION = "/corral.v1.AgentRuntime/CompleteExecution"


def _authorization(metadata) -> str:
    """The call's `authorization` value ("" without one; the last one, if sent twice)."""
    supplied = ""
    for key, value in metadata or ():
        if key == "authorization":
            supplied = value
    return supplied if isinstance(supplied, str) else ""


class _HandlerCollector:
    """Stands in for a server in the generated `add_AgentRuntimeServicer_to_server`, to keep
    the method handlers it builds (their request parsers and response serializers)."""

    def __init__(self) -> None:
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, _handlers) -> None:
        pass  # the same handlers as the registered ones below

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self.handlers.update({f"/{service}/{name}": handler for name, handler in handlers.items()})


def _generated_handlers(servicer: runtime_pb2_grpc.AgentRuntimeServicer) -> dict[str, grpc.RpcMethodHandler]:
    """The generated code's handler for each runtime method, by its full gRPC path."""
    collector = _HandlerCollector()
    runtime_pb2_grpc.add_AgentRuntimeServicer_to_server(servicer, collector)
    if _COMPLETE_EXECUTION not in collector.handlers:
        raise RuntimeError("the generated runtime service registered no method handlers: regenerate corral/v1 with a newer grpcio-tools")
    return collector.handlers


class RuntimeServicer(runtime_pb2_grpc.AgentRuntimeServicer):
    def __init__(self, ticket: ExecutionTicket, db: Database, gateway: ActionGateway) -> None:
        self._ticket = ticket
        self._db = db
        self._gateway = gateway
        self._log_lines = group_commit.log_lines(db)
        self._memory_writes = group_commit.memory_writes(db)
        # What cannot change during the execution: the session's and its agent's ids.
        self._shared_namespace = memory.shared_namespace(ticket.session.agent_id)
        self._session_namespace = memory.session_namespace(ticket.session.id)

    async def _submit(self, kind: ActionKind, request: Message) -> Any:
        """The gateway's answer: the action's result (auto mode) or `Suggested` (manual mode)."""
        tag_request(getattr(request, "request_id", ""))
        return await self._gateway.submit(self._ticket.session, self._ticket.execution_id, kind, request)

    def _namespace(self, scope: int) -> str:
        return self._shared_namespace if scope == runtime_pb2.MEMORY_SCOPE_SHARED else self._session_namespace

    def _writable_namespace(self, connection: Connection, scope: int) -> str:
        """Session memory ends with the session: once it is stopped (its memory cleared), a
        run still finishing may not write it again. Read in the write's own transaction: the
        session can be stopped while the execution runs."""
        if scope != runtime_pb2.MEMORY_SCOPE_SHARED:
            status = connection.execute(_SESSION_STATUS, {"session_id": self._ticket.session.id}).scalar()
            if status == SessionStatus.STOPPED:
                raise precondition(f"session {self._ticket.session.id} is stopped: its memory was cleared and takes no more writes")
        return self._namespace(scope)

    async def _read(self, work: Callable[[Connection], T]) -> T:
        """A read for the agent, as Core statements on a plain connection (an ORM session's set-up
        and teardown cost more CPU than the read). SQLite: on the loop (`loop_reads`).
        PostgreSQL: on a database thread, since every statement is a round trip over the network."""
        if self._db.backend == "sqlite":
            return loop_reads.read(self._db, work)
        return await self._db.run(lambda session: work(session.connection()))

    @as_grpc_status
    async def GetExecutionContext(self, request, context):
        return execution_context(self._ticket)  # what a pre-started sandbox is handed with its ring

    @as_grpc_status
    async def AppendLogs(self, request, context):
        budget = self._ticket.budget
        lines: list[tuple[str, str]] = []
        for entry in request.entries:
            message = shortened(entry.message, LOG_LINE_MAX_CHARS)
            self._ticket.progress.logged(message)
            if budget.log_lines >= budget.max_log_lines:
                budget.log_lines_dropped += 1
                continue
            budget.log_lines += 1
            lines.append(("error" if entry.level == runtime_pb2.LOG_LEVEL_ERROR else "info", message))
        if lines:
            await self._log_lines.write(lambda db: self._store_logs(db, lines))
        if len(lines) < len(request.entries):
            # Counted with the execution and shown with it; the agent's log() says so too.
            raise Refused(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"this execution has stored all {budget.max_log_lines} of its log lines; later lines are dropped and counted",
            )
        return runtime_pb2.AppendLogsResponse()

    def _store_logs(self, db, lines: list[tuple[str, str]]) -> None:
        """The request's lines, each with its event, staged for their group's commit."""
        for level, message in lines:
            line = ExecutionLogRow(execution_id=self._ticket.execution_id, level=level, message=message, logged_at=utcnow())
            db.add(line)
            db.flush()  # its id, for the event
            events.record(db, "log", "appended", self._ticket.session.id, line.id)

    @as_grpc_status
    async def SetMemory(self, request, context):
        await self._memory_writes.write(lambda db: memory.write_value(db, self._writable_namespace(db, request.scope), request.key, request.value))
        return runtime_pb2.SetMemoryResponse(key=request.key)

    @as_grpc_status
    async def GetMemory(self, request, context):
        row = await self._read(lambda db: memory.get_value(db, self._namespace(request.scope), request.key))
        if row is None:
            return runtime_pb2.GetMemoryResponse(key=request.key)
        return runtime_pb2.GetMemoryResponse(key=row.key, value=row.value, updated_at_ms=int(row.updated_at.timestamp() * 1000))

    @as_grpc_status
    async def DeleteMemory(self, request, context):
        await self._memory_writes.write(lambda db: memory.remove_value(db, self._writable_namespace(db, request.scope), request.key))
        return runtime_pb2.DeleteMemoryResponse(key=request.key)

    @as_grpc_status
    async def ListMemory(self, request, context):
        prefix = request.prefix if request.HasField("prefix") else None
        rows = await self._read(lambda db: memory.list_keys(db, self._namespace(request.scope), prefix))
        return runtime_pb2.ListMemoryResponse(
            items=[runtime_pb2.MemoryItem(key=r.key, updated_at_ms=int(r.updated_at.timestamp() * 1000)) for r in rows]
        )

    @as_grpc_status
    async def SignAndSend(self, request, context):
        outcome = await self._submit(ActionKind.TRANSACTION, request)
        if isinstance(outcome, Suggested):
            return _suggested(runtime_pb2.SignAndSendResponse, outcome)
        response = runtime_pb2.SignAndSendResponse(internal_transaction_id=outcome.id, tx_hash=outcome.tx_hash)
        chain_url = self._gateway.transaction_url(self._ticket.session, outcome.network, outcome.tx_hash)
        if chain_url:
            response.transaction_url = chain_url
        return response

    @as_grpc_status
    async def SignMessage(self, request, context):
        outcome = await self._submit(ActionKind.MESSAGE, request)
        return _suggested(runtime_pb2.SignMessageResponse, outcome) if isinstance(outcome, Suggested) else outcome

    @as_grpc_status
    async def SwapQuote(self, request, context):
        quote = await self._gateway.swaps.quote(self._ticket.session, MessageToDict(request.request))
        return runtime_pb2.SwapQuoteResponse(quote=_struct(quote))

    @as_grpc_status
    async def SwapExecute(self, request, context):
        outcome = await self._submit(ActionKind.SWAP, request)
        if isinstance(outcome, Suggested):
            return _suggested(runtime_pb2.SwapExecuteResponse, outcome)
        return runtime_pb2.SwapExecuteResponse(result=_struct(outcome))

    @as_grpc_status
    async def ClearSuggestions(self, request, context):
        return runtime_pb2.ClearSuggestionsResponse(cleared=self._gateway.suggestions.clear_pending(self._ticket.session.id))

    @as_grpc_status
    async def ListAssetChanges(self, request, context):
        size = ledger_pages.page_size(request.page_size)
        rows, next_token = await self._read(lambda db: ledger_pages.page(db, self._ticket.session.id, size, request.page_token))
        return runtime_pb2.ListAssetChangesResponse(changes=[
            common_pb2.AssetChange(
                network=r.network, transaction_hash=r.tx_hash, from_address=r.from_address, to_address=r.to_address,
                amount=r.amount, token_address=r.token_address, token_type=r.token_type,
                timestamp_ms=int(r.occurred_at.replace(tzinfo=UTC).timestamp() * 1000),
            )
            for r in rows
        ], next_page_token=next_token)

    @as_grpc_status
    async def GetCurrentPositions(self, request, context):
        positions, pending = await self._read(lambda db: session_positions(db, self._ticket.session))
        return runtime_pb2.GetCurrentPositionsResponse(positions=positions, has_pending_txs=pending)

    # ---- venues ---------------------------------------------------------------------------

    async def _venue_action(self, kind: ActionKind, request: Message) -> runtime_pb2.VenueResponse:
        """An order, cancel, transfer or redemption, through the gateway like every action."""
        outcome = await self._submit(kind, request)
        return _suggested(runtime_pb2.VenueResponse, outcome) if isinstance(outcome, Suggested) else _venue_data(outcome)

    @as_grpc_status
    async def HyperliquidPlaceOrder(self, request, context):
        return await self._venue_action(ActionKind.HYPERLIQUID_ORDER, request)

    @as_grpc_status
    async def HyperliquidCancelOrder(self, request, context):
        return await self._venue_action(ActionKind.HYPERLIQUID_CANCEL, request)

    @as_grpc_status
    async def HyperliquidTransfer(self, request, context):
        return await self._venue_action(ActionKind.HYPERLIQUID_TRANSFER, request)

    @as_grpc_status
    async def HyperliquidRead(self, request, context):
        return _venue_data(await self._gateway.venues.hyperliquid_for(self._ticket.session).read(self._ticket.session, request))

    @as_grpc_status
    async def PolymarketMarketOrder(self, request, context):
        return await self._venue_action(ActionKind.POLYMARKET_ORDER, request)

    @as_grpc_status
    async def PolymarketRedeemPositions(self, request, context):
        return await self._venue_action(ActionKind.POLYMARKET_REDEEM, request)

    @as_grpc_status
    async def PolymarketPositions(self, request, context):
        return _venue_data(await self._gateway.venues.polymarket_for(self._ticket.session).positions(self._ticket.session))

    @as_grpc_status
    async def CompleteExecution(self, request, context):
        if self._ticket.outcome is None:
            self._ticket.outcome = (request.success, request.error if request.HasField("error") else "")
            # Bounded here too: the sandbox's own cut is not to be trusted.
            self._ticket.traceback = tail_shortened(request.traceback, TRACEBACK_MAX_CHARS) if request.HasField("traceback") else ""
            if request.HasField("agent_entered_at"):
                self._ticket.agent_entered_at = request.agent_entered_at
        return runtime_pb2.CompleteExecutionResponse()


def _venue_data(data) -> runtime_pb2.VenueResponse:
    return runtime_pb2.VenueResponse(data_json=json.dumps(data))


def _suggested(response_type: type[Message], outcome: Suggested) -> Any:
    """Manual mode's answer to any acting call: which suggestion now waits for a person."""
    suggestion = outcome.suggestion
    return response_type(suggested=True, suggestion_id=suggestion.id, suggestion_details=_struct(suggestion.details))


def _struct(values: dict) -> Struct:
    message = Struct()
    message.update(values)
    return message


async def start_runtime_server(socket_path: str, ticket: ExecutionTicket, db: Database, gateway: ActionGateway) -> grpc.aio.Server:
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", RUNTIME_REQUEST_MAX_BYTES)],
        # At most 16 RPCs of one execution at once, each request at most 1 MiB: what one
        # sandbox can hold in flight is bounded (isolation case stream-flood).
        maximum_concurrent_rpcs=16,
    )
    # No interceptors and no registered methods: ExecutionMethods answers every call.
    server.add_generic_rpc_handlers([ExecutionMethods(RuntimeServicer(ticket, db, gateway), ticket.token, ticket.budget, ticket.progress,
                                                      ticket.recorder)])
    server.add_insecure_port(f"unix:{socket_path}")
    await server.start()
    return server
