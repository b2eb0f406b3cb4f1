"""The frontend API's boundary, one defect at a time (issue 18, item 4): every request is
checked before it has any effect; a refusal is INVALID_ARGUMENT naming the field and the fix,
quoting at most a short prefix of what was sent, and stores nothing; what nobody foresaw is
INTERNAL with a request id, its details only in the server's log. The same properties over
generated requests: test_api_fuzz.py."""

from __future__ import annotations

import logging
import re

import grpc
import pytest
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from grpc_reflection.v1alpha import reflection_pb2

from corral.v1 import orchestrator_pb2 as pb
from orchestrator.actions.breakers import Breakers
from orchestrator.store import SessionRow
from tests.integration.api_in_process import NATIVE, WALLET, serving

# A client's default limit on a status's trailer is 8 KiB; a short message is far below it.
SHORT = 1024


@pytest.fixture
def api(tmp_path):
    with serving(tmp_path) as api:
        yield api


def start(**fields) -> pb.StartSessionRequest:
    # Session 1 (seeded) runs agent 1 on the wallet; agent 1 has no second session slot, so a
    # start that passes every check would be refused only by the duplicate check: stop it.
    return pb.StartSessionRequest(agent_id=1, wallet_address=WALLET, **fields)


def refused_and_nothing_stored(api, method: str, request) -> tuple[grpc.StatusCode, str]:
    before = api.dump()
    code, details, _reply = api.call(method, request)
    assert code != grpc.StatusCode.OK, f"{method} accepted it"
    assert api.dump() == before, f"{method} was refused ({code}) but changed the store"
    assert len(details) < SHORT and not re.search(r"Error\b|Traceback", details), details
    return code, details


@pytest.fixture
def free_slot(api):
    """Stops session 1, so a StartSession that passes every check would start one."""
    assert api.call("StopSession", pb.StopSessionRequest(session_id=1))[0] == grpc.StatusCode.OK
    return api


def test_an_unknown_execution_mode_is_invalid_argument_naming_the_modes(free_slot):
    code, details = refused_and_nothing_stored(free_slot, "StartSession", start(execution_mode=7))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "execution_mode" in details and "EXECUTION_MODE_AUTO" in details


@pytest.mark.parametrize("amount", ["1²", "١٢٣٤٥", "１２３４５", "12345 ", "+12345", "-1", "1e5", "", "1" * 79, "0x3039"])
def test_an_allocation_is_ascii_digits_of_bounded_length(free_slot, amount):
    code, details = refused_and_nothing_stored(free_slot, "StartSession", start(allocation_amount=amount))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "allocation_amount" in details and "digits" in details


def test_a_plain_allocation_still_starts_a_session(free_slot):
    code, details, reply = free_slot.call("StartSession", start(allocation_amount="12345", settings={"note": "hi"}))
    assert code == grpc.StatusCode.OK, details
    assert reply.session.allocation.current_qty == "12345" and reply.session.settings["note"] == "hi"


def test_a_request_past_the_size_limit_is_refused_before_it_is_read(free_slot):
    # Past 4 MiB; below it, the settings' own bounds refuse a 2.5 MB setting (the issue's case).
    before = free_slot.dump()
    code, details, _reply = free_slot.call("StartSession", start(settings={"note": "x" * 5_000_000}))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in details
    assert free_slot.dump() == before


@pytest.mark.parametrize(("settings", "named"), [
    ({"note": "x" * 2_500_000}, "note"),
    ({"note": "x" * 4097}, "note"),
    ({"k" * 65: "1"}, "settings key"),
    ({f"s{n}": "1" for n in range(65)}, "settings"),
])
def test_settings_are_bounded_in_size_key_length_and_count(free_slot, settings, named):
    code, details = refused_and_nothing_stored(free_slot, "StartSession", start(settings=settings))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert named in details and "at most" in details


@pytest.mark.parametrize("window", [2**64 - 1, 10**12, 315_360_001])
def test_a_loss_window_a_datetime_cannot_hold_is_refused_at_start(free_slot, window):
    breakers = pb.SessionBreakers(max_loss="100", max_loss_window_seconds=window)
    code, details = refused_and_nothing_stored(free_slot, "StartSession", start(breakers=breakers))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_loss_window_seconds" in details and "315360000" in details


@pytest.mark.parametrize("max_loss", ["1²", "١٠٠", "1" * 79])
def test_a_loss_limit_is_ascii_digits_of_bounded_length(free_slot, max_loss):
    code, details = refused_and_nothing_stored(free_slot, "StartSession", start(breakers=pb.SessionBreakers(max_loss=max_loss)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "max_loss" in details


@pytest.mark.parametrize("percent", ["٥", "５", "5_0", "1E-28", " 5", "NaN"])
def test_a_loss_percentage_is_plain_ascii(free_slot, percent):
    breakers = pb.SessionBreakers(max_loss_percent=percent)
    code, details = refused_and_nothing_stored(free_slot, "StartSession", start(breakers=breakers))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "max_loss_percent" in details


def test_a_session_stored_with_a_huge_loss_window_is_still_checked(api):
    """Sessions started before the bound existed: the breaker reads their window as the
    bound (since the session started), rather than failing every scheduler pass."""
    with api.db.session() as s:
        row = s.get(SessionRow, 1)
        row.breakers = {"max_loss": 1, "max_loss_window_seconds": 2**64 - 1}
        s.commit()
    assert Breakers(api.db).check_loss(1) is None  # lost nothing: not tripped, and no OverflowError


@pytest.mark.parametrize(("method", "request_"), [
    ("StartSession", pb.StartSessionRequest(agent_id=1, wallet_address=WALLET, settings={"note": "y" * 100_000})),
    ("StartSession", pb.StartSessionRequest(agent_id=1, wallet_address="0x" + "ab" * 50_000)),
    ("RegisterAgent", pb.RegisterAgentRequest(image="img" * 40_000)),
    ("DeleteSessionSecret", pb.DeleteSessionSecretRequest(session_id=1, name="N" * 100_000)),
    ("HaltPlatform", pb.HaltPlatformRequest(reason="r" * 100_000)),
    ("UnwindSession", pb.UnwindSessionRequest(session_id=1, positions=[pb.PositionRef(network="n" * 100_000, asset_address=NATIVE)])),
])
def test_a_100_kb_input_gets_its_real_status_with_a_short_message(api, method, request_):
    code, details = refused_and_nothing_stored(api, method, request_)
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details[:200])


@pytest.mark.parametrize("size", [-1, -(2**31)])
def test_a_negative_page_size_is_refused(api, size):
    code, details = refused_and_nothing_stored(api, "ListExecutions", pb.ListExecutionsRequest(session_id=1, page_size=size))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "page_size" in details


@pytest.mark.parametrize("raw", [b"\xff\xff\xff", b"\x08", b"\x12\x05ab", b"\x0a\x80\x80\x80\x80\x10"])
def test_malformed_request_bytes_are_invalid_argument(api, raw):
    before = api.dump()
    code, details = api.call_raw("StartSession", raw)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "StartSession" in details
    assert api.dump() == before


def test_an_unexpected_failure_is_internal_with_a_request_id_and_its_details_only_in_the_log(api, monkeypatch, caplog):
    async def broken():
        raise KeyError("0xsecret-looking-detail")

    monkeypatch.setattr(api.signer, "wallets", broken)
    with caplog.at_level(logging.ERROR):
        code, details, _reply = api.call("ListWallets", pb.ListWalletsRequest())
    assert code == grpc.StatusCode.INTERNAL
    request_id = re.search(r"request id ([0-9a-f]{12})", details)
    assert request_id, details
    assert "KeyError" not in details and "secret-looking" not in details
    logged = [r for r in caplog.records if request_id.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and "0xsecret-looking-detail" in str(logged[0].exc_info[1])


def test_an_unexpected_failure_in_a_stream_is_internal_too(api, monkeypatch):
    def broken():
        raise RuntimeError("the feed broke")

    monkeypatch.setattr(api.servicer, "_event_feed", broken)
    code, details = api.call_raw("WatchEvents", pb.WatchEventsRequest().SerializeToString(), streaming=True)
    assert code == grpc.StatusCode.INTERNAL and "request id" in details and "RuntimeError" not in details


def test_reflection_is_served_as_v1_and_v1alpha(api):
    async def services(version: str) -> tuple[list[str], list[str]]:
        method = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
        call = api.channel.stream_stream(method, request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                         response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
        asked = [reflection_pb2.ServerReflectionRequest(list_services=""),
                 reflection_pb2.ServerReflectionRequest(file_containing_symbol="corral.v1.OrchestratorService")]
        replies = [reply async for reply in call(iter(asked), timeout=10)]
        listed = [s.name for s in replies[0].list_services_response.service]
        files = [FileDescriptorProto.FromString(raw).name for raw in replies[1].file_descriptor_response.file_descriptor_proto]
        return listed, files

    for version in ("v1", "v1alpha"):
        listed, files = api.loop.run(services(version))
        assert "corral.v1.OrchestratorService" in listed and f"grpc.reflection.{version}.ServerReflection" in listed
        assert "corral/v1/orchestrator.proto" in files and "corral/v1/common.proto" in files

