"""Recording an execution's HTTP exchanges through the egress proxy, and answering a replay's
requests from them, without a sandbox: a recording gate intercepts a host that has no
secrets (the client trusts the installation's interception CA, as a recording session's
sandbox does), keeps each answer as the client got it (the session's secret values masked, the
request's URL and headers only as a digest), counts an answer too large for the recording and
still relays it whole; a replay's egress gives the recorded answers back, by request or by path,
refuses what was not recorded with its reason, and reaches nothing. The sandboxed proof is
tests/e2e/test_circuit_style_agent.py."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from corral.hosts import HostRule, parse_rules
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.config import EgressLimits
from orchestrator.egress.addresses import policy_from
from orchestrator.egress.exchanges import request_digest
from orchestrator.egress.interception import LEAVES_KEPT, InterceptionCA
from orchestrator.egress.proxy import EgressGate
from orchestrator.egress.replayed import REPORTED_REQUEST_CHARS, REPORTED_REQUESTS, ReplayedEgress
from orchestrator.egress.secrets import BoundSecret
from orchestrator.executions.recording import Recorder
from sandbox_runner.inside.egress import LoopbackForwarder
from tests.helpers import Loop
from tests.integration.test_egress_proxy import records
from tests.standins.https_service import PRICE

RESOLVE = {"prices.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}


def recording_gate(loop: Loop, folder: Path, allow: list[str], extra_ca: Path, recorder: Recorder,
                   secrets: dict[str, tuple[str, str]] | None = None) -> tuple[EgressGate, str, InterceptionCA]:
    ca = InterceptionCA.load_or_create(folder / "keys", extra_ca)
    bound = tuple(BoundSecret(name, HostRule.parse(host), value) for name, (host, value) in (secrets or {}).items())
    gate = EgressGate(parse_rules(allow, "allow"), EgressLimits(), policy_from(["127.0.0.1/32"], RESOLVE), None, bound, ca, recorder)
    loop.run(gate.start(folder / "egress.sock"))
    return gate, f"http://127.0.0.1:{LoopbackForwarder(str(folder / 'egress.sock')).start()}", ca


def replay_egress(loop: Loop, folder: Path, exchanges: list[pb.RecordedExchange]) -> tuple[ReplayedEgress, str, InterceptionCA]:
    ca = InterceptionCA.load_or_create(folder / "replay-keys")
    egress = ReplayedEgress(exchanges, ca)
    loop.run(egress.start(str(folder / "replay.sock")))
    return egress, f"http://127.0.0.1:{LoopbackForwarder(str(folder / 'replay.sock')).start()}", ca


def fetch(proxy: str, url: str, ca: InterceptionCA, headers: dict[str, str] | None = None, data: bytes | None = None) -> bytes:
    context = ssl.create_default_context(cadata=ca.certificate_pem.decode())
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"https": proxy, "http": proxy}),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(urllib.request.Request(url, headers=headers or {}, data=data), timeout=20) as reply:
        return reply.read()


def test_a_recording_gate_keeps_each_answer_and_only_a_digest_of_each_request(loop, tmp_path, service):
    recorder = Recorder(1024 * 1024)
    gate, proxy, ca = recording_gate(loop, tmp_path, [f"prices.test:{service.port}"], service.ca_file, recorder)
    url = f"https://prices.test:{service.port}/prices/current/coingecko:ethereum?apikey=agents-own-key"
    got = fetch(proxy, url, ca)
    posted = fetch(proxy, f"https://prices.test:{service.port}/prices/current/x", ca, data=b'{"since": 1}')
    assert json.loads(got)["coins"]["coingecko:ethereum"]["price"] == PRICE and len(service.requests) == 2

    [record, _] = records(loop, gate)
    assert record.reason == "intercepted (the session records its executions)"
    first, second = recorder.message(7).exchanges
    assert (first.scheme, first.host, first.port, first.method, first.path) == (
        "https", "prices.test", service.port, "GET", "/prices/current/coingecko:ethereum")
    assert first.request_sha256 == request_digest("GET", "https", "prices.test", service.port,
                                                  "/prices/current/coingecko:ethereum?apikey=agents-own-key", b"")
    assert first.response.startswith(b"HTTP/1.1 200 ") and first.response.endswith(got)
    assert second.method == "POST" and second.response.endswith(posted)
    assert second.request_sha256 == request_digest("POST", "https", "prices.test", service.port, "/prices/current/x", b'{"since": 1}')
    assert b"agents-own-key" not in recorder.message(7).SerializeToString()  # the URL's query is only in the digest


def test_a_request_carrying_a_secret_is_not_recorded_and_a_secret_echoed_elsewhere_is_masked(loop, tmp_path, service):
    recorder = Recorder(1024 * 1024)
    canary = "canary-value-0123456789"
    gate, proxy, ca = recording_gate(loop, tmp_path, [f"prices.test:{service.port}"], service.ca_file, recorder,
                                     {"KEY": (f"prices.test:{service.port}", canary)})
    got = fetch(proxy, f"https://prices.test:{service.port}/echo", ca, {"X-Api-Key": "{{secret:KEY}}"})
    assert json.loads(got)["x-api-key"] == canary  # the host echoed it (the agent could read it anyway)
    # A request without the placeholder whose answer holds the value all the same (the agent wrote it there).
    noted = fetch(proxy, f"https://prices.test:{service.port}/echo", ca, {"X-Note": canary})
    records(loop, gate)
    recording = recorder.message(7)
    assert recording.exchanges_not_recorded == 1  # the one the proxy put the secret into: its host may echo it in any form
    [exchange] = recording.exchanges
    assert canary.encode() not in recording.SerializeToString()
    assert b'"x-note": "' + b"*" * len(canary) + b'"' in exchange.response
    assert canary.encode() in noted and len(exchange.response) == exchange.response.index(b"\r\n\r\n") + 4 + len(noted)  # lengths kept


def test_an_answer_larger_than_the_recording_is_relayed_whole_counted_and_not_kept(loop, tmp_path, service):
    recorder = Recorder(32 * 1024)  # exchanges may take half: 16 KiB
    gate, proxy, ca = recording_gate(loop, tmp_path, [f"prices.test:{service.port}"], service.ca_file, recorder)
    assert fetch(proxy, f"https://prices.test:{service.port}/large/20000", ca) == b"x" * 20000
    fetch(proxy, f"https://prices.test:{service.port}/prices/current/small", ca)
    records(loop, gate)
    recording = recorder.message(7)
    assert recording.exchanges_not_recorded == 1
    assert [e.path for e in recording.exchanges] == ["/prices/current/small"]  # a later one that fits is kept
    assert recording.ByteSize() < 16 * 1024 and recorder.exchange_room() < 16 * 1024


def test_a_replay_is_answered_from_the_recording_by_request_then_by_path_and_reaches_nothing(loop, tmp_path, service):
    recorder = Recorder(1024 * 1024)
    gate, proxy, ca = recording_gate(loop, tmp_path, [f"prices.test:{service.port}"], service.ca_file, recorder)
    base = f"https://prices.test:{service.port}/prices/current"
    recorded = [fetch(proxy, f"{base}/eth?at=1", ca), fetch(proxy, f"{base}/eth?at=1", ca), fetch(proxy, f"{base}/btc", ca, data=b"a")]
    assert [e.at_ms for e in recorder.message(7).exchanges] == sorted(e.at_ms for e in recorder.message(7).exchanges)
    records(loop, gate)
    service.price = 1.0  # the host's answer has changed since: a replay must not see it
    asked = len(service.requests)

    egress, replay_proxy, replay_ca = replay_egress(loop, tmp_path, list(recorder.message(7).exchanges))
    assert fetch(replay_proxy, f"{base}/eth?at=1", replay_ca) == recorded[0]
    assert fetch(replay_proxy, f"{base}/eth?at=2", replay_ca) == recorded[1]  # its query differs: by path
    with pytest.raises(urllib.error.HTTPError, match="502"):
        fetch(replay_proxy, f"{base}/btc", replay_ca, data=b"b")  # a POST asks by its body: never another's answer
    assert fetch(replay_proxy, f"{base}/btc", replay_ca, data=b"a") == recorded[2]
    with pytest.raises(urllib.error.HTTPError, match="502") as refused:
        fetch(replay_proxy, f"{base}/eth?at=3", replay_ca)  # both recorded answers are used
    assert f"the recording holds no GET https://prices.test:{service.port}/prices/current/eth request" in str(refused.value.reason)
    with pytest.raises(urllib.error.URLError, match="502"):  # a host the run never reached: refused before any TLS
        fetch(replay_proxy, f"https://other.test:{service.port}/x", replay_ca)
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):  # the replay's own CA, not the installation's
        fetch(replay_proxy, f"{base}/eth?at=1", ca)
    loop.run(egress.close())
    assert egress.answered == 3 and egress.by_path == [f"GET https://prices.test:{service.port}/prices/current/eth"]
    assert egress.missing == [f"POST https://prices.test:{service.port}/prices/current/btc",
                              f"GET https://prices.test:{service.port}/prices/current/eth", f"CONNECT other.test:{service.port}"]
    assert len(service.requests) == asked  # nothing reached the host


def test_a_replay_refuses_what_a_proxy_refuses_with_the_same_reasons(loop, tmp_path):
    egress, proxy, ca = replay_egress(loop, tmp_path, [])
    with pytest.raises(urllib.error.HTTPError, match="502") as refused:
        fetch(proxy, "http://plain.test/data?x=1", ca)
    assert "the recording holds no GET http://plain.test/data request" in str(refused.value.reason)
    with pytest.raises(urllib.error.HTTPError, match="400"):
        fetch(proxy, "http://plain.test:99999/data", ca)  # as the proxy answers it
    with pytest.raises(urllib.error.HTTPError, match="411"):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
        opener.open(urllib.request.Request("http://plain.test/x", data=iter([b"a"]), headers={"Transfer-Encoding": "chunked"}), timeout=20)
    loop.run(egress.close())
    assert egress.missing == ["GET http://plain.test/data"]


def test_a_replays_report_of_unmet_requests_is_bounded(loop, tmp_path):
    egress, proxy, ca = replay_egress(loop, tmp_path, [pb.RecordedExchange(scheme="http", host="plain.test", port=80, method="GET",
                                                                        withheld=True)])
    for n in range(REPORTED_REQUESTS + 5):
        with pytest.raises(urllib.error.HTTPError, match="502"):
            fetch(proxy, f"http://plain.test/{n}/{'a' * 1000}", ca)
    loop.run(egress.close())
    assert len(egress.missing) == REPORTED_REQUESTS and all(len(line) <= REPORTED_REQUEST_CHARS for line in egress.missing)


def test_naming_ever_new_hosts_does_not_grow_the_certificate_cache(tmp_path):
    ca = InterceptionCA.load_or_create(tmp_path / "keys")
    for n in range(LEAVES_KEPT + 20):  # what a wildcard rule lets an agent do, connection after connection
        ca.server_context(f"h{n}.example.test")
    assert len(ca._leaves) == LEAVES_KEPT and "h0.example.test" not in ca._leaves and f"h{LEAVES_KEPT + 19}.example.test" in ca._leaves
