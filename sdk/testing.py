"""Unit-testing agents without a platform: an in-process stand-in for the execution's socket.

`MockRuntime` has the interface of `sdk.transport.RuntimeTransport` (as httpx ships
`MockTransport`): `.call(method, request)` answers a runtime API call with its protobuf
response, or raises like a refused call. Nothing of the SDK itself is replaced, so an
agent under test goes through the same envelopes, validation and errors as in a sandbox.

    from sdk.testing import MockRuntime, mock_context
    from main import run

    def test_my_agent_remembers_its_last_price():
        runtime = MockRuntime()
        run(mock_context(runtime, settings={"threshold": 5}))
        assert runtime.memory["last_price"] == "101"
        assert any("bought" in line for line in runtime.logs)

By default memory works (set, get, delete, list, per scope), log lines are kept in
`runtime.logs`, and every other call gets its empty response. Give `MockRuntime(SignAndSend=...)`
a response message, an exception (`RpcRefusal(code, details)`) or a function of the request
to answer a method your way; `runtime.requests("SignAndSend")` lists what was sent.
"""

from __future__ import annotations

from typing import Any

import grpc

from corral.v1 import runtime_pb2

RUNTIME_METHODS = {m.name: m for m in runtime_pb2.DESCRIPTOR.services_by_name["AgentRuntime"].methods}

__all__ = ["RUNTIME_METHODS", "MockRuntime", "RpcRefusal", "mock_context"]


class RpcRefusal(grpc.RpcError):
    """What a gRPC stub raises when the platform refuses a call."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class MockRuntime:
    """Answers each runtime method with `responses[method]` (a response message, an exception
    to raise, or a function of the request); memory and logs by themselves; else the empty
    response. Records every request in `calls`."""

    def __init__(self, **responses: Any) -> None:
        self.responses: dict[str, Any] = responses
        self.calls: list[tuple[str, Any]] = []
        # Session memory as the agent wrote it (shared memory in `shared_memory`), and its logs.
        self.memory: dict[str, str] = {}
        self.shared_memory: dict[str, str] = {}
        self.logs: list[str] = []

    def call(self, method: str, request: Any) -> Any:
        if method not in RUNTIME_METHODS:  # what the real stub does for an unknown name
            raise AttributeError(f"'AgentRuntimeStub' object has no attribute {method!r}")
        expected = RUNTIME_METHODS[method].input_type.name
        if type(request).DESCRIPTOR.name != expected:
            raise TypeError(f"{method} takes a {expected}, not a {type(request).DESCRIPTOR.name}")
        self.calls.append((method, request))
        answer = self.responses.get(method)
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer) and not hasattr(answer, "DESCRIPTOR"):
            return answer(request)
        if answer is not None:
            return answer
        built_in = getattr(self, f"_{method}", None)
        if built_in is not None:
            return built_in(request)
        return getattr(runtime_pb2, RUNTIME_METHODS[method].output_type.name)()

    def requests(self, method: str) -> list[Any]:
        """The requests sent to `method`, in order."""
        return [request for name, request in self.calls if name == method]

    def close(self) -> None:
        pass

    # -- memory and logs, kept in this object -------------------------------------------

    def _store(self, scope: int) -> dict[str, str]:
        return self.shared_memory if scope == runtime_pb2.MEMORY_SCOPE_SHARED else self.memory

    def _SetMemory(self, request: runtime_pb2.SetMemoryRequest) -> runtime_pb2.SetMemoryResponse:
        self._store(request.scope)[request.key] = request.value
        return runtime_pb2.SetMemoryResponse(key=request.key)

    def _GetMemory(self, request: runtime_pb2.GetMemoryRequest) -> runtime_pb2.GetMemoryResponse:
        store = self._store(request.scope)
        if request.key not in store:
            return runtime_pb2.GetMemoryResponse(key=request.key)
        return runtime_pb2.GetMemoryResponse(key=request.key, value=store[request.key])

    def _DeleteMemory(self, request: runtime_pb2.DeleteMemoryRequest) -> runtime_pb2.DeleteMemoryResponse:
        self._store(request.scope).pop(request.key, None)
        return runtime_pb2.DeleteMemoryResponse(key=request.key)

    def _ListMemory(self, request: runtime_pb2.ListMemoryRequest) -> runtime_pb2.ListMemoryResponse:
        prefix = request.prefix if request.HasField("prefix") else ""
        keys = sorted(key for key in self._store(request.scope) if key.startswith(prefix))
        return runtime_pb2.ListMemoryResponse(items=[runtime_pb2.MemoryItem(key=key) for key in keys])

    def _AppendLogs(self, request: runtime_pb2.AppendLogsRequest) -> runtime_pb2.AppendLogsResponse:
        self.logs.extend(entry.message for entry in request.entries)
        return runtime_pb2.AppendLogsResponse()


def mock_context(runtime: MockRuntime | None = None, **fields: Any) -> Any:
    """An `AgentContext` on `runtime` (a fresh `MockRuntime` by default), as `run(agent)`
    receives it; `fields` set the session (`sessionId`, `sessionWalletAddress`, `settings`,
    `currentPositions`, `executionMode`, ...)."""
    from sdk.context import AgentContext

    values: dict[str, Any] = {"sessionId": 7, "sessionWalletAddress": "0x" + "ab" * 20}
    values.update(fields)
    return AgentContext(transport=runtime or MockRuntime(), **values)
