"""The frontend API's boundary, around every call of OrchestratorService:

- the request is checked (request_checks) before the handler runs: INVALID_ARGUMENT; then
  what it names must be on the caller's wallets (access.py): NOT_FOUND otherwise;
- every status message it sends is at most MAX_DETAILS_BYTES of UTF-8 (orchestrator.errors).
  The message travels percent-encoded in a trailer, and a client drops trailers past its metadata limit (8 KiB
  soft, 16 KiB hard in gRPC's C core): an error quoting a 100 KB input would reach the client
  as RESOURCE_EXHAUSTED "metadata size exceeds hard limit", the real status lost;
- a failure nobody foresaw is INTERNAL with a request id; its exception and traceback go to
  the server's log under that id, never to the caller (they may hold what the caller must
  not see, and a Python class name tells a console nothing it can act on);
- a refusal naming a field carries a google.rpc.BadRequest in its details (orchestrator.errors).

Requests whose bytes do not parse are answered before this (orchestrator.wire_errors). The
browser port (Connect, gRPC-Web: connect_adapter.py) applies the same three.
"""

from __future__ import annotations

import inspect
import logging
import secrets

import grpc

from orchestrator.api.access import Access
from orchestrator.api.request_checks import check_request
from orchestrator.errors import Refused, abort_with, bounded

log = logging.getLogger("corral.api")

REQUEST_ID_METADATA = "corral-request-id"


class BoundedContext:
    """The call's context, with every status message bounded (whoever sets it: a handler's
    Refused, the WatchEvents stream, this interceptor)."""

    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        self._context = context

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata=()) -> None:
        await self._context.abort(code, bounded(details), trailing_metadata)

    def set_details(self, details: str) -> None:
        self._context.set_details(bounded(details))

    def __getattr__(self, name: str):
        return getattr(self._context, name)


class ApiBoundary(grpc.aio.ServerInterceptor):
    def __init__(self, service_name: str, access: Access) -> None:
        self._prefix = f"/{service_name}/"
        self._access = access

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or not handler_call_details.method.startswith(self._prefix):
            return handler
        method = handler_call_details.method.rsplit("/", 1)[-1]
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _unary(method, handler.unary_unary, self._access), request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _streaming(method, handler.unary_stream, self._access), request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # the service has no client-streaming calls


def _unary(method: str, behaviour, access: Access):
    async def guarded(request, context):
        bounded_context = BoundedContext(context)
        try:
            check_request(request)
            await access.check(method, request)
            return await behaviour(request, bounded_context)
        except Exception as exc:  # noqa: BLE001 — every failure becomes a status the caller can act on
            await _answer(method, exc, bounded_context)

    return guarded


def _streaming(method: str, behaviour, access: Access):
    async def guarded(request, context):
        bounded_context = BoundedContext(context)
        try:
            check_request(request)
            await access.check(method, request)
            answer = behaviour(request, bounded_context)
            if inspect.isasyncgen(answer):
                async for item in answer:
                    yield item
            else:
                await answer  # a handler that writes with context.write()
        except Exception as exc:  # noqa: BLE001 — as in _unary
            await _answer(method, exc, bounded_context)

    return guarded


async def _answer(method: str, exc: Exception, context: BoundedContext) -> None:
    if isinstance(exc, grpc.aio.AbortError):
        raise exc  # the handler has already sent its status
    if isinstance(exc, Refused):
        await abort_with(context, exc)
    request_id, message = unexpected_failure(method, exc)
    await context.abort(grpc.StatusCode.INTERNAL, message, ((REQUEST_ID_METADATA, request_id),))


def unexpected_failure(method: str, exc: BaseException) -> tuple[str, str]:
    """Logs `exc` under a new request id; returns the id and what the caller is told."""
    request_id = secrets.token_hex(6)
    log.error("request id %s: %s failed unexpectedly", request_id, method, exc_info=exc)
    return request_id, f"{method} failed unexpectedly (request id {request_id}); the orchestrator's log has the details under that id"
