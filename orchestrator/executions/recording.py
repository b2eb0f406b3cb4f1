"""Recording what an execution saw through its runtime socket, for sessions that record
(`record_executions`): each SDK call's request as the sandbox sent it and the answer it got,
in order, with when it came, and the HTTP exchanges it made through the egress proxy
(egress/exchanges.py). It is the input a replay feeds another version of the agent.

The recorder wraps each runtime method's handler, outside the request parsing, so it keeps
the bytes exactly as they crossed the socket. It is bounded: once `max_bytes` of requests and
answers (and exchanges) are kept, later calls are counted, not kept (an agent cannot grow the
database by calling more). Log lines and the outcome report are the execution's output, stored with it,
and not recorded. The recording is written with the execution's outcome, in the same commit
(`store`), serialized as a corral.v1.ExecutionRecording and compressed.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from datetime import UTC

import grpc
from google.protobuf.message import DecodeError
from sqlalchemy import select
from sqlalchemy.orm import Session

from corral.v1 import orchestrator_pb2, runtime_pb2
from orchestrator.errors import bounded
from orchestrator.store import ExecutionRecordingRow, utcnow

# The output of an execution, stored with it already: not an input to replay.
NOT_RECORDED = frozenset({"/corral.v1.AgentRuntime/AppendLogs", "/corral.v1.AgentRuntime/CompleteExecution"})
# What a call's entry costs beyond its bytes (method name, time, status), counted in the bound.
_ENTRY_OVERHEAD = 64


class Recorder:
    """One execution's recording, kept in memory until the execution ends. It is a prefix of
    what the execution saw: once one call does not fit, it and every later call are counted,
    not kept, so a replay never meets a hole in the middle."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.started = time.monotonic()
        self.started_at = utcnow()
        self.calls: list[orchestrator_pb2.RecordedCall] = []
        self.calls_not_recorded = 0
        self.exchanges: list[orchestrator_pb2.RecordedExchange] = []
        self.exchanges_not_recorded = 0
        self._bytes = 0
        self._exchange_bytes = 0

    def fits(self, size: int) -> bool:
        """Whether a call of `size` bytes (request, answer and details) would be kept; a call
        that would not is counted (and so is every later one)."""
        if self.calls_not_recorded or self._bytes + size + _ENTRY_OVERHEAD > self.max_bytes:
            self.calls_not_recorded += 1
            return False
        return True

    def record(self, method: str, request: bytes, response: bytes, code: str, details: str, at: float) -> None:
        details = bounded(details)
        if self.fits(len(request) + len(response) + len(details.encode())):
            self.keep(method, request, response, code, details, at)

    def keep(self, method: str, request: bytes, response: bytes, code: str, details: str, at: float) -> None:
        """Adds a call `fits` said yes to."""
        self._bytes += len(request) + len(response) + len(details.encode()) + _ENTRY_OVERHEAD
        self.calls.append(orchestrator_pb2.RecordedCall(
            method=method.rsplit("/", 1)[-1], at_ms=max(0, int((at - self.started) * 1000)), request=request, response=response,
            code=code, details=details))

    def exchange_room(self) -> int:
        """Exchanges may take half the bound at most: a large download leaves the SDK calls room."""
        return max(0, min(self.max_bytes - self._bytes, self.max_bytes // 2 - self._exchange_bytes) - _ENTRY_OVERHEAD)

    def keep_exchange(self, exchange: orchestrator_pb2.RecordedExchange) -> None:
        """An exchange through the egress proxy (egress/exchanges.py). Exchanges are matched
        by their request, not their place, so one that does not fit leaves no hole: later
        ones that fit are still kept."""
        size = exchange.ByteSize() + _ENTRY_OVERHEAD
        if size > self.exchange_room() + _ENTRY_OVERHEAD:
            self.exchanges_not_recorded += 1
            return
        self._bytes += size
        self._exchange_bytes += size
        self.exchanges.append(exchange)

    def exchange_not_recorded(self) -> None:
        self.exchanges_not_recorded += 1

    def handed_context(self, context: bytes) -> None:
        """A pre-started sandbox is handed its context with the doorbell instead of asking
        for it: recorded as the GetExecutionContext answer it stands for."""
        self.record("/corral.v1.AgentRuntime/GetExecutionContext", b"", context, "OK", "", self.started)

    def message(self, execution_id: int) -> orchestrator_pb2.ExecutionRecording:
        recording = orchestrator_pb2.ExecutionRecording(execution_id=execution_id, calls=list(self.calls),
                                                        calls_not_recorded=self.calls_not_recorded,
                                                        exchanges=sorted(self.exchanges, key=lambda e: e.at_ms),  # as they were asked
                                                        exchanges_not_recorded=self.exchanges_not_recorded)
        recording.started_at.FromDatetime(self.started_at.replace(tzinfo=UTC))
        return recording


def recorded(full_method: str, handler: grpc.RpcMethodHandler, recorder: Recorder | None) -> grpc.RpcMethodHandler:
    """`handler` (a unary one taking the raw request bytes), its calls kept by `recorder`; as
    it is when there is no recorder or the method is not recorded. A call that ends any other
    way than an answer or a refusal (an error, the agent cancelling it) is kept as UNKNOWN or
    CANCELLED: the platform may have acted on it."""
    behaviour = handler.unary_unary
    if recorder is None or behaviour is None or full_method in NOT_RECORDED:
        return handler
    serialize = handler.response_serializer

    async def unary_unary(raw: bytes, context):
        began = time.monotonic()
        try:
            answer = await behaviour(raw, context)
        except grpc.aio.AbortError:
            code = context.code()
            recorder.record(full_method, raw, b"", code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN", context.details() or "",
                            began)
            raise
        except asyncio.CancelledError:
            recorder.record(full_method, raw, b"", "CANCELLED", "the agent cancelled the call", began)
            raise
        except Exception:
            recorder.record(full_method, raw, b"", "UNKNOWN", "the call failed on the platform's side", began)
            raise
        # Sized before it is serialized a second time: past the bound, an answer costs no copy.
        if recorder.fits(len(raw) + answer.ByteSize()):
            recorder.keep(full_method, raw, serialize(answer) if serialize is not None else answer.SerializeToString(), "OK", "", began)
        return answer

    return grpc.unary_unary_rpc_method_handler(unary_unary, response_serializer=serialize)


# The memory calls, by their request type: one naming the shared scope reads or writes what the
# agent's sessions on other users' wallets share.
_MEMORY_REQUESTS = {"GetMemory": runtime_pb2.GetMemoryRequest, "SetMemory": runtime_pb2.SetMemoryRequest,
                    "DeleteMemory": runtime_pb2.DeleteMemoryRequest, "ListMemory": runtime_pb2.ListMemoryRequest}


def withhold_shared_memory(recording: orchestrator_pb2.ExecutionRecording) -> None:
    """Empties the calls on the agent's shared memory (and memory calls whose request does not
    parse, which may have been), marking them withheld: for a caller who may not read it."""
    for call in recording.calls:
        request_type = _MEMORY_REQUESTS.get(call.method)
        if request_type is None:
            continue
        try:
            shared = request_type.FromString(call.request).scope == runtime_pb2.MEMORY_SCOPE_SHARED
        except DecodeError:
            shared = True
        if shared:
            call.request, call.response, call.details, call.withheld = b"", b"", "", True


def withhold_exchanges(recording: orchestrator_pb2.ExecutionRecording) -> None:
    """Empties the recorded exchanges' paths and answers, marking them withheld: what the
    agent fetched with its author's own keys is not for a caller who runs it on a wallet of
    theirs but does not own every session of the agent (as shared memory is withheld)."""
    for exchange in recording.exchanges:
        exchange.path, exchange.response, exchange.withheld = "", b"", True


def store(db: Session, recording: orchestrator_pb2.ExecutionRecording) -> None:
    """Adds the recording (taken when the execution ended) to the execution's closing commit."""
    data = zlib.compress(recording.SerializeToString(), 6)
    db.add(ExecutionRecordingRow(execution_id=recording.execution_id, recorded_at=utcnow(), calls=len(recording.calls),
                                 calls_not_recorded=recording.calls_not_recorded, data=data))


def load(db: Session, execution_id: int) -> orchestrator_pb2.ExecutionRecording | None:
    """The execution's recording, or None when it has none (its session did not record, it
    was pruned, or the execution has not ended)."""
    data = db.scalar(select(ExecutionRecordingRow.data).where(ExecutionRecordingRow.execution_id == execution_id))
    if data is None:
        return None
    try:
        return orchestrator_pb2.ExecutionRecording.FromString(zlib.decompress(data))
    except (zlib.error, DecodeError):  # written by this module only: a damaged row is said, not served
        raise ValueError(f"the recording of execution {execution_id} is damaged") from None

