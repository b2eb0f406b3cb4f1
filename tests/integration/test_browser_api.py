"""The frontend API on the browser port (Connect and gRPC-Web): the same answers as the native
gRPC port, the same token check, CORS for the configured origin only, and malformed or oversized
request bodies refused as INVALID_ARGUMENT / RESOURCE_EXHAUSTED, never UNKNOWN."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import socket

import grpc
import pytest
from connectrpc.code import Code
from connectrpc.compat import google_protobuf_json_codec
from connectrpc.errors import ConnectError
from connectrpc.protocol import ProtocolType

from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import orchestrator_pb2_grpc
from corral.v1.orchestrator_connect import OrchestratorServiceClient
from devtools.devstack import DevStack
from orchestrator.api.connect_adapter import python_name
from orchestrator.app.browser_cors import ALLOWED_HEADERS, EXPOSED_HEADERS

TOKEN = "s3cret-browser-token-0123456789"
RESUME_TOKEN = "s3cret-browser-resume-9876543210"
CONSOLE = "http://127.0.0.1:5173"
LIST_SESSIONS = "/corral.v1.OrchestratorService/ListSessions"
PROTOCOLS = [ProtocolType.CONNECT, ProtocolType.GRPC_WEB]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with DevStack(tmp_path_factory.mktemp("browser-api"), api_token=TOKEN, resume_token=RESUME_TOKEN, browser_origins=[CONSOLE]) as stack:
        stack.create_wallet()
        yield stack


def connect_call(stack: DevStack, protocol: ProtocolType, method: str, request, token: str | None = TOKEN, json_codec: bool = False):
    """One unary call through the generated Python Connect client; the reply or the ConnectError."""

    async def call():
        codec = {"codec": google_protobuf_json_codec()} if json_codec else {}
        client = OrchestratorServiceClient(f"http://{stack.browser_address}", protocol=protocol, **codec)
        headers = {"authorization": f"Bearer {token}"} if token else None
        try:
            return await getattr(client, method)(request, headers=headers, timeout_ms=10_000)
        except ConnectError as error:
            return error

    return asyncio.run(call())


def grpc_call(stack: DevStack, method: str, request, token: str | None = TOKEN):
    api = orchestrator_pb2_grpc.OrchestratorServiceStub(stack.open_channel(token=token))
    try:
        return getattr(api, method)(request, timeout=10)
    except grpc.RpcError as error:
        return error


def over_http(stack: DevStack, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(stack.browser_address, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("json_codec", [False, True])
def test_the_browser_port_answers_as_the_grpc_port(stack, protocol, json_codec):
    for method, request in [("ListWallets", pb.ListWalletsRequest()), ("ListSessions", pb.ListSessionsRequest()),
                            ("GetPlatformStatus", pb.GetPlatformStatusRequest())]:
        native = grpc_call(stack, method, request)
        assert connect_call(stack, protocol, python_name(method), request, json_codec=json_codec) == native, method
    assert grpc_call(stack, "ListWallets", pb.ListWalletsRequest()).wallets  # not merely two empty answers


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_missing_or_wrong_token_is_unauthenticated_as_on_the_grpc_port(stack, protocol, token):
    native = grpc_call(stack, "ListSessions", pb.ListSessionsRequest(), token=token)
    refused = connect_call(stack, protocol, "list_sessions", pb.ListSessionsRequest(), token=token)
    assert native.code() == grpc.StatusCode.UNAUTHENTICATED
    assert isinstance(refused, ConnectError) and refused.code == Code.UNAUTHENTICATED
    assert refused.message == native.details()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_api_token_cannot_lift_a_halt_on_the_browser_port_either(stack, protocol):
    native = grpc_call(stack, "ResumePlatform", pb.ResumePlatformRequest())
    refused = connect_call(stack, protocol, "resume_platform", pb.ResumePlatformRequest())
    assert native.code() == grpc.StatusCode.PERMISSION_DENIED
    assert isinstance(refused, ConnectError) and refused.code == Code.PERMISSION_DENIED and refused.message == native.details()


def test_a_preflight_from_the_allowed_origin_gets_the_connect_and_grpc_web_headers(stack):
    status, headers, _ = over_http(stack, "OPTIONS", LIST_SESSIONS, {
        "Origin": CONSOLE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,connect-protocol-version,content-type"})
    assert status == 204
    assert headers["access-control-allow-origin"] == CONSOLE
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert allowed == {h.lower() for h in ALLOWED_HEADERS} and "authorization" in allowed
    assert "POST" in headers["access-control-allow-methods"]
    # A call from that origin is readable by its page, gRPC-Web's status headers included.
    status, headers, _ = over_http(stack, "POST", LIST_SESSIONS, {"Origin": CONSOLE, "Content-Type": "application/json",
                                                              "Authorization": f"Bearer {TOKEN}"}, b"{}")
    assert status == 200 and headers["access-control-allow-origin"] == CONSOLE
    assert {h.strip().lower() for h in headers["access-control-expose-headers"].split(",")} == {h.lower() for h in EXPOSED_HEADERS}


@pytest.mark.parametrize("origin", ["http://127.0.0.1:5174", "https://127.0.0.1:5173", "null", "http://evil.example"])
def test_any_other_origin_gets_no_cors_headers_and_no_answer(stack, origin):
    status, headers, _ = over_http(stack, "OPTIONS", LIST_SESSIONS, {"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert status == 403 and not [h for h in headers if h.startswith("access-control-")]
    # Nor does a request that skips the preflight get an answer a page could use.
    status, headers, body = over_http(stack, "POST", LIST_SESSIONS, {"Origin": origin, "Content-Type": "application/json",
                                                                 "Authorization": f"Bearer {TOKEN}"}, b"{}")
    assert status == 403 and body == b"" and not [h for h in headers if h.startswith("access-control-")]


def test_a_malformed_body_is_invalid_argument_as_on_the_grpc_port(stack):
    with grpc.insecure_channel(stack.api_address) as channel:
        raw = channel.unary_unary(LIST_SESSIONS, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        with pytest.raises(grpc.RpcError) as native:
            raw(b"\xff\xff\xff\xff", metadata=[("authorization", f"Bearer {TOKEN}")], timeout=10)
    assert native.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status, _, body = over_http(stack, "POST", LIST_SESSIONS, {"Content-Type": "application/proto", "Authorization": f"Bearer {TOKEN}"},
                           b"\xff\xff\xff\xff")
    error = json.loads(body)
    assert status == 400 and error == {"code": "invalid_argument", "message": native.value.details()}


@pytest.mark.parametrize(("body", "says"), [
    (b'{"sessionId": "abc"}', "GetSession request's field sessionId has a value of the wrong type"),
    (b'{"sesionId": 1}', "GetSession request has no field 'sesionId'"),
    (b'{"sessionId": ', "GetSession request is not its message in protobuf JSON"),
])
def test_malformed_json_is_invalid_argument_naming_the_field(stack, body, says):
    status, _, answer = over_http(stack, "POST", "/corral.v1.OrchestratorService/GetSession",
                             {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}, body)
    error = json.loads(answer)
    assert status == 400 and error["code"] == "invalid_argument" and says in error["message"], error
    assert "Error" not in error["message"] and "Traceback" not in error["message"]


def test_a_body_past_the_grpc_message_limit_is_refused_before_it_is_parsed(stack):
    status, _, body = over_http(stack, "POST", LIST_SESSIONS, {"Content-Type": "application/proto", "Authorization": f"Bearer {TOKEN}"},
                           b"\x00" * (4 * 1024 * 1024 + 1))
    assert status == 429 and json.loads(body)["code"] == "resource_exhausted"


def test_a_compressed_body_is_bounded_as_it_is_inflated(stack):
    bomb = gzip.compress(b"\x00" * (64 * 1024 * 1024))  # 64 KiB on the wire
    status, _, body = over_http(stack, "POST", LIST_SESSIONS, {"Content-Type": "application/proto", "Content-Encoding": "gzip",
                                                                "Authorization": f"Bearer {TOKEN}"}, bomb)
    assert status == 429 and json.loads(body)["code"] == "resource_exhausted"


def test_without_a_token_the_body_is_never_read(stack):
    status, _, body = over_http(stack, "POST", LIST_SESSIONS, {"Content-Type": "application/proto"}, b"\xff\xff\xff\xff")
    assert status == 401 and json.loads(body)["code"] == "unauthenticated"


def test_a_header_that_is_not_text_is_invalid_argument_naming_it(stack):
    host, port = stack.browser_address.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(f"POST {LIST_SESSIONS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           f"Authorization: Bearer {TOKEN}\r\nConnection: close\r\nContent-Length: 2\r\n".encode()
                           + b"X-Odd: \xe9\xff\r\n\r\n{}")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and json.loads(body) == {"code": "invalid_argument", "message": "header x-odd is not UTF-8 text"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("request_", [
    pb.StartSessionRequest(agent_id=1, wallet_address="0x" + "22" * 20, execution_mode=7),
    pb.StartSessionRequest(agent_id=1, wallet_address="0x" + "22" * 20, allocation_amount="١٢٣٤"),
    pb.HaltPlatformRequest(reason="r" * 100_000),
])
def test_the_browser_port_checks_requests_as_the_grpc_port_does(stack, protocol, request_):
    method = "StartSession" if isinstance(request_, pb.StartSessionRequest) else "HaltPlatform"
    native = grpc_call(stack, method, request_)
    refused = connect_call(stack, protocol, python_name(method), request_)
    assert isinstance(refused, ConnectError) and refused.code == Code.INVALID_ARGUMENT
    assert native.code() == grpc.StatusCode.INVALID_ARGUMENT and refused.message == native.details()
