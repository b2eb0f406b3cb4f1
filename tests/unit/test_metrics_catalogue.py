"""The metrics an operator reads: every series is in docs/operators.md, every series the
Grafana dashboard queries exists, the signer's absence is a series of its own, and a metrics
port off this machine needs a token."""

from __future__ import annotations

import asyncio
import json
import re

import grpc
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

import orchestrator.metrics  # noqa: F401 - registers the series
from corral.v1 import signer_pb2
from orchestrator.app.metrics_server import _SignerDecisions, exposition
from orchestrator.config import TelemetryConfig
from tests.conftest import REPO_ROOT

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def families() -> list:
    signer = signer_pb2.GetDecisionCountsResponse(counts=[signer_pb2.DecisionCount(action="a", decision="allow", rule="r", count=1)])
    ours = [family for family in REGISTRY.collect() if family.name.startswith("corral_")]
    return ours + list(_SignerDecisions(signer).collect())


def series_names() -> set[str]:
    return {family.name + suffix for family in families() for suffix in SUFFIXES[family.type]}


def test_every_series_is_in_the_operators_guide():
    guide = (REPO_ROOT / "docs" / "operators.md").read_text()
    missing = [family.name for family in families() if f"`{family.name}" not in guide]
    assert missing == []


def test_the_grafana_dashboard_queries_only_series_that_exist():
    dashboard = json.loads((REPO_ROOT / "docs" / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expression in expressions for name in re.findall(r"\bcorral_\w+", expression)}
    assert used and used <= series_names(), used - series_names()


class _SilentSigner:
    async def decision_counts(self):
        raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "connection refused")


class _Signer:
    async def decision_counts(self):
        return signer_pb2.GetDecisionCountsResponse(
            counts=[signer_pb2.DecisionCount(action="sign_evm_transaction", decision="deny", rule="spend-cap", count=3)], started_at=5.0)


def samples(text: bytes) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text.decode()) for s in f.samples}


def test_a_scrape_says_whether_the_signer_answered_and_carries_its_counts():
    down = samples(asyncio.run(exposition(_SilentSigner())))
    assert down[("corral_signer_up", ())] == 0
    assert not any(name == "corral_signer_decisions_total" for name, _ in down)
    up = samples(asyncio.run(exposition(_Signer())))
    assert up[("corral_signer_up", ())] == 1 and up[("corral_signer_start_time_seconds", ())] == 5.0
    assert up[("corral_signer_decisions_total", (("action", "sign_evm_transaction"), ("decision", "deny"), ("rule", "spend-cap")))] == 3
    assert ("process_cpu_seconds_total", ()) in up  # the orchestrator's own registry comes first


def test_a_metrics_port_off_this_machine_needs_a_token(tmp_path):
    assert TelemetryConfig(metrics_listen="127.0.0.1:9464").metrics_listen == "127.0.0.1:9464"
    with pytest.raises(ValidationError, match="metrics_token_file"):
        TelemetryConfig(metrics_listen="0.0.0.0:9464")
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    assert TelemetryConfig(metrics_listen="0.0.0.0:9464", metrics_token_file=token).metrics_token() == "s3cret"
    with pytest.raises(ValidationError, match="host:port"):
        TelemetryConfig(metrics_listen="9464")
