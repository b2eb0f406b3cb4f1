"""OpenTelemetry traces and JSON logs: how one request is followed across the processes.

Traces are off unless `[telemetry] otlp_endpoint` is set; then spans go to that collector over
OTLP/HTTP. Every frontend API method is a server span, every SDK call made with its execution's
token is one (orchestrator/executions/telemetry.py), and every call to the signer is a client
span that carries the W3C `traceparent` along; chain calls get a span per JSON-RPC round trip
(orchestrator/chains/jsonrpc.py). Trace context is never taken from a caller (an agent, a
browser): each call to Corral starts a trace of its own, so nobody outside picks the trace its
calls join or turns their sampling off. A call that carries a request id (a transaction, a swap,
a venue order, an API mutation) is tagged with it as `corral.request_id`: the same id the signer
writes in its audit line (the request's `context.request_id`), which joins a trace to the
signer's decision without the signer, which opens no port and makes no connection, exporting
anything.

With traces off, the tracer below is OpenTelemetry's no-op one: a span costs a function call.

`[telemetry] log_format = "json"` makes the orchestrator's log one JSON object per line, with the
trace and span ids of the span it was written in and the ids bound with `log_fields`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
from collections.abc import Callable, Coroutine, Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import default_getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from corral.v1 import orchestrator_pb2

T = TypeVar("T")

TRACER = trace.get_tracer("corral.orchestrator")
REQUEST_ID = "corral.request_id"
# Request ids are at most 64 characters wherever the platform accepts one; attributes are cut.
MAX_REQUEST_ID_CHARS = 64
MAX_ATTRIBUTE_CHARS = 256
# A span's OTLP batch is sent at most this long after the span ends.
EXPORT_DELAY_MILLIS = 1000

# Never mutated: each binding sets a new mapping, so a task's fields never leak into another's.
_FIELDS: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("corral_log_fields", default=MappingProxyType({}))


class _OutboundOnly(TraceContextTextMapPropagator):
    """W3C trace context sent with the calls this process makes (the signer's socket), never
    taken from the calls it serves: an agent, or any caller of the API, would otherwise choose
    the trace its calls join, and with `flags=00` have their spans dropped by the sampler."""

    def extract(self, carrier, context=None, getter=default_getter):  # noqa: ANN001 - the propagator's signature
        return Context()


def _api_methods() -> list[str]:
    service = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"]
    return [f"/{service.full_name}/{method.name}" for method in service.methods]


def start_tracing(otlp_endpoint: str | None, instance: str) -> Callable[[], None] | None:
    """Sends spans to `otlp_endpoint` (an OTLP/HTTP collector's base URL, e.g.
    "http://127.0.0.1:4318") from now on; returns what flushes and stops it, or None when off.
    Call before any gRPC server or channel is made: the instrumentation wraps their constructors."""
    if not otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcAioInstrumentorServer, filters
    from opentelemetry.propagate import set_global_textmap
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": "corral-orchestrator", "service.instance.id": instance})
    provider = TracerProvider(resource=resource, span_limits=SpanLimits(max_attribute_length=MAX_ATTRIBUTE_CHARS))
    exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces", timeout=10)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=EXPORT_DELAY_MILLIS))
    trace.set_tracer_provider(provider)
    set_global_textmap(_OutboundOnly())
    # Only the frontend API's own methods: a made-up method name (from anyone who can connect,
    # before the key is checked) makes no span. The runtime API is traced by its handlers
    # (orchestrator/executions/telemetry.py), for calls with the execution's token only.
    GrpcAioInstrumentorServer(filter_=filters.any_of(*(filters.full_method_name(m) for m in _api_methods()))).instrument(
        tracer_provider=provider)
    GrpcAioInstrumentorClient().instrument(tracer_provider=provider)
    return provider.shutdown


@contextlib.contextmanager
def api_call_span(method: str, system: str) -> Iterator[trace.Span]:
    """The span of one frontend API call served outside the gRPC server (the browser port's
    Connect and gRPC-Web), named and described as the gRPC instrumentation names the native
    port's. `method` is one of the service's: the port's router routes no other name."""
    service = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"].full_name
    attributes = {"rpc.system": system, "rpc.service": service, "rpc.method": method}
    with TRACER.start_as_current_span(f"/{service}/{method}", kind=trace.SpanKind.SERVER, attributes=attributes) as span:
        yield span


def tag_request(request_id: str) -> None:
    """Marks the current span (an SDK call's, an API call's) with the request id the signer's
    audit line will carry, and binds it to the log lines written meanwhile. An id that is not a
    short printable one (it is refused later) tags nothing."""
    if 0 < len(request_id) <= MAX_REQUEST_ID_CHARS and request_id.isascii() and request_id.isprintable():
        trace.get_current_span().set_attribute(REQUEST_ID, request_id)
        _FIELDS.set({**_FIELDS.get(), "request_id": request_id})


def in_fresh_context(coroutine: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
    """A task that inherits no ids, span or caller from the code that starts it (a batch sent
    for several requests, a background refill): its logs and spans are nobody's request."""
    return asyncio.create_task(coroutine, name=name, context=contextvars.Context())


@contextlib.contextmanager
def log_fields(**fields: Any) -> Iterator[None]:
    """Ids (a session's, an execution's) added to every JSON log line written inside."""
    token = _FIELDS.set({**_FIELDS.get(), **fields})
    try:
        yield
    finally:
        _FIELDS.reset(token)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the bound ids, and the current
    span's trace and span ids (when traces are on), and the exception's traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_FIELDS.get(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"], line["span_id"] = format(span.trace_id, "032x"), format(span.span_id, "016x")
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def use_json_logs() -> None:
    """Every handler of the root logger writes JSON lines from now on."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonLogFormatter())
