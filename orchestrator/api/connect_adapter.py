"""OrchestratorApi served over Connect: each Connect method calls the gRPC servicer's own
method (one code path per RPC), with a context that gives it what it uses of a grpc.aio
ServicerContext. The request is checked as on the native port (request_checks); a refusal
keeps its code, (bounded) message and details (a BadRequest naming the field, sent as Connect
error details); an unexpected error becomes INTERNAL with a request id
for the server log, never the exception's text (boundary.py)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, NoReturn

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError, ErrorDetail
from connectrpc.request import RequestContext
from google.rpc import status_pb2
from protobuf import wkt

from corral.v1 import orchestrator_pb2
from orchestrator.api.access import Access
from orchestrator.api.boundary import unexpected_failure
from orchestrator.api.request_checks import check_request
from orchestrator.api.service import OrchestratorApi
from orchestrator.errors import STATUS_DETAILS_KEY, Refused, bounded
from orchestrator.tracing import api_call_span

SERVICE = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"]


def connect_code(code: grpc.StatusCode) -> Code:
    """The Connect code of a gRPC status (the same codes; Connect spells CANCELLED with one L)."""
    return Code.CANCELED if code == grpc.StatusCode.CANCELLED else Code[code.name]


def connect_details(details) -> list[ErrorDetail]:
    """A gRPC status's details (google.protobuf.Any) as Connect error details: the same type
    and bytes, in the Protobuf library connectrpc uses."""
    return [ErrorDetail(wkt.Any(type_url=detail.type_url, value=detail.value)) for detail in details]


def _trailer_details(trailing_metadata) -> list[ErrorDetail]:
    """The details a handler put in the gRPC details trailer (errors.Refused.trailing_metadata)."""
    for key, value in trailing_metadata or ():
        if key == STATUS_DETAILS_KEY:
            return connect_details(status_pb2.Status.FromString(value).details)
    return []


class ConnectServicerContext:
    """What OrchestratorApi's methods use of a grpc.aio.ServicerContext, for a Connect request."""

    def __init__(self, ctx: RequestContext) -> None:
        self._ctx = ctx

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: object = ()) -> NoReturn:
        raise ConnectError(connect_code(code), bounded(details), details=_trailer_details(trailing_metadata))

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return tuple(self._ctx.request_headers.allitems())

    def peer(self) -> str:
        """As gRPC writes it: "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000"."""
        address = self._ctx.client_address
        if not address:
            return "unknown"
        host, _, port = address.rpartition(":")
        return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{address}"

    def time_remaining(self) -> float | None:
        remaining_ms = self._ctx.timeout_ms
        return None if remaining_ms is None else max(remaining_ms / 1000, 0.0)


def _refused(refused: Refused) -> ConnectError:
    """A domain refusal that reached the transport undecorated keeps its code and message."""
    return ConnectError(connect_code(refused.code), bounded(refused.message), details=connect_details(refused.details()))


def _internal(method: str, exc: Exception) -> ConnectError:
    _request_id, message = unexpected_failure(method, exc)
    return ConnectError(Code.INTERNAL, message)


@contextlib.contextmanager
def _answering(method: str) -> Iterator[None]:
    """One call on this port: its span (named as the gRPC port's are), and what it raises
    turned into the Connect error the client reads (a refusal keeps its code and message;
    anything unexpected is INTERNAL with an id to find it in the log)."""
    with api_call_span(method, "connect_rpc") as span:
        try:
            yield
        except ConnectError as exc:
            error = exc
        except Refused as refused:
            error = _refused(refused)
        except Exception as exc:
            error = _internal(method, exc)
        else:
            return
        span.set_attribute("rpc.connect_rpc.error_code", error.code.value)
        raise error from None


def _unary(method: str, call: Callable[[Any, Any], Awaitable[Any]], access: Access):
    async def unary(request, ctx: RequestContext):
        with _answering(method):
            check_request(request)  # as the native port's boundary does
            await access.check(method, request)
            return await call(request, ConnectServicerContext(ctx))

    return unary


def _server_stream(method: str, call: Callable[[Any, Any], AsyncIterator[Any]], access: Access):
    async def server_stream(request, ctx: RequestContext):
        with _answering(method):
            check_request(request)
            await access.check(method, request)
            async for message in call(request, ConnectServicerContext(ctx)):
                yield message

    return server_stream


def python_name(method: str) -> str:
    """The generated Connect service's name for a method: "ListSessions" -> "list_sessions"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", method).lower()


class ConnectOrchestrator:
    """The generated OrchestratorService protocol, every method delegating to `api`."""

    def __init__(self, api: OrchestratorApi) -> None:
        for method in SERVICE.methods:
            call = getattr(api, method.name)
            adapt = _server_stream if method.server_streaming else _unary
            setattr(self, python_name(method.name), adapt(method.name, call, api.access))
