"""`agent.memory`: string values under 1–255 character keys, session or shared scope.

The rules are checked here too, before anything goes over the wire, with the platform's
own error strings: a bad key or a non-string value comes back as `success=False`, the
same envelope the platform would answer with. A miss is `success=True, value=None`.
`list()` is sorted by key and capped at 1000 items.
"""

from __future__ import annotations

from typing import Any

from corral.v1 import runtime_pb2
from sdk.envelopes import (
    Envelope,
    MemoryKeyData,
    MemoryListData,
    MemoryListItem,
    MemoryValueData,
    RuntimeCall,
    never_raises,
)

MAX_KEY_CHARS = 255
MAX_LIST_ITEMS = 1000


def _scope(shared: Any) -> runtime_pb2.MemoryScope:
    # TypeScript-style options (`{"shared": True}`) are read too.
    if isinstance(shared, dict):
        shared = shared.get("shared", False)
    return runtime_pb2.MEMORY_SCOPE_SHARED if shared else runtime_pb2.MEMORY_SCOPE_SESSION


def key_error(key: Any) -> str | None:
    """Why `key` is not a memory key, or None."""
    if not isinstance(key, str):
        return f"memory keys must be strings, got {type(key).__name__}"
    if not 1 <= len(key) <= MAX_KEY_CHARS:
        return f"memory keys must be 1–{MAX_KEY_CHARS} characters; got {len(key)}"
    return None


def sorted_capped(items: list[MemoryListItem]) -> list[MemoryListItem]:
    return sorted(items, key=lambda item: item.key)[:MAX_LIST_ITEMS]


class MemoryApi:
    def __init__(self, call: RuntimeCall) -> None:
        # `call(method, request, to_data)` returns an envelope and never raises.
        self._call = call

    @never_raises()
    def set(self, key: str, value: str, shared: bool = False) -> Envelope[MemoryKeyData]:
        if (problem := key_error(key)) is not None:
            return Envelope(success=False, error=problem)
        given: object = value  # `str` for a type checker; agents without one pass anything
        if not isinstance(given, str):
            return Envelope(success=False, error=f"memory values must be strings, got {type(value).__name__}; serialize it first (json.dumps)")
        return self._call(
            "SetMemory",
            runtime_pb2.SetMemoryRequest(key=key, value=value, scope=_scope(shared)),
            lambda r: MemoryKeyData(key=r.key),
        )

    @never_raises()
    def get(self, key: str, shared: bool = False) -> Envelope[MemoryValueData]:
        if (problem := key_error(key)) is not None:
            return Envelope(success=False, error=problem)
        return self._call(
            "GetMemory",
            runtime_pb2.GetMemoryRequest(key=key, scope=_scope(shared)),
            lambda r: MemoryValueData(
                key=r.key,
                value=r.value if r.HasField("value") else None,
                updatedAt=r.updated_at_ms if r.HasField("updated_at_ms") else None,
            ),
        )

    @never_raises()
    def delete(self, key: str, shared: bool = False) -> Envelope[MemoryKeyData]:
        if (problem := key_error(key)) is not None:
            return Envelope(success=False, error=problem)
        return self._call(
            "DeleteMemory",
            runtime_pb2.DeleteMemoryRequest(key=key, scope=_scope(shared)),
            lambda r: MemoryKeyData(key=r.key),
        )

    @never_raises()
    def list(self, prefix: str | dict[str, Any] | None = None, shared: bool = False) -> Envelope[MemoryListData]:
        if isinstance(prefix, dict):  # TypeScript-style `list({prefix, shared})`
            options = prefix  # (mypy narrows `prefix` before reading the second get)
            prefix, shared = options.get("prefix"), options.get("shared", shared)
        if prefix is not None and not isinstance(prefix, str):
            return Envelope(success=False, error=f"memory list prefix must be a string, got {type(prefix).__name__}")
        request = runtime_pb2.ListMemoryRequest(scope=_scope(shared))
        if prefix:
            request.prefix = prefix
        return self._call(
            "ListMemory",
            request,
            lambda r: MemoryListData(items=sorted_capped([MemoryListItem(key=i.key, updatedAt=i.updated_at_ms) for i in r.items])),
        )
