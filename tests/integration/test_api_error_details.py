"""A refusal of one field carries a google.rpc.BadRequest naming the field (issue 18, item 3):
in `grpc-status-details-bin` on the native port (what grpcio-status's `rpc_status.from_call`
reads), and as Connect error details on the browser port, so a console can mark the field
without parsing the message."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from connectrpc.errors import ConnectError
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from corral.v1 import orchestrator_pb2 as pb
from orchestrator.api.access import CALLER
from orchestrator.api.connect_adapter import ConnectOrchestrator
from orchestrator.store.principals import LOCAL
from tests.integration.api_in_process import WALLET, serving
from tests.unit.test_connect_adapter import context


@pytest.fixture
def api(tmp_path):
    with serving(tmp_path) as api:
        yield api


def violations_of(details) -> list[tuple[str, str]]:
    """(field, description) of every BadRequest among a status's details."""
    found = []
    for detail in details:
        if detail.type_url.endswith("/google.rpc.BadRequest"):
            bad = error_details_pb2.BadRequest.FromString(detail.value)
            found += [(v.field, v.description) for v in bad.field_violations]
    return found


def native_refusal(api, method: str, request) -> tuple[grpc.StatusCode, str, list[tuple[str, str]]]:
    async def once():
        try:
            await getattr(api.stub, method)(request, timeout=10)
        except grpc.aio.AioRpcError as error:
            status = rpc_status.from_call(error)  # also checks the status's code and message are the call's
            return error.code(), error.details(), violations_of(status.details if status else [])
        raise AssertionError(f"{method} was accepted")

    return api.loop.run(once())


CASES = [
    ("StartSession", pb.StartSessionRequest(agent_id=1, wallet_address=WALLET, settings={"note": "x" * 5000}), "settings['note']"),
    ("StartSession", pb.StartSessionRequest(agent_id=1, wallet_address=WALLET, allocation_amount="1²"), "allocation_amount"),
    ("StartSession", pb.StartSessionRequest(agent_id=1, wallet_address=WALLET, execution_mode=99), "execution_mode"),
    ("StartSession", pb.StartSessionRequest(agent_id=1, wallet_address=WALLET, breakers=pb.SessionBreakers(max_loss_percent="ten")),
     "breakers.max_loss_percent"),
    ("HaltPlatform", pb.HaltPlatformRequest(reason="r" * 1001), "reason"),
    # The agent's schema: the one setting at fault, not the whole map.
    ("StartSession", pb.StartSessionRequest(agent_id=1, wallet_address=WALLET, settings={"count": "three"}), "settings['count']"),
    ("StartSession", pb.StartSessionRequest(agent_id=1, wallet_address=WALLET, settings={"cuont": "3"}), "settings['cuont']"),
    ("UpdateSession", pb.UpdateSessionRequest(session=pb.Session(id=1, settings={"count": "1.5"}), update_mask=FieldMask(paths=["settings"])),
     "session.settings['count']"),
]


@pytest.mark.parametrize(("method", "request_", "field"), CASES)
def test_an_invalid_field_is_named_in_the_status_details(api, method, request_, field):
    code, message, violations = native_refusal(api, method, request_)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert violations == [(field, message)]


def test_a_refusal_of_no_particular_field_has_no_details(api):
    code, _message, violations = native_refusal(api, "StopSession", pb.StopSessionRequest(session_id=999))
    assert (code, violations) == (grpc.StatusCode.NOT_FOUND, [])


@pytest.mark.parametrize(("method", "request_", "field"), CASES[:1] + CASES[3:4])
def test_the_browser_port_sends_the_same_details(api, method, request_, field):
    adapter = ConnectOrchestrator(api.servicer)
    name = "start_session" if method == "StartSession" else method

    async def once():
        CALLER.set(LOCAL)  # as the browser port's guard sets it on an API without keys
        try:
            await getattr(adapter, name)(request_, context())
        except ConnectError as error:
            return error
        raise AssertionError("accepted")

    error = asyncio.run(once())
    details = [type("Detail", (), {"type_url": "type.googleapis.com/" + d.type_name, "value": d.message_bytes}) for d in error.details]
    assert violations_of(details) == [(field, error.message)]
