"""OpenTelemetry traces and JSON logs: how one request is followed across the processes.

Traces are off unless `[telemetry] otlp_endpoint` is set; then spans go to that collector over
OTLP/HTTP, and the gRPC instrumentation traces every server this process runs (the frontend API,
each execution's runtime API) and every client it opens (the signer's socket, which carries the
W3C `traceparent` along). Chain calls get a span per JSON-RPC round trip (orchestrator/chains/
jsonrpc.py). An SDK call's span is the root of its trace (the sandbox sends no trace context and
has nowhere to send spans), and a call that carries a request id (a transaction, a swap, a venue
order) is tagged with it as `corral.request_id`: the same id the signer writes in its audit line
(the request's `context.request_id`), which joins a trace to the signer's decision without the
signer, which opens no port and makes no connection, exporting anything.

With traces off, the tracer below is OpenTelemetry's no-op one: a span costs a function call.

`[telemetry] log_format = "json"` makes the orchestrator's log one JSON object per line, with the
trace and span ids of the span it was written in and the ids bound with `log_fields`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from opentelemetry import trace

TRACER = trace.get_tracer("corral.orchestrator")
REQUEST_ID = "corral.request_id"
# A span's OTLP batch is sent at most this long after the span ends.
EXPORT_DELAY_MILLIS = 1000

# Never mutated: each binding sets a new mapping, so a task's fields never leak into another's.
_FIELDS: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("corral_log_fields", default=MappingProxyType({}))


def start_tracing(otlp_endpoint: str | None, instance: str) -> Callable[[], None] | None:
    """Sends spans to `otlp_endpoint` (an OTLP/HTTP collector's base URL, e.g.
    "http://127.0.0.1:4318") from now on; returns what flushes and stops it, or None when off.
    Call before any gRPC server or channel is made: the instrumentation wraps their constructors."""
    if not otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcAioInstrumentorServer
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": "corral-orchestrator", "service.instance.id": instance})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces", timeout=10)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=EXPORT_DELAY_MILLIS))
    trace.set_tracer_provider(provider)
    GrpcAioInstrumentorServer().instrument(tracer_provider=provider)
    GrpcAioInstrumentorClient().instrument(tracer_provider=provider)
    return provider.shutdown


def tag_request(request_id: str) -> None:
    """Marks the current span (an SDK call's, an API call's) with the request id the signer's
    audit line will carry, and binds it to the log lines written meanwhile."""
    if request_id:
        trace.get_current_span().set_attribute(REQUEST_ID, request_id)
        _FIELDS.set({**_FIELDS.get(), "request_id": request_id})


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
