"""The frontend API's own guards: TLS when configured (a plaintext client cannot talk to
it), the bearer token on every call (health stays open for probes), and a halt that only
the separate resume credential lifts."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import orchestrator_pb2_grpc
from devtools.devstack import CORRAL_COMMAND, DevStack

TOKEN = "s3cret-frontend-token-0123456789"
RESUME_TOKEN = "s3cret-resume-token-9876543210"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("api-security")
    cert, key = home / "cert.pem", home / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    with DevStack(home / "stack", api_token=TOKEN, resume_token=RESUME_TOKEN, tls=(cert, key), browser_origins=[]) as stack:
        yield stack


def api(channel: grpc.Channel):
    return orchestrator_pb2_grpc.OrchestratorServiceStub(channel)


def test_token_over_tls_is_served(stack):
    assert api(stack.open_channel(token=TOKEN)).ListAgents(pb.ListAgentsRequest(), timeout=10).agents == []


@pytest.mark.parametrize("token", [None, "wrong-token", TOKEN + "x"])
def test_missing_or_wrong_token_is_unauthenticated(stack, token):
    with pytest.raises(grpc.RpcError) as refused:
        api(stack.open_channel(token=token)).ListSessions(pb.ListSessionsRequest(), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "Bearer" in refused.value.details()


def test_the_browser_port_serves_the_same_certificate(stack):
    secure = http.client.HTTPSConnection(stack.browser_address, context=ssl.create_default_context(cafile=str(stack.tls[0])), timeout=10)
    secure.request("POST", "/corral.v1.OrchestratorService/ListAgents", body=b"{}",
                   headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    answer = secure.getresponse()
    assert answer.status == 200 and json.loads(answer.read()) == {}
    plaintext = http.client.HTTPConnection(stack.browser_address, timeout=10)
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        plaintext.request("POST", "/corral.v1.OrchestratorService/ListAgents", body=b"{}", headers={"Content-Type": "application/json"})
        plaintext.getresponse()


def test_health_answers_without_a_token(stack):
    health = health_pb2_grpc.HealthStub(stack.open_channel()).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_plaintext_clients_cannot_talk_to_a_tls_server(stack):
    with pytest.raises(grpc.RpcError) as refused:
        api(stack.open_channel(token=TOKEN, tls=False)).ListAgents(pb.ListAgentsRequest(), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_the_cli_speaks_tls_with_a_token(stack, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    args = ["agents", "--server", stack.api_address, "--tls-ca", str(stack.tls[0])]
    ok = subprocess.run([*CORRAL_COMMAND, *args, "--token-file", str(token_file)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "(none)" in ok.stdout
    refused = subprocess.run([*CORRAL_COMMAND, *args], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "UNAUTHENTICATED" in refused.stderr


def test_only_the_resume_credential_lifts_a_halt(stack, tmp_path):
    operator = api(stack.open_channel(token=TOKEN))
    operator.HaltPlatform(pb.HaltPlatformRequest(reason="incident 7"), timeout=30)
    try:
        # The token that runs sessions cannot undo the emergency stop, by API or CLI.
        with pytest.raises(grpc.RpcError) as refused:
            operator.ResumePlatform(pb.ResumePlatformRequest(), timeout=10)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "resume credential" in refused.value.details()
        token_file, resume_file = tmp_path / "token", tmp_path / "resume"
        token_file.write_text(TOKEN)
        resume_file.write_text(RESUME_TOKEN)
        cli = [*CORRAL_COMMAND, "resume", "--server", stack.api_address, "--tls-ca", str(stack.tls[0])]
        by_api_token = subprocess.run([*cli, "--token-file", str(token_file)], capture_output=True, text=True, timeout=60)
        assert by_api_token.returncode == 1 and "PERMISSION_DENIED" in by_api_token.stderr
        assert operator.GetPlatformStatus(pb.GetPlatformStatusRequest(), timeout=10).status.halted
        # The resume credential does nothing else.
        with pytest.raises(grpc.RpcError) as not_a_session_token:
            api(stack.open_channel(token=RESUME_TOKEN)).ListSessions(pb.ListSessionsRequest(), timeout=10)
        assert not_a_session_token.value.code() == grpc.StatusCode.UNAUTHENTICATED
        resumed = subprocess.run([*cli, "--resume-token-file", str(resume_file)], capture_output=True, text=True, timeout=60)
        assert resumed.returncode == 0 and "resumed" in resumed.stdout, resumed.stderr
        assert not operator.GetPlatformStatus(pb.GetPlatformStatusRequest(), timeout=10).status.halted
    finally:
        api(stack.open_channel(token=RESUME_TOKEN)).ResumePlatform(pb.ResumePlatformRequest(), timeout=30)
