"""Secrets through the egress proxy on its own (no sandbox): an agent's `{{secret:NAME}}`
header placeholder becomes the value only on the way to the secret's host; the client (as
in a sandbox) trusts the installation's interception CA and never sees the value. The
sandboxed canary is in tests/isolation/test_isolation.py."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets as random_secrets
import ssl
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from corral.hosts import HostRule, parse_rules
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.api.service import OrchestratorApi
from orchestrator.config import EgressLimits
from orchestrator.egress import secret_store
from orchestrator.egress.addresses import policy_from
from orchestrator.egress.interception import CA_KEY_NAME, InterceptionCA
from orchestrator.egress.proxy import EgressGate
from orchestrator.egress.secrets import BoundSecret, SecretBox, SecretError, bind_host, check_name, check_value
from orchestrator.errors import not_found
from orchestrator.store import AgentRow, Database, SessionRow, utcnow
from orchestrator.store.statuses import EgressOutcome
from sandbox_runner.inside.egress import LoopbackForwarder
from tests.helpers import Loop
from tests.integration.test_egress_proxy import records
from tests.standins.https_service import PRICE, HttpsService

RESOLVE = {"prices.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]}


def open_gate(loop: Loop, tmp_path: Path, allow: list[str], secrets: dict[str, tuple[str, str]], extra_ca: Path | None,
              ) -> tuple[EgressGate, str, InterceptionCA]:
    ca = InterceptionCA.load_or_create(tmp_path / "keys", extra_ca)
    bound = tuple(BoundSecret(name, HostRule.parse(host), value) for name, (host, value) in secrets.items())
    gate = EgressGate(parse_rules(allow, "allow"), EgressLimits(), policy_from(["127.0.0.1/32"], RESOLVE), None, bound, ca)
    loop.run(gate.start(tmp_path / "egress.sock"))
    return gate, f"http://127.0.0.1:{LoopbackForwarder(str(tmp_path / 'egress.sock')).start()}", ca


def get(proxy: str, url: str, headers: dict[str, str], cadata: bytes | None = None, cafile: Path | None = None) -> bytes:
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None, cadata=cadata.decode() if cadata else None)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"https": proxy, "http": proxy}),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(urllib.request.Request(url, headers=headers), timeout=20) as reply:
        return reply.read()


def test_a_placeholder_becomes_the_secret_only_on_the_way_to_its_host(loop, tmp_path, service):
    canary = random_secrets.token_urlsafe(24)
    gate, proxy, ca = open_gate(loop, tmp_path, [f"prices.test:{service.port}"],
                                {"PRICES_KEY": (f"prices.test:{service.port}", canary)}, service.ca_file)
    body = get(proxy, f"https://prices.test:{service.port}/prices/current/coingecko:ethereum",
               {"X-Api-Key": "{{secret:PRICES_KEY}}", "Authorization": "Bearer {{secret:PRICES_KEY}}"}, cadata=ca.certificate_pem)
    assert str(PRICE).encode() in body and canary.encode() not in body
    [request] = service.requests
    sent = {name.lower(): value for name, value in request["headers"].items()}
    assert sent["x-api-key"] == canary and sent["authorization"] == f"Bearer {canary}"
    [record] = records(loop, gate)
    assert record.outcome == EgressOutcome.ALLOWED and "intercepted" in record.reason
    assert canary not in repr(record) and canary not in repr(gate.secrets)


@pytest.mark.parametrize("header", ["{{secret:OTHER_KEY}}", "{{secret:NOT_SET}}", "{{secret:lower}}"])
def test_a_placeholder_for_another_host_or_no_secret_is_refused_and_nothing_is_sent(loop, tmp_path, service, header):
    gate, proxy, ca = open_gate(loop, tmp_path, [f"prices.test:{service.port}", f"other.test:{service.port}"],
                                {"PRICES_KEY": (f"prices.test:{service.port}", "v1"), "OTHER_KEY": (f"other.test:{service.port}", "v2")},
                                service.ca_file)
    with pytest.raises(urllib.error.HTTPError, match="403") as refused:
        get(proxy, f"https://prices.test:{service.port}/prices/current/x", {"X-Api-Key": header}, cadata=ca.certificate_pem)
    assert "no secret" in str(refused.value.reason)
    [record] = records(loop, gate)
    assert record.outcome == EgressOutcome.REFUSED and "no secret" in record.reason
    assert service.requests == []


def test_hosts_without_secrets_are_tunnelled_not_intercepted(loop, tmp_path, service):
    gate, proxy, ca = open_gate(loop, tmp_path, [f"prices.test:{service.port}", f"other.test:{service.port}"],
                                {"PRICES_KEY": (f"prices.test:{service.port}", "v1")}, service.ca_file)
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):  # the real server's certificate
        get(proxy, f"https://other.test:{service.port}/prices/current/x", {}, cadata=ca.certificate_pem)
    get(proxy, f"https://other.test:{service.port}/prices/current/x", {"X-Api-Key": "{{secret:PRICES_KEY}}"}, cafile=service.ca_file)
    assert service.requests[0]["headers"]["X-Api-Key"] == "{{secret:PRICES_KEY}}"  # unread, as text: not the value
    assert not any("intercepted" in r.reason for r in records(loop, gate))


def test_the_secret_goes_only_over_tls_the_proxy_verified(loop, tmp_path, service):
    gate, proxy, ca = open_gate(loop, tmp_path, [f"prices.test:{service.port}"],
                                {"PRICES_KEY": (f"prices.test:{service.port}", "v1")}, extra_ca=None)  # the stand-in's CA unknown
    with pytest.raises(urllib.error.HTTPError, match="502") as failed:
        get(proxy, f"https://prices.test:{service.port}/prices/current/x", {"X-Api-Key": "{{secret:PRICES_KEY}}"},
            cadata=ca.certificate_pem)
    assert "CERTIFICATE_VERIFY_FAILED" in str(failed.value.reason)
    [record] = records(loop, gate)
    assert record.outcome == EgressOutcome.FAILED and service.requests == []


def test_an_intercepted_tunnel_answers_only_tls_for_its_host(loop, tmp_path, service):
    gate, proxy, ca = open_gate(loop, tmp_path, [f"prices.test:{service.port}"],
                                {"PRICES_KEY": (f"prices.test:{service.port}", "v1")}, service.ca_file)
    context = ssl.create_default_context(cadata=ca.certificate_pem.decode())
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"https": proxy}), urllib.request.HTTPSHandler(context=context))
    request = urllib.request.Request(f"https://prices.test:{service.port}/x", headers={"Host": f"other.test:{service.port}"})
    with pytest.raises(urllib.error.HTTPError, match="400"):
        opener.open(request, timeout=20)
    reasons = [r.reason for r in records(loop, gate)]
    assert any("Host is not prices.test" in r for r in reasons), reasons
    assert service.requests == []


def test_plain_http_gets_the_same_substitution(loop, tmp_path):
    with HttpsService(tmp_path / "plain", ["prices.test"], tls=False) as plain:
        gate, proxy, _ = open_gate(loop, tmp_path, [f"http://prices.test:{plain.port}"],
                                   {"PRICES_KEY": (f"http://prices.test:{plain.port}", "plain-value")}, None)
        get(proxy, f"http://prices.test:{plain.port}/prices/current/x", {"X-Api-Key": "{{secret:PRICES_KEY}}"})
        with pytest.raises(urllib.error.HTTPError, match="403"):
            get(proxy, f"http://prices.test:{plain.port}/prices/current/x", {"X-Api-Key": "{{secret:ELSE}}"})
        records(loop, gate)
        assert [r["headers"]["x-api-key"] for r in plain.requests] == ["plain-value"]


def test_names_values_and_hosts_are_checked_with_errors_that_say_the_fix():
    assert check_name("COINGECKO_KEY") == "COINGECKO_KEY"
    for name in ("", "lower", "1KEY", "A" * 65, "KEY-1"):
        with pytest.raises(SecretError, match="name"):
            check_name(name)
    for value in ("", "x" * 4097, "line\r\nX-Injected: 1", "tab\there", "caf\u00e9"):
        with pytest.raises(SecretError, match="value") as refused:
            check_value(value)
        assert "Injected" not in str(refused.value)  # never echoes the value
    declared = parse_rules(["*.coingecko.com", "api.llama.fi"], "allow")
    assert str(bind_host("pro-api.coingecko.com", declared)) == "pro-api.coingecko.com"
    with pytest.raises(SecretError, match="wildcard"):
        bind_host("*.coingecko.com", declared)
    with pytest.raises(SecretError, match="not one of the session's declared hosts"):
        bind_host("evil.example.com", declared)
    with pytest.raises(SecretError, match="not one of the session's declared hosts"):
        bind_host("api.llama.fi:8443", declared)


def test_sealed_values_open_only_for_their_session_name_and_host(tmp_path):
    box = SecretBox(os.urandom(32))
    sealed = box.seal(7, "KEY", "api.example.com", "value-1")
    assert b"value-1" not in sealed
    assert box.open(7, "KEY", "api.example.com", sealed) == "value-1"
    assert box.open(8, "KEY", "api.example.com", sealed) is None
    assert box.open(7, "KEY2", "api.example.com", sealed) is None
    assert box.open(7, "KEY", "evil.example.com", sealed) is None
    assert SecretBox(os.urandom(32)).open(7, "KEY", "api.example.com", sealed) is None


def test_the_interception_ca_is_made_once_with_a_private_key_file(tmp_path):
    first = InterceptionCA.load_or_create(tmp_path)
    assert stat.S_IMODE((tmp_path / CA_KEY_NAME).stat().st_mode) == 0o600
    assert InterceptionCA.load_or_create(tmp_path).certificate_pem == first.certificate_pem
    assert first.server_context("prices.test") is first.server_context("prices.test")  # cached per host


class Aborted(Exception):
    pass


class AbortingContext:
    async def abort(self, code, message):
        raise Aborted(code, message)


class OneSession:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, session_id: int) -> SessionRow:
        with self.db.session() as s:
            row = s.get(SessionRow, session_id)
        if row is None:
            raise not_found(f"session {session_id} does not exist")
        return row


@pytest.fixture
def api_db(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'o.db'}")
    with database.session() as s:
        s.add(AgentRow(id=1, name="a", version="1", image="i", image_id="i", wallet_type="ethereum", manifest_toml="",
                       registered_at=utcnow()))
        s.flush()
        s.add(SessionRow(id=3, agent_id=1, wallet_address="0x" + "22" * 20, status="running", execution_mode="auto", settings={},
                         allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0",
                         created_at=utcnow(), egress_hosts=["*.coingecko.com", "api.llama.fi"]))
        s.commit()
    return database


def test_the_api_sets_lists_and_deletes_secrets_and_never_returns_or_stores_a_value(tmp_path, api_db, caplog):
    key_file = tmp_path / "secrets.key"
    key_file.write_bytes(os.urandom(32))
    canary = random_secrets.token_urlsafe(24)
    api = OrchestratorApi(api_db, None, OneSession(api_db), None, None, {}, None, secrets_key_file=key_file)
    context = AbortingContext()

    def call(method: str, request):
        return asyncio.run(getattr(api, method)(request, context))

    with caplog.at_level(logging.DEBUG):
        set_ = call("SetSessionSecret", pb.SetSessionSecretRequest(session_id=3, name="CG_KEY", host="pro-api.coingecko.com",
                                                                   value=canary))
        call("SetSessionSecret", pb.SetSessionSecretRequest(session_id=3, name="CG_KEY", host="pro-api.coingecko.com", value=canary))
        listed = call("ListSessionSecrets", pb.ListSessionSecretsRequest(session_id=3))
    assert (set_.secret.name, set_.secret.host) == ("CG_KEY", "pro-api.coingecko.com")
    assert [(s.name, s.host) for s in listed.secrets] == [("CG_KEY", "pro-api.coingecko.com")]  # replaced, not added
    assert canary not in str(set_) + str(listed) + caplog.text
    assert canary.encode() not in (tmp_path / "o.db").read_bytes()
    with api_db.session() as s:
        session = s.get(SessionRow, 3)
        [bound] = secret_store.for_execution(s, SecretBox.from_file(key_file), session)
    assert (bound.name, str(bound.rule), bound.value) == ("CG_KEY", "pro-api.coingecko.com", canary)

    for request, status, words in [
        (pb.SetSessionSecretRequest(session_id=3, name="cg", host="api.llama.fi", value="v"), "INVALID_ARGUMENT", "name"),
        (pb.SetSessionSecretRequest(session_id=3, name="K", host="evil.example", value="v"), "INVALID_ARGUMENT", "declared hosts"),
        (pb.SetSessionSecretRequest(session_id=3, name="K", host="api.llama.fi", value="a\r\nb"), "INVALID_ARGUMENT", "line breaks"),
        (pb.SetSessionSecretRequest(session_id=4, name="K", host="api.llama.fi", value="v"), "NOT_FOUND", "session 4"),
    ]:
        with pytest.raises(Aborted) as refused:
            call("SetSessionSecret", request)
        assert refused.value.args[0].name == status and words in refused.value.args[1], refused.value.args
    call("DeleteSessionSecret", pb.DeleteSessionSecretRequest(session_id=3, name="CG_KEY"))
    assert not call("ListSessionSecrets", pb.ListSessionSecretsRequest(session_id=3)).secrets
    with pytest.raises(Aborted, match="NOT_FOUND"):
        call("DeleteSessionSecret", pb.DeleteSessionSecretRequest(session_id=3, name="CG_KEY"))

    without_key = OrchestratorApi(api_db, None, OneSession(api_db), None, None, {}, None)
    with pytest.raises(Aborted) as refused:
        asyncio.run(without_key.SetSessionSecret(pb.SetSessionSecretRequest(session_id=3, name="K", host="api.llama.fi", value="v"),
                                                 context))
    assert refused.value.args[0].name == "FAILED_PRECONDITION" and "secrets_key_file" in refused.value.args[1]
