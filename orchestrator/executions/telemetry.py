"""What executions report to /metrics (orchestrator/metrics.py): sandbox starts, outcomes,
due -> run() and SDK calls.

SDK calls are counted by method and status code, with the time the orchestrator spent
answering. A method label is only ever one of the runtime API's own method names: the path of
a call an agent made up is counted as "unknown", so an agent cannot add series.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import grpc
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from orchestrator.config import SandboxConfig
from orchestrator.metrics import DUE_TO_RUN, EXECUTIONS, SANDBOX_START, SDK_CALL_SECONDS, SDK_CALLS
from orchestrator.tracing import TRACER
from sandbox_runner.host.backend import SandboxBackend, SandboxSpec, StartedSandbox

ROOT = Context()


def backend_label(config: SandboxConfig) -> str:
    """"bubblewrap", "docker-runc" or "docker-runsc" (gVisor); "launcher" when a privileged
    launcher starts the sandboxes (its backend is its own setting, not this process's)."""
    if config.launcher_socket is not None:
        return "launcher"
    return config.backend if config.backend == "bubblewrap" else f"docker-{config.runtime or 'runc'}"


def timed_start(backend: SandboxBackend, spec: SandboxSpec, label: str) -> StartedSandbox:
    """`backend.start(spec)`, timed as a pre-start for the warm pool (its spec waits for a
    doorbell) or as a cold start for an execution. Blocking, like the start itself."""
    began = time.perf_counter()
    started = backend.start(spec)
    SANDBOX_START.labels(label, "prestart" if spec.idle_seconds else "cold").observe(time.perf_counter() - began)
    return started


def observe_execution(backend: str, command: str, outcome: str, warm: bool = False, due_at: datetime | None = None,
                      ended_at: datetime | None = None, agent_entered_at: float | None = None) -> None:
    """An execution's outcome, and (when the sandbox reported it) due -> run() entered. The
    reported time comes from inside the sandbox, so it is kept within [due, end]."""
    EXECUTIONS.labels(outcome, command, backend).inc()
    if due_at is None or ended_at is None or agent_entered_at is None or not math.isfinite(agent_entered_at):
        return  # (a NaN would poison the histogram's sum)
    due, ended = _epoch(due_at), _epoch(ended_at)
    entered = min(max(agent_entered_at, due), ended)
    DUE_TO_RUN.labels(backend, "warm" if warm else "cold").observe(entered - due)


def _epoch(moment: datetime) -> float:
    """Unix seconds of a stored time: the database's are naive UTC (a naive datetime's
    `timestamp()` would read it as the host's local time)."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


UNKNOWN_METHOD = "unknown"


def method_label(full_method: str, known: bool) -> str:
    """The label for a call to `full_method` ("/corral.v1.AgentRuntime/GetMemory" -> "GetMemory")."""
    return full_method.rsplit("/", 1)[-1] if known else UNKNOWN_METHOD


def count_refusal(full_method: str, known: bool, code: grpc.StatusCode) -> None:
    """A call refused before any handler ran (no token, budget spent, no such method)."""
    SDK_CALLS.labels(method_label(full_method, known), code.name).inc()


def counted(full_method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """`handler` (a unary one, as every runtime method is), counting each call's status and
    timing it. Built once per method and execution, like the handler it wraps."""
    behaviour = handler.unary_unary
    if behaviour is None:
        return handler
    method = method_label(full_method, known=True)
    seconds = SDK_CALL_SECONDS.labels(method)

    attributes = {"rpc.system": "grpc", "rpc.service": full_method.split("/")[1], "rpc.method": method}

    async def unary_unary(request, context):
        began = time.perf_counter()
        code = "UNKNOWN"  # an exception that is not an abort ends the call as UNKNOWN
        # The root of a trace of its own: nothing the sandbox sends decides which trace it joins.
        with TRACER.start_as_current_span(full_method, context=ROOT, kind=SpanKind.SERVER, attributes=attributes) as span:
            try:
                answer = await behaviour(request, context)
                code = "OK"
                return answer
            except grpc.aio.AbortError:
                aborted = context.code()
                code = aborted.name if isinstance(aborted, grpc.StatusCode) else "UNKNOWN"
                raise
            finally:
                seconds.observe(time.perf_counter() - began)
                SDK_CALLS.labels(method, code).inc()
                span.set_attribute("rpc.grpc.status_code", code)

    return grpc.unary_unary_rpc_method_handler(
        unary_unary, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer,
    )
