"""/metrics over real HTTP: with a token file, a scrape without the token (or with a wrong one,
or with bytes that are not UTF-8) is 401 and carries no series; with it, the orchestrator's
series and the signer's counts; a signer that cannot be asked leaves the scrape standing with
`corral_signer_up 0`. Off loopback the port needs a token and TLS."""

from __future__ import annotations

import asyncio
import http.client

import pytest
from pydantic import ValidationError

from corral.v1 import signer_pb2
from devtools.devstack import free_port
from orchestrator.app.metrics_server import MetricsServer
from orchestrator.config import OrchestratorConfig, TelemetryConfig


class _Signer:
    def __init__(self, fails: bool = False) -> None:
        self.fails = fails

    async def decision_counts(self):
        if self.fails:
            raise RuntimeError("the channel is closed")
        return signer_pb2.GetDecisionCountsResponse(
            counts=[signer_pb2.DecisionCount(action="sign_evm_transaction", decision="allow", rule="spend-cap", count=2)])


def _get(port: int, headers: dict[str, bytes]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("GET", "/metrics")
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    answer = connection.getresponse()
    return answer.status, answer.read()


def test_a_scrape_needs_the_token_and_survives_a_silent_signer(tmp_path):
    token = tmp_path / "metrics.token"
    token.write_text("the-scrapers-token\n")
    port = free_port()
    config = OrchestratorConfig(telemetry=TelemetryConfig(metrics_listen=f"127.0.0.1:{port}", metrics_token_file=token))
    signer = _Signer()

    async def scenario():
        server = await MetricsServer.start(config, signer)
        try:
            scrape = lambda headers: asyncio.to_thread(_get, port, headers)  # noqa: E731
            answers = [await scrape({}), await scrape({"Authorization": b"Bearer wrong"}),
                       await scrape({"Authorization": b"Bearer \xff\xfe"}), await scrape({"Authorization": b"Bearer the-scrapers-token"})]
            signer.fails = True
            answers.append(await scrape({"Authorization": b"Bearer the-scrapers-token"}))
            return answers
        finally:
            await server.stop()

    (none, wrong, garbled, right, silent) = asyncio.run(scenario())
    for status, body in (none, wrong, garbled):
        assert status == 401 and b"corral_" not in body
    assert right[0] == 200
    assert b'corral_signer_decisions_total{action="sign_evm_transaction",decision="allow",rule="spend-cap"} 2.0' in right[1]
    assert b"corral_signer_up 1.0" in right[1] and b"# TYPE corral_sdk_calls_total counter" in right[1]
    assert silent[0] == 200 and b"corral_signer_up 0.0" in silent[1]


def test_a_metrics_port_off_this_machine_needs_tls_too(tmp_path):
    token = tmp_path / "metrics.token"
    token.write_text("t")
    with pytest.raises(ValidationError, match="tls_cert_file"):
        OrchestratorConfig(telemetry=TelemetryConfig(metrics_listen="0.0.0.0:9464", metrics_token_file=token))
