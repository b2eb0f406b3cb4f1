"""The SDK's only way out of the sandbox: gRPC over the execution's Unix socket."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Protocol

from sdk.lean_grpc import grpc

# isort: split
# After sdk.lean_grpc: the generated module imports grpc itself, which must come from there first.
from corral.v1 import runtime_pb2_grpc

if TYPE_CHECKING:
    from google.protobuf.message import Message

DEFAULT_SOCKET = "/run/corral/runtime.sock"
# Circuit's SDK allows 900 s per call; a transaction waits for its receipt.
CALL_TIMEOUT_SECONDS = 900.0


class Transport(Protocol):
    """Where AgentContext's calls go: a RuntimeTransport, or a stand-in such as sdk.testing.MockRuntime."""

    def call(self, method: str, request: Message) -> Any: ...


class RuntimeTransport:
    """The channel is made by the first call, not with the transport: a pre-started sandbox
    is handed its execution's context with the doorbell's ring (sandbox_runner/inside/doorbell.py),
    so `run()` is entered without waiting for gRPC to start (its threads, about 3 ms of CPU)
    and the first SDK call is the first thing that needs them."""

    def __init__(self, socket_path: str | None = None, token: str | None = None) -> None:
        self.socket_path = socket_path or os.environ.get("CORRAL_SOCKET", DEFAULT_SOCKET)
        self._metadata = (("authorization", f"Bearer {token or os.environ.get('CORRAL_TOKEN', '')}"),)
        self._channel: grpc.Channel | None = None
        self._stub: Any = None
        self._connecting = threading.Lock()  # an agent may make its first calls from several threads

    def _connected_stub(self) -> Any:
        if self._stub is None:
            with self._connecting:
                if self._stub is None:
                    self._channel = grpc.insecure_channel(f"unix:{self.socket_path}")
                    self._stub = runtime_pb2_grpc.AgentRuntimeStub(self._channel)  # type: ignore[no-untyped-call]  # generated code, unannotated
        return self._stub

    def call(self, method: str, request: Message) -> Any:
        """Calls one RPC; raises grpc.RpcError, which callers turn into an envelope."""
        return getattr(self._connected_stub(), method)(request, metadata=self._metadata, timeout=CALL_TIMEOUT_SECONDS)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()


def describe_rpc_error(exc: grpc.RpcError) -> str:
    """The server's message; failing that, the status code (never an empty string)."""
    details = exc.details() if hasattr(exc, "details") else None
    if details:
        return str(details)
    code = exc.code() if hasattr(exc, "code") else None
    return str(exc) or f"runtime call failed ({getattr(code, 'name', None) or type(exc).__name__})"
