"""`agent.memory`: string values under 1–255 character keys, session or shared scope."""

from __future__ import annotations

from typing import Callable

from corral.v1 import runtime_pb2
from sdk.envelopes import (
    Envelope,
    MemoryKeyData,
    MemoryListData,
    MemoryListItem,
    MemoryValueData,
)


def _scope(shared: bool) -> int:
    return runtime_pb2.MEMORY_SCOPE_SHARED if shared else runtime_pb2.MEMORY_SCOPE_SESSION


class MemoryApi:
    def __init__(self, call: Callable) -> None:
        # `call(method, request, to_data)` returns an envelope and never raises.
        self._call = call

    def set(self, key: str, value: str, shared: bool = False) -> Envelope[MemoryKeyData]:
        if not isinstance(value, str):
            return Envelope(success=False, error=f"memory values must be strings, got {type(value).__name__}; serialize it first (json.dumps)")
        return self._call(
            "SetMemory",
            runtime_pb2.SetMemoryRequest(key=key, value=value, scope=_scope(shared)),
            lambda r: MemoryKeyData(key=r.key),
        )

    def get(self, key: str, shared: bool = False) -> Envelope[MemoryValueData]:
        return self._call(
            "GetMemory",
            runtime_pb2.GetMemoryRequest(key=key, scope=_scope(shared)),
            lambda r: MemoryValueData(
                key=r.key,
                value=r.value if r.HasField("value") else None,
                updatedAt=r.updated_at_ms if r.HasField("updated_at_ms") else None,
            ),
        )

    def delete(self, key: str, shared: bool = False) -> Envelope[MemoryKeyData]:
        return self._call(
            "DeleteMemory",
            runtime_pb2.DeleteMemoryRequest(key=key, scope=_scope(shared)),
            lambda r: MemoryKeyData(key=r.key),
        )

    def list(self, prefix: str | None = None, shared: bool = False) -> Envelope[MemoryListData]:
        request = runtime_pb2.ListMemoryRequest(scope=_scope(shared))
        if prefix is not None:
            request.prefix = prefix
        return self._call(
            "ListMemory",
            request,
            lambda r: MemoryListData(items=[MemoryListItem(key=i.key, updatedAt=i.updated_at_ms) for i in r.items]),
        )
