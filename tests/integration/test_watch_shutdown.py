"""At shutdown every open WatchEvents stream ends UNAVAILABLE (reconnect and resume), on the
native port and the browser port alike; CANCELLED would tell a client the call was given up."""

from __future__ import annotations

import asyncio

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError

from corral.v1 import orchestrator_pb2 as pb
from orchestrator.api.access import CALLER
from orchestrator.api.connect_adapter import ConnectOrchestrator
from orchestrator.store.principals import LOCAL
from tests.integration.api_in_process import serving
from tests.unit.test_connect_adapter import context


def test_open_streams_end_unavailable_at_shutdown(tmp_path):
    with serving(tmp_path) as api:
        adapter = ConnectOrchestrator(api.servicer)

        async def both():
            native = api.stub.WatchEvents(pb.WatchEventsRequest(after_event_id=0, heartbeat_seconds=1))

            async def browser():
                CALLER.set(LOCAL)  # as the browser port's guard sets it on an API without keys
                try:
                    async for _event in adapter.watch_events(pb.WatchEventsRequest(after_event_id=0, heartbeat_seconds=1), context()):
                        pass
                except ConnectError as error:
                    return error.code, error.message
                return None

            browsing = asyncio.ensure_future(browser())
            assert (await native.read()).WhichOneof("object") == "heartbeat"  # open, replay done
            await asyncio.sleep(0.2)
            api.servicer.close_streams()
            try:
                while await native.read() is not grpc.aio.EOF:
                    pass
            except grpc.aio.AioRpcError as error:
                return (error.code(), error.details()), await browsing
            raise AssertionError("the native stream ended without a status")

        native, browser = api.loop.run(both())
    assert native[0] == grpc.StatusCode.UNAVAILABLE and "resume" in native[1]
    assert browser is not None and browser[0] == Code.UNAVAILABLE and "resume" in browser[1]
