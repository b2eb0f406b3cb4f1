"""One exception for "refuse this call with this gRPC status", raised by domain code and
turned into a status by the servicers, so domain modules never touch a grpc context.

A refusal of one field's value names the field (`invalid(message, field=...)`): the status
then carries a `google.rpc.BadRequest` with that field's path and the message as its
description, in the `grpc-status-details-bin` trailer (the browser port sends the same
details the Connect way), so a console can mark the field without parsing the text."""

from __future__ import annotations

import grpc
from google.protobuf.any_pb2 import Any
from google.rpc import error_details_pb2, status_pb2

# Every status message is at most this many bytes of UTF-8: it travels percent-encoded in a
# trailer, and a client drops trailers past its metadata limit (orchestrator/api/boundary.py).
MAX_DETAILS_BYTES = 2048
STATUS_DETAILS_KEY = "grpc-status-details-bin"


def bounded(details: str) -> str:
    """`details` cut to MAX_DETAILS_BYTES of UTF-8, "..." marking a cut."""
    encoded = details.encode()
    if len(encoded) <= MAX_DETAILS_BYTES:
        return details
    return encoded[: MAX_DETAILS_BYTES - 3].decode(errors="ignore") + "..."


class Refused(Exception):
    def __init__(self, code: grpc.StatusCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field  # the request field refused, as a path: "breakers.max_loss", "settings['risk']"

    def details(self) -> list[Any]:
        """The status's details: a BadRequest naming the field, when one is named."""
        if self.field is None:
            return []
        violation = error_details_pb2.BadRequest.FieldViolation(field=self.field, description=bounded(self.message))
        packed = Any()
        packed.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
        return [packed]

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        """The `grpc-status-details-bin` trailer gRPC clients read the details from (what
        grpcio-status's `rpc_status.from_call` parses; its message must be the call's own)."""
        details = self.details()
        if not details:
            return ()
        status = status_pb2.Status(code=self.code.value[0], message=bounded(self.message), details=details)
        return ((STATUS_DETAILS_KEY, status.SerializeToString()),)


def invalid(message: str, field: str | None = None) -> Refused:
    return Refused(grpc.StatusCode.INVALID_ARGUMENT, message, field)


def not_found(message: str) -> Refused:
    return Refused(grpc.StatusCode.NOT_FOUND, message)


def precondition(message: str) -> Refused:
    return Refused(grpc.StatusCode.FAILED_PRECONDITION, message)


async def abort_with(context, refused: Refused) -> None:
    """Ends the call with `refused`'s status, message and details."""
    trailing_metadata = refused.trailing_metadata()
    if trailing_metadata:
        await context.abort(refused.code, refused.message, trailing_metadata)
    await context.abort(refused.code, refused.message)


def as_grpc_status(method):
    """Decorates an async servicer method: a `Refused` becomes the gRPC status it names."""

    async def wrapper(self, request, context):
        try:
            return await method(self, request, context)
        except Refused as refused:
            await abort_with(context, refused)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def refusing_handler(code: grpc.StatusCode, message: str):
    """A method handler that answers every call with `code`: what an interceptor returns
    instead of the real handler when it refuses a call."""

    async def refuse(request, context):
        await context.abort(code, message)

    return grpc.unary_unary_rpc_method_handler(refuse, request_deserializer=lambda b: None, response_serializer=lambda m: b"")
