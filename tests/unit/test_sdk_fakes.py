"""An in-process stand-in for the execution's socket, shared by the SDK unit tests.

`FakeTransport` has the interface of `sdk.transport.RuntimeTransport`: `.call(method,
request)` returns the runtime API's protobuf response or raises `grpc.RpcError`. It
records every request, so tests can check what went over the wire. Nothing of the SDK
itself is replaced.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import grpc
import pytest

from corral.v1 import runtime_pb2

# Agents import the SDK as `agent_sdk` / `circuit_sdk`; in the sandbox, PYTHONPATH has sdk/compat.
COMPAT_DIR = Path(__file__).resolve().parents[2] / "sdk" / "compat"
if str(COMPAT_DIR) not in sys.path:
    sys.path.insert(0, str(COMPAT_DIR))

RUNTIME_METHODS = {m.name: m for m in runtime_pb2.DESCRIPTOR.services_by_name["AgentRuntime"].methods}


class FakeRpcError(grpc.RpcError):
    """What a gRPC stub raises when the server refuses a call."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class FakeTransport:
    """Answers each runtime method with `responses[method]` (a response message, an
    exception to raise, or a function of the request), else with the empty response."""

    def __init__(self, **responses: Any) -> None:
        self.responses: dict[str, Any] = responses
        self.calls: list[tuple[str, Any]] = []

    def call(self, method: str, request):
        if method not in RUNTIME_METHODS:  # what the real stub does for an unknown name
            raise AttributeError(f"'AgentRuntimeStub' object has no attribute {method!r}")
        expected = RUNTIME_METHODS[method].input_type.name
        assert type(request).DESCRIPTOR.name == expected, f"{method} sent a {type(request).DESCRIPTOR.name}"
        self.calls.append((method, request))
        answer = self.responses.get(method)
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer) and not hasattr(answer, "DESCRIPTOR"):
            return answer(request)
        if answer is not None:
            return answer
        return getattr(runtime_pb2, RUNTIME_METHODS[method].output_type.name)()

    def requests(self, method: str) -> list[Any]:
        return [request for name, request in self.calls if name == method]


def make_context(transport: FakeTransport | None = None, **kwargs: Any):
    from sdk.context import AgentContext

    fields: dict[str, Any] = {"sessionId": 7, "sessionWalletAddress": "0x" + "ab" * 20}
    fields.update(kwargs)
    return AgentContext(transport=transport or FakeTransport(), **fields)


def test_the_fake_only_answers_methods_the_runtime_service_has():
    fake = FakeTransport()
    assert isinstance(fake.call("ClearSuggestions", runtime_pb2.ClearSuggestionsRequest()), runtime_pb2.ClearSuggestionsResponse)
    with pytest.raises(AttributeError):
        fake.call("Swap", runtime_pb2.ClearSuggestionsRequest())
    with pytest.raises(AssertionError):
        fake.call("SetMemory", runtime_pb2.GetMemoryRequest())
    fake.responses["GetMemory"] = FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, "nope")
    with pytest.raises(grpc.RpcError):
        fake.call("GetMemory", runtime_pb2.GetMemoryRequest(key="k"))
