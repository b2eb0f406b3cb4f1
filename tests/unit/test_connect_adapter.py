"""The Connect service is OrchestratorApi itself: every method delegates to the servicer's,
a refusal keeps its gRPC code and message, and an unexpected error is INTERNAL with a request id,
never the exception's text."""

from __future__ import annotations

import asyncio
import inspect

import grpc
import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.request import Headers, RequestContext

from corral.v1 import orchestrator_pb2 as pb
from corral.v1.orchestrator_connect import OrchestratorService
from orchestrator.api.connect_adapter import ConnectOrchestrator, connect_code
from orchestrator.errors import as_grpc_status, not_found
from tests.helpers import recorded_spans


def context(headers: dict[str, str] | None = None) -> RequestContext:
    method = MethodInfo(name="GetSession", service_name="corral.v1.OrchestratorService", input=pb.GetSessionRequest,
                        output=pb.GetSessionResponse, idempotency_level=IdempotencyLevel.UNKNOWN, stream_type=StreamType.UNARY)
    return RequestContext(method=method, http_method="POST", request_headers=Headers(headers or {}), client_address="127.0.0.1:5000")


class AllowEveryTarget:
    """Access that finds every request's target the caller's (what the guard and the real
    Access decide is tested in test_api_principals)."""

    async def check(self, method, request) -> None:
        return None


class FakeApi:
    """Stands in for OrchestratorApi: answers GetSession, refuses GetPlatformStatus as the real
    servicer refuses, fails ListAgents unexpectedly, and streams two events then aborts."""

    access = AllowEveryTarget()

    def __getattr__(self, name):
        async def unimplemented(request, context):
            raise AssertionError(name)

        return unimplemented

    async def GetSession(self, request, context):
        assert dict(context.invocation_metadata())["authorization"] == "Bearer t" and context.peer() == "ipv4:127.0.0.1:5000"
        return pb.GetSessionResponse(session=pb.Session(id=request.session_id))

    @as_grpc_status
    async def GetPlatformStatus(self, request, context):
        raise not_found("no such thing; try another")

    async def ListAgents(self, request, context):
        return {}["the secret internals"]

    async def ListWallets(self, request, context):
        raise not_found("an undecorated refusal")

    async def WatchEvents(self, request, context):
        yield pb.Event(id=1)
        yield pb.Event(id=2)
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "stop here")


def test_every_generated_method_is_served_by_the_adapter():
    adapter = ConnectOrchestrator(FakeApi())
    generated = {name for name, _ in inspect.getmembers(OrchestratorService, inspect.isfunction)}
    assert generated and all(callable(getattr(adapter, name, None)) for name in generated)


def test_every_grpc_code_has_its_connect_code():
    for code in grpc.StatusCode:
        if code != grpc.StatusCode.OK:
            assert connect_code(code).name == code.name.replace("CANCELLED", "CANCELED")


def test_calls_delegate_and_refusals_keep_their_code_and_message():
    adapter = ConnectOrchestrator(FakeApi())
    answer = asyncio.run(adapter.get_session(pb.GetSessionRequest(session_id=7), context({"authorization": "Bearer t"})))
    assert answer.session.id == 7
    with pytest.raises(ConnectError) as refused:
        asyncio.run(adapter.get_platform_status(pb.GetPlatformStatusRequest(), context()))
    assert refused.value.code == Code.NOT_FOUND and refused.value.message == "no such thing; try another"
    with pytest.raises(ConnectError) as refused:
        asyncio.run(adapter.list_wallets(pb.ListWalletsRequest(), context()))
    assert refused.value.code == Code.NOT_FOUND and refused.value.message == "an undecorated refusal"


def test_an_unexpected_error_is_internal_with_a_request_id_and_no_python_text(caplog):
    adapter = ConnectOrchestrator(FakeApi())
    with pytest.raises(ConnectError) as failed:
        asyncio.run(adapter.list_agents(pb.ListAgentsRequest(), context()))
    assert failed.value.code == Code.INTERNAL and "request id" in failed.value.message
    assert "KeyError" not in failed.value.message and "secret internals" not in failed.value.message
    assert "KeyError" in caplog.text  # the details are in the server log


def test_each_call_on_the_browser_port_is_a_span_named_as_the_grpc_ports_with_its_error_code():
    spans = recorded_spans()
    adapter = ConnectOrchestrator(FakeApi())
    asyncio.run(adapter.get_session(pb.GetSessionRequest(session_id=7), context({"authorization": "Bearer t"})))
    with pytest.raises(ConnectError):
        asyncio.run(adapter.get_platform_status(pb.GetPlatformStatusRequest(), context()))
    ended = {s.name: s for s in spans.get_finished_spans() if s.name.startswith("/corral.v1.OrchestratorService/")}
    answered, refused = ended["/corral.v1.OrchestratorService/GetSession"], ended["/corral.v1.OrchestratorService/GetPlatformStatus"]
    assert answered.attributes["rpc.system"] == "connect_rpc" and answered.attributes["rpc.method"] == "GetSession"
    assert "rpc.connect_rpc.error_code" not in answered.attributes and answered.kind.name == "SERVER"
    assert refused.attributes["rpc.connect_rpc.error_code"] == "not_found"


def test_a_stream_delivers_its_messages_then_its_status():
    adapter = ConnectOrchestrator(FakeApi())

    async def read():
        seen = []
        with pytest.raises(ConnectError) as ended:
            async for event in adapter.watch_events(pb.WatchEventsRequest(), context()):
                seen.append(event.id)
        return seen, ended.value

    seen, ended = asyncio.run(read())
    assert seen == [1, 2] and ended.code == Code.FAILED_PRECONDITION and ended.message == "stop here"
