"""Requests whose bytes are not their message, answered as INVALID_ARGUMENT.

gRPC parses a request before any handler runs; bytes that do not parse (malformed, or a
message nested past protobuf's depth limit, e.g. a Struct inside a Struct 200 times) would
surface as UNKNOWN with a Python exception's name. This interceptor parses them itself and
answers what the caller can act on.
"""

from __future__ import annotations

import inspect

import grpc
from google.protobuf.message import DecodeError


class WireErrorsAsInvalidArgument(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None or not (handler.unary_unary or handler.unary_stream):
            return handler
        method = handler_call_details.method.rsplit("/", 1)[-1]
        deserialize, serialize = handler.request_deserializer, handler.response_serializer

        async def parsed(raw: bytes, context):
            try:
                return deserialize(raw)
            except (DecodeError, RecursionError):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"the {method} request is not a valid message (malformed, or nested deeper than protobuf allows)")

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
