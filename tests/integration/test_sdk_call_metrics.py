"""SDK calls are counted for /metrics by method and status code, on a real runtime server: an
answered call as OK, a refusal with its code, a call without the token as UNAUTHENTICATED, and
a method path an agent made up as "unknown" (an agent cannot add series)."""

from __future__ import annotations

import grpc
from prometheus_client import REGISTRY

from corral.v1 import runtime_pb2
from orchestrator.executions.runtime_service import ExecutionTicket
from orchestrator.store import ExecutionRow, utcnow
from tests.helpers import OWN_CONNECTION, seed_sessions, with_runtime

TOKEN = "t" * 43


def calls(method: str, code: str) -> float:
    return REGISTRY.get_sample_value("corral_sdk_calls_total", {"method": method, "code": code}) or 0.0


def timed(method: str) -> float:
    return REGISTRY.get_sample_value("corral_sdk_call_seconds_count", {"method": method}) or 0.0


def test_sdk_calls_are_counted_by_method_and_code_and_made_up_methods_add_no_series(db, tmp_path):
    (session,) = seed_sessions(db, 1)
    with db.session() as s:
        s.add(ExecutionRow(id=1, session_id=1, command="run", status="running", started_at=utcnow()))
        s.commit()
    ticket = ExecutionTicket(execution_id=1, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[])
    made_up = "/corral.v1.AgentRuntime/Drain" + "x" * 40
    before = {
        "ok": calls("GetMemory", "OK"), "timed": timed("GetMemory"), "refused": calls("SetMemory", "INVALID_ARGUMENT"),
        "no token": calls("GetMemory", "UNAUTHENTICATED"), "unknown": calls("unknown", "UNIMPLEMENTED"),
    }

    async def scenario(runtime):
        await runtime.GetMemory(runtime_pb2.GetMemoryRequest(key="a"))
        await runtime.GetMemory(runtime_pb2.GetMemoryRequest(key="b"))
        refusals = []
        try:
            await runtime.SetMemory(runtime_pb2.SetMemoryRequest(key="", value="v"))  # an empty key is refused
        except grpc.aio.AioRpcError as refused:
            refusals.append(refused.code())
        async with grpc.aio.insecure_channel(f"unix:{tmp_path / 'r.sock'}", options=OWN_CONNECTION) as channel:
            for path, metadata in ((made_up, (("authorization", f"Bearer {TOKEN}"),)), ("/corral.v1.AgentRuntime/GetMemory", ())):
                try:
                    await channel.unary_unary(path)(b"", metadata=metadata)
                except grpc.aio.AioRpcError as refused:
                    refusals.append(refused.code())
        return refusals

    refusals = with_runtime(tmp_path / "r.sock", ticket, db, scenario)
    assert refusals == [grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.UNAUTHENTICATED]
    assert calls("GetMemory", "OK") - before["ok"] == 2
    assert timed("GetMemory") - before["timed"] == 2
    assert calls("SetMemory", "INVALID_ARGUMENT") - before["refused"] == 1
    assert calls("GetMemory", "UNAUTHENTICATED") - before["no token"] == 1
    assert calls("unknown", "UNIMPLEMENTED") - before["unknown"] == 1
    names = {sample.labels.get("method") for family in REGISTRY.collect() if family.name == "corral_sdk_calls" for sample in family.samples}
    assert not any("Drain" in (name or "") for name in names)
