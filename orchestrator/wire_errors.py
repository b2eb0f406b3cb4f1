"""Requests whose bytes are not their message, answered as INVALID_ARGUMENT.

gRPC parses a request before any handler runs; bytes that do not parse (malformed, or a
message nested past protobuf's depth limit, e.g. a Struct inside a Struct 200 times) would
surface as UNKNOWN with a Python exception's name. `parsing_handler` wraps a method's
handler so that it parses the bytes itself and answers what the caller can act on.
"""

from __future__ import annotations

import inspect

import grpc
from google.protobuf.message import DecodeError


def not_a_valid_message(method: str) -> str:
    """What a caller whose request bytes do not parse is told (on every transport)."""
    return f"the {method} request is not a valid message (malformed, or nested deeper than protobuf allows)"


def parsing_handler(full_method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """`handler`, parsing its own request (unary requests only: others are returned as they
    are). Built once per method: the wrapper costs a call, not a handler, per request."""
    if handler.request_deserializer is None or not (handler.unary_unary or handler.unary_stream):
        return handler
    method = full_method.rsplit("/", 1)[-1]
    deserialize, serialize = handler.request_deserializer, handler.response_serializer
    refusal = not_a_valid_message(method)

    async def parsed(raw: bytes, context):
        try:
            return deserialize(raw)
        except (DecodeError, RecursionError):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, refusal)

    if handler.unary_unary:
        behaviour = handler.unary_unary

        async def unary_unary(raw, context):
            return await behaviour(await parsed(raw, context), context)

        return grpc.unary_unary_rpc_method_handler(unary_unary, response_serializer=serialize)

    stream = handler.unary_stream

    async def unary_stream(raw, context):
        answer = stream(await parsed(raw, context), context)
        if inspect.isasyncgen(answer):
            async for item in answer:
                yield item
        else:
            await answer  # a handler that writes with context.write()

    return grpc.unary_stream_rpc_method_handler(unary_stream, response_serializer=serialize)


class WireErrorsAsInvalidArgument(grpc.aio.ServerInterceptor):
    """`parsing_handler` for every method a server serves, as an interceptor (the frontend API)."""

    def __init__(self) -> None:
        # Per method: the handler the server resolved and its wrapped form. The server
        # resolves a method to the same handler on every call; should it ever resolve to
        # another one (an earlier interceptor's refusal), that one is wrapped instead.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = parsing_handler(method, handler)
        if len(self._wrapped) < _MAX_CACHED_METHODS:  # the caller names the method: the cache must not grow without end
            self._wrapped[method] = (handler, wrapped)
        return wrapped


# More than any service of ours has methods; names the server does not serve never reach the cache.
_MAX_CACHED_METHODS = 256
