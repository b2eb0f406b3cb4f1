"""How the browser port reads request messages (binary or JSON protobuf): bytes that are not
the request's message are INVALID_ARGUMENT with the native gRPC port's words, naming the method
(and for JSON the field), never a parser's Python text."""

from __future__ import annotations

import re
from typing import TypeVar

from connectrpc.code import Code
from connectrpc.codec import Codec
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
from connectrpc.errors import ConnectError
from google.protobuf.message import Message

from orchestrator.wire_errors import not_a_valid_message

M = TypeVar("M", bound=Message)
# json_format names the field it stopped at: "Failed to parse sessionId field: ..." or
# 'Message type "corral.v1.X" has no field named "sesionId"'.
_BAD_VALUE = re.compile(r"Failed to parse (\w{1,64}) field")
_UNKNOWN_FIELD = re.compile(r'has no field named "(\w{1,64})"')


def _method(message_class: type[Message]) -> str:
    return message_class.DESCRIPTOR.name.removesuffix("Request")


class _Refusing(Codec[Message, M]):
    def __init__(self, inner: Codec) -> None:
        self._inner = inner

    def name(self) -> str:
        return self._inner.name()

    def encode(self, message: Message) -> bytes:
        return self._inner.encode(message)

    def decode(self, data: bytes | bytearray, message_class: type[M]) -> M:
        try:
            return self._inner.decode(data, message_class)
        except Exception as exc:  # DecodeError, json_format's ParseError, RecursionError (too deep)
            raise ConnectError(Code.INVALID_ARGUMENT, self.problem(_method(message_class), exc)) from None

    def problem(self, method: str, exc: Exception) -> str:
        return not_a_valid_message(method)


class _RefusingJson(_Refusing):
    def problem(self, method: str, exc: Exception) -> str:
        text = str(exc)
        if bad := _BAD_VALUE.search(text):
            return f"the {method} request's field {bad.group(1)} has a value of the wrong type or range"
        if unknown := _UNKNOWN_FIELD.search(text):
            return f"the {method} request has no field {unknown.group(1)!r} (fields are the proto's, in lowerCamelCase)"
        return f"the {method} request is not its message in protobuf JSON"


def request_codecs() -> list[Codec]:
    """Binary first (gRPC-Web and connect-web's binary format), then JSON (connect-web's default)."""
    return [_Refusing(google_protobuf_binary_codec()), _RefusingJson(google_protobuf_json_codec(ignore_unknown_fields=False))]
