"""The isolation suite: a hostile agent tries one escape per session, on every sandbox
runtime, while an honest agent runs beside it. Each case asserts that the escape failed
AND that the orchestrator, the honest session and the database are unharmed.

What stops each case is listed in SECURITY.md.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from pathlib import Path

import grpc
import pytest
from eth_account import Account
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from orchestrator.executions.runner import SHUT_DOWN
from tests.conftest import AGENTS_DIR, REPO_ROOT
from tests.helpers import agent_from_template, executions, finished, log_lines, start_session, wait_for
from tests.standins.https_service import PRICE, HttpsService

INTRUDER = REPO_ROOT / "tests" / "isolation" / "intruder"
EXAMPLE_AGENT = REPO_ROOT / "images" / "example-agent"
DEADLINE_SECONDS = 30
STANDIN_ADDRESS = "127.0.0.2"
MAX_SDK_CALLS = 400
MAX_LOG_LINES = 200

# Probes that end with a `probe <name>: blocked (...)` log line.
LOGGED_PROBES = [
    "tcp-egress", "udp-egress", "icmp", "dns", "ipv6", "metadata", "host-loopback", "signer-socket", "docker-socket",
    "other-socket", "write-outside-tmp", "fill-tmp", "exec-tmp", "secrets", "ptrace", "stop-watchdog", "mount", "unshare", "setuid",
    "fork-bomb", "stdout-flood", "oversized-message", "forged-token", "deep-json", "wide-json",
    "stream-flood", "egress-undeclared", "egress-ip-direct", "egress-private-names", "egress-dns", "egress-smuggling",
    "egress-oversized", "egress-slowloris", "egress-flood",
]
# Probes stopped by the sandbox killing the agent or by the platform refusing it further.
OUTCOME_PROBES = ["memory-bomb", "cpu-spin", "sdk-flood", "replayed-token"]


class Suite:
    """One platform per runtime with every probe started at once, plus an honest session."""

    def __init__(self, stack: DevStack, image: str, wallet: str, honest_session) -> None:
        self.stack = stack
        self.backend = ""
        self.image = image
        self.wallet = wallet
        self.honest = honest_session
        self.sessions: dict[str, int] = {}
        self.service: HttpsService
        self.fetcher: str


@pytest.fixture(scope="module", params=["runc", "gvisor", "bubblewrap"])
def suite(request, tmp_path_factory, agent_image, agent_dir_image):
    sandbox: dict[str, object] = {"max_sdk_calls": MAX_SDK_CALLS, "max_log_lines": MAX_LOG_LINES}
    if request.param == "gvisor":
        sandbox["runtime"] = "runsc"
    if request.param == "bubblewrap":
        sandbox["backend"] = "bubblewrap"
        agent_image = agent_dir_image
    home = tmp_path_factory.mktemp(f"isolation-{request.param}")
    # The stand-in HTTPS service the fetcher reaches, on a loopback address of its own: the
    # operator allows that one address; every other loopback, private and metadata address
    # stays refused, including through the names the intruder declares.
    service = HttpsService(home / "tls", ["prices.test", "other.test"], address=STANDIN_ADDRESS)
    egress = {
        "allow_hosts": ["*", f"prices.test:{service.port}"],
        "allow_networks": [f"{STANDIN_ADDRESS}/32"],
        "resolve": {"prices.test": [STANDIN_ADDRESS], "other.test": [STANDIN_ADDRESS], "loopback.test": ["127.0.0.1"],
                    "private.test": ["10.0.0.1"], "metadata.test": ["169.254.169.254"]},
        "extra_ca_file": str(service.ca_file),
        "limits": {"head_seconds": 3.0, "max_connections": 24},
    }
    with service, DevStack(home, minute_seconds=1.0, deadline_seconds=DEADLINE_SECONDS, sandbox=sandbox, max_parallel_executions=4,
                           egress=egress) as stack:
        wallet = stack.create_wallet(31337)
        stack.fund(wallet, 10**18)
        _, honest = start_session(stack, agent_image(EXAMPLE_AGENT), wallet)
        wait_for(lambda: finished(stack, honest.id), what="the honest session's first run")
        suite = Suite(stack, agent_image(INTRUDER), wallet, honest)
        suite.backend = request.param
        suite.service = service
        suite.fetcher = agent_image(agent_from_template(AGENTS_DIR / "fetcher", home / "fetcher", port=service.port))
        targets = json.dumps({
            "orchestrator_port": stack.api_address.rsplit(":", 1)[1],
            "anvil_port": stack.rpc_url.rsplit(":", 1)[1],
            "signer_socket": str(stack.signer_socket),
            "signer_home": str(stack.signer_home),
            "database": str(stack.database_path),
            # The honest session's executions each get a socket under here.
            "other_socket": str(stack.socket_root),
            "secret_sha256": secret_hashes(stack),
        })
        agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=suite.image)).agent
        probes = LOGGED_PROBES + OUTCOME_PROBES
        # Each probe is its own session of the intruder; an agent runs once per wallet.
        for probe, probe_wallet in zip(probes, stack.create_wallets(len(probes), 31337), strict=True):
            stack.fund(probe_wallet, 10**15)
            session = stack.api.StartSession(
                pb.StartSessionRequest(agent_id=agent.id, wallet_address=probe_wallet, settings={"probe": probe, "targets": targets})
            ).session
            suite.sessions[probe] = session.id
        yield suite
        for session_id in suite.sessions.values():
            try:
                stack.api.StopSession(pb.StopSessionRequest(session_id=session_id))
            except grpc.RpcError:
                pass  # already stopped by a test


def secret_hashes(stack: DevStack) -> list[str]:
    """SHA-256 of each secret the sandbox must never see (the secrets themselves never leave the test)."""
    passphrase = stack.passphrase_file.read_text()
    keys = [
        bytes(Account.decrypt(json.loads(p.read_text()), passphrase)).hex()
        for p in (stack.signer_home / "keystore").glob("*.json")
    ]
    return [hashlib.sha256(s.lower().encode()).hexdigest() for s in [passphrase, *keys]]


def first_finished(suite: Suite, probe: str, count: int = 1):
    session_id = suite.sessions[probe]
    runs = wait_for(
        lambda: (r := finished(suite.stack, session_id)) and len(r) >= count and r,
        timeout=240, what=f"{count} finished execution(s) of probe {probe}",
    )
    return runs[count - 1]


def assert_platform_unharmed(suite: Suite) -> None:
    stack = suite.stack
    health = health_pb2_grpc.HealthStub(stack.channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    honest_runs = finished(stack, suite.honest.id)
    assert honest_runs and all(e.status == pb.EXECUTION_STATUS_SUCCEEDED for e in honest_runs), [e.error for e in honest_runs]
    assert stack.api.GetSession(pb.GetSessionRequest(session_id=suite.honest.id)).session.status == pb.SESSION_STATUS_RUNNING
    with sqlite3.connect(stack.database_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert stack.signer_socket.exists()
    for name in ("orchestrator", "signer", "anvil"):
        assert stack.processes[name].poll() is None, f"{name} died"


def test_a_declared_https_host_is_reached_and_an_undeclared_one_refused_with_a_clear_error(suite):
    """The way out that is meant to work: the fetcher's urllib call goes through the loopback
    forwarder and the egress proxy to the stand-in, trusting its CA through the standard
    bundle variables; the same agent aimed at an undeclared host fails with the reason."""
    stack, port = suite.stack, suite.service.port
    wallets = stack.create_wallets(2, 31337)
    sessions = []
    for wallet, host in zip(wallets, ("prices.test", "other.test"), strict=True):
        stack.fund(wallet, 10**15)
        url = f"https://{host}:{port}/prices/current/coingecko:ethereum"
        _, session = start_session(stack, suite.fetcher, wallet, {"url": url, "read_chain": "yes"})
        sessions.append(session)
        assert list(session.egress_hosts) == [f"prices.test:{port}"]
    allowed = wait_for(lambda: finished(stack, sessions[0].id), timeout=240, what="the fetcher's run")[0]
    assert allowed.status == pb.EXECUTION_STATUS_SUCCEEDED, allowed.error
    lines = log_lines(allowed)
    assert f"price of coingecko:ethereum: {PRICE}" in lines
    # Chain reads: the platform's node answers reads and refuses sends.
    assert f"balance read through the chain: {stack.web3.eth.get_balance(stack.web3.to_checksum_address(wallets[0]))}" in lines
    assert any(line.startswith("send through the chain reads: eth_sendRawTransaction is not a chain read") for line in lines)
    connection, *reads = allowed.egress_connections
    assert (connection.host, connection.port, connection.address, connection.outcome) == (
        "prices.test", port, STANDIN_ADDRESS, pb.EGRESS_OUTCOME_ALLOWED)
    assert connection.bytes_in > 0 and connection.bytes_out > 0
    assert [(r.host, r.reason) for r in reads] == [("rpc.corral.internal", "chain read (200)")] * 2

    refused = wait_for(lambda: finished(stack, sessions[1].id), timeout=240, what="the misaimed fetcher's run")[0]
    assert refused.status == pb.EXECUTION_STATUS_FAILED
    assert f"other.test:{port} is not declared in circuit.toml [network] allow" in refused.error
    assert any("egress refused other.test" in line for line in log_lines(refused))
    assert [c.outcome for c in refused.egress_connections] == [pb.EGRESS_OUTCOME_REFUSED]
    assert [r["headers"].get("Host") for r in suite.service.requests].count(f"other.test:{port}") == 0
    for session in sessions:
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    assert_platform_unharmed(suite)


def test_a_secret_reaches_its_host_in_a_header_and_nowhere_else(suite):
    """The canary: a random secret for the declared host, used by placeholder in a header. The
    stand-in receives it; the sandbox (environment, socket directory), the execution's logs
    and output, the API, the egress records, the database and the orchestrator's log never
    hold it."""
    stack, port = suite.stack, suite.service.port
    canary = f"canary-{secrets.token_hex(16)}"
    [wallet] = stack.create_wallets(1, 31337)
    stack.fund(wallet, 10**15)
    url = f"https://prices.test:{port}/prices/current/coingecko:bitcoin"
    settings = {"url": url, "header": "X-Api-Key: {{secret:PRICES_KEY}}", "inspect": "yes"}
    # Plain environment settings reach the agent's process; the platform's own names cannot be set.
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=suite.fetcher)).agent
    with pytest.raises(grpc.RpcError) as refused:
        stack.api.StartSession(pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet, settings=settings,
                                                      environment={"HTTPS_PROXY": "http://evil.test"}))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "HTTPS_PROXY: the platform sets it" in refused.value.details()
    _, session = start_session(stack, suite.fetcher, wallet, settings, environment={"PRICES_REGION": "eu-west"})
    assert dict(session.environment) == {"PRICES_REGION": "eu-west"}
    # The host answers only the right key (401 otherwise). A run that started before the secret
    # was set had no secrets, so its connection was tunnelled and the placeholder's text reached
    # the host unread: that run fails on the 401, and a later one, which has the secret, succeeds.
    suite.service.required_headers = {"x-api-key": canary}
    try:
        stack.api.SetSessionSecret(pb.SetSessionSecretRequest(session_id=session.id, name="PRICES_KEY", host=f"prices.test:{port}",
                                                              value=canary))
        run = wait_for(lambda: next((e for e in finished(stack, session.id) if e.status == pb.EXECUTION_STATUS_SUCCEEDED), None),
                       timeout=240, what="the fetcher's run with its secret")
    finally:
        suite.service.required_headers = {}
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    assert "price of coingecko:bitcoin: 3141.5" in log_lines(run)
    sent = [{k.lower(): v for k, v in r["headers"].items()}.get("x-api-key") for r in suite.service.requests]
    assert canary in sent
    with sqlite3.connect(stack.database_path) as db:
        [output] = db.execute("SELECT output FROM executions WHERE id = ?", (run.id,)).fetchone()
    assert "env HTTPS_PROXY=" in output, output[-2000:]  # the agent looked
    assert "env PRICES_REGION=eu-west\n" in output
    assert "file egress-ca.pem: b'-----BEGIN CERTIFICATE" in output, output[-2000:]
    seen = [output, str(executions(stack, session.id)), str(stack.api.GetSession(pb.GetSessionRequest(session_id=session.id))),
            str(stack.api.ListSessionSecrets(pb.ListSessionSecretsRequest(session_id=session.id))),
            str(stack.api.ListSessionMemory(pb.ListSessionMemoryRequest(session_id=session.id)))]
    for text in seen:
        assert canary not in text
    for path in [*stack.database_path.parent.glob(stack.database_path.name + "*"), *stack.home.glob("*.log")]:
        assert canary.encode() not in path.read_bytes(), path
    assert_platform_unharmed(suite)


# Known and bounded (SECURITY.md, "The sandbox"): this gVisor delivers SIGSTOP from inside to
# PID 1. Strict, so the day runsc keeps Linux's rule this case fails and the note is removed.
KNOWN_OPEN = {("gvisor", "stop-watchdog"): "runsc delivers in-namespace SIGSTOP/SIGKILL to PID 1 (google/gvisor#11836)"}


@pytest.mark.parametrize("probe", LOGGED_PROBES)
def test_escape_is_blocked(suite, probe, request):
    if (suite.backend, probe) in KNOWN_OPEN:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_OPEN[suite.backend, probe]))
    run = first_finished(suite, probe)
    verdicts = [line for line in log_lines(run) if line.startswith(f"probe {probe}:")]
    assert verdicts, f"no verdict logged; status {run.status} error {run.error!r} logs {log_lines(run)}"
    assert ": blocked (" in verdicts[0], verdicts[0]
    assert run.status == pb.EXECUTION_STATUS_SUCCEEDED, run.error
    assert_platform_unharmed(suite)


def test_stdout_flood_is_bounded(suite):
    run = first_finished(suite, "stdout-flood")
    assert run.status == pb.EXECUTION_STATUS_SUCCEEDED
    with sqlite3.connect(suite.stack.database_path) as db:
        kept, dropped = db.execute("SELECT length(output), output_dropped_bytes FROM executions WHERE id = ?", (run.id,)).fetchone()
    assert kept <= 64 * 1024 and dropped > 0


def test_memory_bomb_is_killed(suite):
    run = first_finished(suite, "memory-bomb")
    assert run.status == pb.EXECUTION_STATUS_FAILED
    # runc: the engine reports the OOM kill; gVisor kills inside its own kernel (see executions._outcome).
    assert "out of memory" in run.error or "memory limit" in run.error or "MemoryError" in run.error, run.error
    assert_platform_unharmed(suite)


def test_cpu_spin_is_killed_at_the_deadline(suite):
    run = first_finished(suite, "cpu-spin")
    assert run.status == pb.EXECUTION_STATUS_FAILED
    assert run.error.startswith(f"deadline of {DEADLINE_SECONDS}s exceeded; the sandbox was killed; its last log line was 'spinning'"), run.error
    assert log_lines(run) == ["spinning"]
    assert_platform_unharmed(suite)


def test_sdk_flood_is_cut_off(suite):
    run = first_finished(suite, "sdk-flood")
    assert run.status == pb.EXECUTION_STATUS_FAILED
    assert run.error.startswith("RuntimeError: probe sdk-flood: blocked") and f"all {MAX_SDK_CALLS} of its SDK calls" in run.error, run.error
    assert len(run.logs) + run.log_lines_not_shown == MAX_LOG_LINES  # the FULL view: the last lines, the rest counted
    with sqlite3.connect(suite.stack.database_path) as db:
        calls, dropped = db.execute("SELECT sdk_calls, log_lines_dropped FROM executions WHERE id = ?", (run.id,)).fetchone()
    assert calls == MAX_SDK_CALLS + 1  # the refused call is counted too
    assert dropped == 300 - MAX_LOG_LINES
    assert_platform_unharmed(suite)


def test_replayed_token_from_an_earlier_execution_is_refused(suite):
    second = first_finished(suite, "replayed-token", count=2)
    verdict = [line for line in log_lines(second) if line.startswith("probe replayed-token:")][0]
    assert ": blocked (UNAUTHENTICATED" in verdict, verdict
    assert_platform_unharmed(suite)


@pytest.mark.parametrize("runtime", ["runc", "gvisor", "bubblewrap"])
def test_no_sandbox_outlives_the_orchestrator(runtime, tmp_path_factory, agent_image, agent_dir_image, docker_client):
    """Stopping the orchestrator while an execution runs (and a warm sandbox waits) leaves no
    sandbox, socket, mount or cgroup behind. On a platform of its own: stopping the shared one
    would cut short the runs other tests of this module are waiting for."""
    sandbox: dict[str, object] = {}
    image_of = agent_image
    if runtime == "gvisor":
        sandbox["runtime"] = "runsc"
    if runtime == "bubblewrap":
        sandbox["backend"] = "bubblewrap"
        image_of = agent_dir_image
    with DevStack(tmp_path_factory.mktemp(f"shutdown-{runtime}"), minute_seconds=1.0, sandbox=sandbox) as stack:
        wallet = stack.create_wallet(31337)
        stack.fund(wallet, 10**15)
        _, session = start_session(stack, image_of(AGENTS_DIR / "sleeper"), wallet)

        def sleeping():
            runs = stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session.id, view=pb.RESOURCE_VIEW_FULL)).executions
            return any(run.status == pb.EXECUTION_STATUS_RUNNING and log_lines(run) == ["going to sleep"] for run in runs)

        wait_for(sleeping, what="the sleeper's run to be under way")
        with sqlite3.connect(stack.database_path) as db:
            installation = db.execute("SELECT value FROM platform_settings WHERE key = 'installation_id'").fetchone()[0]
            executed = {row[0] for row in db.execute("SELECT sandbox_id FROM executions WHERE sandbox_id != ''")}
        # The stack's sandboxes: its runs' and those started for the warm pool (an id has
        # its socket directory before its sandbox exists). Other sandboxes on this host (other
        # test workers') are not this test's to look at.
        sandbox_ids = executed | {p.name.removeprefix("sbx-") for p in stack.socket_root.iterdir()}
        orchestrator = stack.processes["orchestrator"]
        orchestrator.terminate()
        assert_nothing_left_behind(stack, docker_client, installation, orchestrator.wait(timeout=60), sandbox_ids)
        with sqlite3.connect(stack.database_path) as db:
            ended = db.execute("SELECT status, error FROM executions WHERE session_id = ?", (session.id,)).fetchall()
        assert ended == [("interrupted", SHUT_DOWN)]  # the run the shutdown cut short, not a "memory limit" kill


def assert_nothing_left_behind(stack: DevStack, docker_client, installation: str, exit_code: int, sandbox_ids: set[str]) -> None:
    # What the orchestrator said last (e.g. a directory it could not remove) explains a failure here.
    said = stack.log_text("orchestrator")[-4000:]
    assert exit_code == 0, said
    assert docker_client.containers.list(all=True, filters={"label": f"org.corral.installation={installation}"}) == []
    assert list(stack.socket_root.iterdir()) == [], said
    bwrap_state = stack.socket_root.parent / "bwrap-state"
    if bwrap_state.exists():  # bubblewrap: no state file, /tmp mount or cgroup left
        assert list(bwrap_state.iterdir()) == []
        assert sandbox_ids  # at least the sleeper's
        assert not [i for i in sandbox_ids if (Path("/sys/fs/cgroup/pids/corral") / i).is_dir()]
