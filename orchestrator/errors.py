"""One exception for "refuse this call with this gRPC status", raised by domain code and
turned into a status by the servicers, so domain modules never touch a grpc context."""

from __future__ import annotations

import grpc


class Refused(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> Refused:
    return Refused(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> Refused:
    return Refused(grpc.StatusCode.NOT_FOUND, message)


def precondition(message: str) -> Refused:
    return Refused(grpc.StatusCode.FAILED_PRECONDITION, message)


def as_grpc_status(method):
    """Decorates an async servicer method: a `Refused` becomes the gRPC status it names."""

    async def wrapper(self, request, context):
        try:
            return await method(self, request, context)
        except Refused as refused:
            await context.abort(refused.code, refused.message)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def refusing_handler(code: grpc.StatusCode, message: str):
    """A method handler that answers every call with `code`: what an interceptor returns
    instead of the real handler when it refuses a call."""

    async def refuse(request, context):
        await context.abort(code, message)

    return grpc.unary_unary_rpc_method_handler(refuse, request_deserializer=lambda b: None, response_serializer=lambda m: b"")
