"""The frontend API's own guards: TLS when configured (a plaintext client cannot talk to
it), and the bearer token on every call (health stays open for probes)."""

from __future__ import annotations

import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corral.devstack import CORRAL_COMMAND, DevStack
from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import orchestrator_pb2_grpc

TOKEN = "s3cret-frontend-token-0123456789"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("api-security")
    cert, key = home / "cert.pem", home / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    with DevStack(home / "stack", api_token=TOKEN, tls=(cert, key)) as stack:
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
