"""agent.memory: scopes on the wire, the key and value rules checked before the wire with
the platform's own error strings, misses, and list sorted and capped at 1000."""

from __future__ import annotations

import grpc
import pytest

from corral.v1 import runtime_pb2
from sdk.envelopes import Envelope
from sdk.memory import MAX_LIST_ITEMS
from sdk.testing import MockRuntime, RpcRefusal, mock_context


def test_session_scope_by_default_shared_on_request():
    fake = MockRuntime(SetMemory=lambda r: runtime_pb2.SetMemoryResponse(key=r.key))
    memory = mock_context(fake).memory
    assert memory.set("a", "1").model_dump() == {"success": True, "data": {"key": "a"}, "error": None}
    assert memory.set("a", "2", shared=True).data.key == "a"
    memory.get("a")
    memory.get("a", shared=True)
    memory.delete("a", True)
    memory.list(shared=True)
    memory.set("a", "3", {"shared": False})  # TypeScript-style options
    memory.list({"prefix": "a", "shared": True})
    scopes = [(name, r.scope) for name, r in fake.calls]
    assert scopes == [
        ("SetMemory", runtime_pb2.MEMORY_SCOPE_SESSION),
        ("SetMemory", runtime_pb2.MEMORY_SCOPE_SHARED),
        ("GetMemory", runtime_pb2.MEMORY_SCOPE_SESSION),
        ("GetMemory", runtime_pb2.MEMORY_SCOPE_SHARED),
        ("DeleteMemory", runtime_pb2.MEMORY_SCOPE_SHARED),
        ("ListMemory", runtime_pb2.MEMORY_SCOPE_SHARED),
        ("SetMemory", runtime_pb2.MEMORY_SCOPE_SESSION),
        ("ListMemory", runtime_pb2.MEMORY_SCOPE_SHARED),
    ]
    assert fake.requests("ListMemory")[1].prefix == "a"
    assert fake.requests("SetMemory")[1].value == "2"


def test_a_miss_is_success_with_a_null_value():
    memory = mock_context(MockRuntime(GetMemory=lambda r: runtime_pb2.GetMemoryResponse(key=r.key))).memory
    result = memory.get("never-set")
    assert result.success and result.error is None
    assert (result.data.key, result.data.value, result.data.updated_at, result.data.updatedAt) == ("never-set", None, None, None)
    assert result["data"]["value"] is None


def test_a_hit_has_its_value_and_write_time_under_both_names():
    hit = runtime_pb2.GetMemoryResponse(key="k", value="v", updated_at_ms=1_700_000_000_000)
    result = mock_context(MockRuntime(GetMemory=hit)).memory.get("k")
    assert result.data.value == "v" and result.data.updated_at == result.data.updatedAt == result.data["updatedAt"] == 1_700_000_000_000


def test_delete_of_a_missing_key_succeeds():
    memory = mock_context(MockRuntime(DeleteMemory=lambda r: runtime_pb2.DeleteMemoryResponse(key=r.key))).memory
    assert memory.delete("gone").model_dump() == {"success": True, "data": {"key": "gone"}, "error": None}


@pytest.mark.parametrize("key", ["k", "x" * 255, "ünïcödé", "a/b:c d"])
def test_keys_of_1_to_255_characters_go_through(key):
    fake = MockRuntime()
    memory = mock_context(fake).memory
    assert memory.set(key, "v").success and memory.get(key).success and memory.delete(key).success
    assert [r.key for _, r in fake.calls] == [key] * 3


@pytest.mark.parametrize(
    ("key", "error"),
    [
        ("", "memory keys must be 1–255 characters; got 0"),
        ("x" * 256, "memory keys must be 1–255 characters; got 256"),
        (5, "memory keys must be strings, got int"),
        (None, "memory keys must be strings, got NoneType"),
        (b"k", "memory keys must be strings, got bytes"),
    ],
)
def test_bad_keys_are_refused_before_the_wire_with_the_platforms_error(key, error):
    fake = MockRuntime()
    memory = mock_context(fake).memory
    for result in (memory.set(key, "v"), memory.get(key), memory.delete(key), memory.get(key, shared=True)):
        assert result == Envelope(success=False, error=error)
    assert fake.calls == []


@pytest.mark.parametrize("value", [1, 1.5, None, True, {"a": 1}, ["a"], b"bytes"])
def test_values_must_be_strings(value):
    fake = MockRuntime()
    result = mock_context(fake).memory.set("k", value)
    assert result.success is False and result.data is None
    assert result.error.startswith(f"memory values must be strings, got {type(value).__name__}")
    assert fake.calls == []


def test_the_platforms_refusal_comes_back_as_its_error():
    too_big = RpcRefusal(grpc.StatusCode.INVALID_ARGUMENT, "memory values are limited to 65536 bytes; got 70000")
    result = mock_context(MockRuntime(SetMemory=too_big)).memory.set("k", "v" * 70000)
    assert result == Envelope(success=False, error="memory values are limited to 65536 bytes; got 70000")


def _listing(keys: list[str]) -> runtime_pb2.ListMemoryResponse:
    return runtime_pb2.ListMemoryResponse(items=[runtime_pb2.MemoryItem(key=k, updated_at_ms=i) for i, k in enumerate(keys)])


def test_list_is_sorted_by_key():
    memory = mock_context(MockRuntime(ListMemory=_listing(["b", "a", "c/1", "B", "a0"]))).memory
    result = memory.list()
    assert result.success
    assert [item.key for item in result.data.items] == ["B", "a", "a0", "b", "c/1"]
    assert result.data.items[0].updatedAt == 3 and result.data.items[0].updated_at == 3
    # Circuit ≤1.x read `{keys, count}`.
    assert result.data.keys == ["B", "a", "a0", "b", "c/1"] and result.data.count == 5
    assert result["data"]["count"] == 5


def test_list_is_capped_at_1000_items():
    keys = [f"k{i:05d}" for i in range(1500)][::-1]
    result = mock_context(MockRuntime(ListMemory=_listing(keys))).memory.list()
    assert len(result.data.items) == MAX_LIST_ITEMS == 1000
    assert result.data.keys == sorted(keys)[:1000] and result.data.count == 1000


def test_list_prefix_goes_on_the_wire_and_must_be_a_string():
    fake = MockRuntime()
    memory = mock_context(fake).memory
    assert memory.list(prefix="trade:").success
    assert memory.list().success
    with_prefix, without = fake.requests("ListMemory")
    assert with_prefix.prefix == "trade:" and not without.HasField("prefix")
    assert memory.list(prefix=3) == Envelope(success=False, error="memory list prefix must be a string, got int")
    assert len(fake.calls) == 2


def test_wrong_arguments_are_an_envelope_not_a_type_error():
    memory = mock_context().memory
    missing = memory.get()
    assert missing.success is False and "TypeError" in missing.error and "key" in missing.error
    assert memory.set("k").success is False
    assert memory.list("p", True, "extra").success is False
