"""`sdk.testing`, the stand-in for the execution's socket that agent authors (and the SDK's
own unit tests) use: it answers only what the runtime service has, and keeps memory and logs.

Importing this module also puts `sdk/compat` on the path, as PYTHONPATH does in the sandbox.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
import pytest

from corral.v1 import runtime_pb2
from sdk.testing import MockRuntime, RpcRefusal, mock_context

# Agents import the SDK as `agent_sdk` / `circuit_sdk`; in the sandbox, PYTHONPATH has sdk/compat.
COMPAT_DIR = Path(__file__).resolve().parents[2] / "sdk" / "compat"
if str(COMPAT_DIR) not in sys.path:
    sys.path.insert(0, str(COMPAT_DIR))

def test_the_mock_only_answers_methods_the_runtime_service_has():
    fake = MockRuntime()
    assert isinstance(fake.call("ClearSuggestions", runtime_pb2.ClearSuggestionsRequest()), runtime_pb2.ClearSuggestionsResponse)
    with pytest.raises(AttributeError):
        fake.call("Swap", runtime_pb2.ClearSuggestionsRequest())
    with pytest.raises(TypeError, match="SetMemory takes a SetMemoryRequest"):
        fake.call("SetMemory", runtime_pb2.GetMemoryRequest())
    fake.responses["GetMemory"] = RpcRefusal(grpc.StatusCode.INVALID_ARGUMENT, "nope")
    with pytest.raises(grpc.RpcError):
        fake.call("GetMemory", runtime_pb2.GetMemoryRequest(key="k"))


def test_an_agent_under_test_keeps_memory_and_logs_in_the_mock():
    runtime = MockRuntime()
    agent = mock_context(runtime)
    assert agent.memory.set("last", "101").success
    assert agent.memory.get("last").data.value == "101"
    assert agent.memory.list().data.keys == ["last"]
    agent.log("bought 1")
    assert runtime.memory == {"last": "101"} and runtime.logs == ["bought 1"]
    assert agent.memory.delete("last").success and runtime.memory == {}
