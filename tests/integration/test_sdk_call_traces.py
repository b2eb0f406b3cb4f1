"""An SDK call is the root of a trace of its own: a `traceparent` an agent sends (another
trace's id, sampling turned off) and its baggage are ignored, so an agent neither hides its
calls from traces nor grafts them onto someone else's. Real runtime server, spans recorded in
memory."""

from __future__ import annotations

import grpc
from opentelemetry import trace

from corral.v1 import runtime_pb2, runtime_pb2_grpc
from orchestrator.executions.runtime_service import ExecutionTicket, start_runtime_server
from orchestrator.store import ExecutionRow, utcnow
from orchestrator.tracing import REQUEST_ID, _OutboundOnly, log_fields, tag_request
from tests.helpers import OWN_CONNECTION, recorded_spans, seed_sessions

TOKEN = "t" * 43
FOREIGN_TRACE = "ab" * 16


def test_a_traceparent_sent_by_the_agent_is_ignored(db, tmp_path):
    import asyncio

    spans = recorded_spans()
    (session,) = seed_sessions(db, 1)
    with db.session() as s:
        s.add(ExecutionRow(id=1, session_id=1, command="run", status="running", started_at=utcnow()))
        s.commit()
    ticket = ExecutionTicket(execution_id=1, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[])
    socket_path = tmp_path / "r.sock"
    hostile = (("authorization", f"Bearer {TOKEN}"), ("traceparent", f"00-{FOREIGN_TRACE}-{'cd' * 8}-00"), ("baggage", "x=" + "y" * 3000))

    async def scenario():
        server = await start_runtime_server(str(socket_path), ticket, db, gateway=None)
        try:
            async with grpc.aio.insecure_channel(f"unix:{socket_path}", options=OWN_CONNECTION) as channel:
                await runtime_pb2_grpc.AgentRuntimeStub(channel).GetMemory(runtime_pb2.GetMemoryRequest(key="a"), metadata=hostile)
        finally:
            await server.stop(None)

    asyncio.run(scenario())
    [span] = [s for s in spans.get_finished_spans() if s.name == "/corral.v1.AgentRuntime/GetMemory"]
    assert span.parent is None and format(span.context.trace_id, "032x") != FOREIGN_TRACE
    assert span.context.trace_flags.sampled and span.attributes["rpc.grpc.status_code"] == "OK"


def test_calls_served_take_no_trace_context_and_only_short_request_ids_tag_a_span():
    extracted = _OutboundOnly().extract({"traceparent": f"00-{FOREIGN_TRACE}-{'cd' * 8}-01"})
    assert not trace.get_current_span(extracted).get_span_context().is_valid
    spans = recorded_spans()
    tracer = trace.get_tracer("test")
    for request_id in ("req-1", "x" * 65, "bad\nid"):
        with tracer.start_as_current_span(f"call {len(request_id)}"), log_fields():  # log_fields: bound ids reset after
            tag_request(request_id)
    tagged = {s.name: s.attributes.get(REQUEST_ID) for s in spans.get_finished_spans()}
    assert tagged == {"call 5": "req-1", "call 65": None, "call 6": None}
