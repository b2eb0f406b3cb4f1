"""Issue 16's end-to-end proof: an agent written as Circuit's docs suggest (tests/agents/circuitist)
declares `requests`, `web3`, `httpx` and `aiohttp` in its pyproject.toml and `prices.test` in its
circuit.toml, fetches a price over HTTPS from a stand-in data API with a CA of its own (trusted only
through the operator's `egress.extra_ca_file`), reads its balance with web3.py's HTTPProvider
through the platform's chain reads, and sends a transfer sized from both through `sign_and_send`.
The same agent aimed at a host it did not declare fails with the reason, and nothing leaves.
A third session records its executions: its HTTPS is intercepted to be kept, the agent runs
unchanged, and `corral replay` gives its fetches and chain reads back from the recording.

One platform, three sessions started together (one run each), so this costs one stack and one
parallel set of executions. The stand-in listens on 443 of a loopback address of its own, so
the agent declares a plain `prices.test`, as it would a real API, and its image (built once, with
its dependencies) is reused by content hash across runs of the suite.
"""

from __future__ import annotations

import subprocess
from decimal import Decimal

import pytest
from eth_account import Account

from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import CORRAL_COMMAND, DevStack
from tests.conftest import AGENTS_DIR
from tests.helpers import finished, log_lines, start_session, wait_for
from tests.standins.https_service import PRICE, HttpsService

STANDIN_ADDRESS = "127.0.16.1"
PRICE_PATH = "/prices/current/coingecko:ethereum"
FUNDING = 10**17
FLOOR_USD, SWEEP_PERCENT = Decimal(100), 10
# What each client sends as its User-Agent, to tell the stand-in's requests apart.
CLIENTS = {"requests": "python-requests/", "httpx": "python-httpx/", "urllib": "Python-urllib/", "aiohttp": "aiohttp/"}


class Runs:
    def __init__(self, stack: DevStack, service: HttpsService) -> None:
        self.stack, self.service = stack, service
        self.wallet = self.undeclared_wallet = self.recorded_wallet = self.savings = ""
        self.allowed: pb.Execution
        self.refused: pb.Execution
        self.recorded: pb.Execution


@pytest.fixture(scope="module")
def runs(tmp_path_factory, agent_image):
    home = tmp_path_factory.mktemp("circuit-style")
    service = HttpsService(home / "tls", ["prices.test", "other.test"], address=STANDIN_ADDRESS, port=443)
    egress = {
        "allow_hosts": ["*"],
        "allow_networks": [f"{STANDIN_ADDRESS}/32"],  # the operator's leave for the stand-in's loopback address
        "resolve": {"prices.test": [STANDIN_ADDRESS], "other.test": [STANDIN_ADDRESS]},
        "extra_ca_file": str(service.ca_file),
    }
    image = agent_image(AGENTS_DIR / "circuitist")
    with service, DevStack(home, minute_seconds=1.0, egress=egress) as stack:
        result = Runs(stack, service)
        result.savings = Account.create().address
        recorded_savings = Account.create().address  # its own, so each session's sweep is read back alone
        result.wallet, result.undeclared_wallet, result.recorded_wallet = stack.create_wallets(
            3, 31337, recipients=[result.savings, recorded_savings])
        sessions = []
        for wallet, host, clients, savings, record in ((result.wallet, "prices.test", "yes", result.savings, False),
                                                       (result.undeclared_wallet, "other.test", "no", result.savings, False),
                                                       (result.recorded_wallet, "prices.test", "yes", recorded_savings, True)):
            stack.fund(wallet, FUNDING)
            settings = {"price_url": f"https://{host}{PRICE_PATH}", "savings": savings, "try_clients": clients}
            sessions.append(start_session(stack, image, wallet, settings, record=record)[1])
        assert [list(s.egress_hosts) for s in sessions] == [["prices.test"]] * 3
        result.allowed, result.refused, result.recorded = (
            wait_for(lambda s=s: finished(stack, s.id), timeout=240, what=f"session {s.id}'s run")[0] for s in sessions)
        for session in sessions:
            stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
        yield result


def expected_sweep(balance: int) -> int:
    """The agent's rule, written out again: 10% of what is above $100 of ETH at the stand-in's price."""
    floor_wei = int(FLOOR_USD * 10**18 / Decimal(str(PRICE)))
    return (balance - floor_wei) * SWEEP_PERCENT // 100


def test_the_agent_prices_reads_and_sends_a_transfer_sized_from_both(runs):
    run, w3 = runs.allowed, runs.stack.web3
    lines = log_lines(run)
    assert run.status == pb.EXECUTION_STATUS_SUCCEEDED, (run.error, lines)
    assert f"price of ETH: {PRICE}" in lines
    [balance_line] = [line for line in lines if line.startswith("balance: ")]
    [swept] = [line for line in lines if line.startswith("swept ")]
    tx_hash = swept.rsplit(": ", 1)[1]

    # The chain, read independently: the balance the agent read is the one before its
    # transaction, and it moved by exactly the decided amount plus the gas paid.
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    transaction = w3.eth.get_transaction(tx_hash)
    wallet = w3.to_checksum_address(runs.wallet)
    before = w3.eth.get_balance(wallet, receipt.blockNumber - 1)
    after = w3.eth.get_balance(wallet, receipt.blockNumber)
    amount = expected_sweep(before)
    assert balance_line == f"balance: {before} wei" and before == FUNDING
    assert swept == f"swept {amount} wei: {tx_hash}"
    assert receipt.status == 1 and transaction["to"] == runs.savings and transaction["value"] == amount
    assert before - after == amount + receipt.gasUsed * receipt.effectiveGasPrice
    assert w3.eth.get_balance(runs.savings) == amount


def test_the_executions_egress_records_show_the_api_and_the_chain_reads(runs):
    connections = runs.allowed.egress_connections
    tunnels = [c for c in connections if c.method == "CONNECT"]
    reads = [c for c in connections if c.host == "rpc.corral.internal"]
    assert len(tunnels) + len(reads) == len(connections), connections
    # requests, httpx, urllib and aiohttp: one tunnel each to the declared host, nowhere else.
    assert [(c.host, c.port, c.address, c.outcome) for c in tunnels] == [
        ("prices.test", 443, STANDIN_ADDRESS, pb.EGRESS_OUTCOME_ALLOWED)] * len(CLIENTS)
    assert all(c.bytes_in > 0 and c.bytes_out > 0 for c in tunnels)
    # web3.py's reads went to the platform's node (nothing but reads is relayed there).
    assert reads and all(c.outcome == pb.EGRESS_OUTCOME_ALLOWED and c.reason == "chain read (200)" for c in reads), reads


def test_httpx_urllib_and_aiohttp_work_unchanged_through_the_proxy_environment(runs):
    lines = log_lines(runs.allowed)
    for client in ("httpx", "urllib", "aiohttp"):
        assert f"{client}: price of ETH {PRICE}" in lines, [line for line in lines if line.startswith(client)]
    agents = [r["headers"].get("User-Agent", "") for r in runs.service.requests if r["headers"].get("Host") == "prices.test"]
    assert sorted(client for client, marker in CLIENTS.items() if any(marker in agent for agent in agents)) == sorted(CLIENTS)
    assert len(agents) == 2 * len(CLIENTS)  # the plain session's and the recorded one's


def test_a_recorded_run_is_replayed_with_its_fetches_and_chain_reads_answered_from_its_recording(runs):
    run, stack = runs.recorded, runs.stack
    lines = log_lines(run)
    assert run.status == pb.EXECUTION_STATUS_SUCCEEDED, (run.error, lines)
    # Unchanged under interception: every client got the price, and the transfer went out.
    assert f"price of ETH: {PRICE}" in lines and all(f"{client}: price of ETH {PRICE}" in lines for client in ("httpx", "urllib", "aiohttp"))
    assert [c.reason for c in run.egress_connections if c.method == "CONNECT"] == ["intercepted (the session records its executions)"] * 4
    recording = stack.api.GetExecutionRecording(pb.GetExecutionRecordingRequest(execution_id=run.id)).recording
    fetched = [(e.method, e.scheme, e.host, e.port, e.path) for e in recording.exchanges if e.host == "prices.test"]
    assert fetched == [("GET", "https", "prices.test", 443, PRICE_PATH)] * len(CLIENTS)
    reads = [e for e in recording.exchanges if e.host == "rpc.corral.internal"]
    assert reads and all(e.scheme == "http" and e.response.startswith(b"HTTP/1.1 200 OK\r\n") for e in reads)
    assert recording.exchanges_not_recorded == 0

    # The host's answer changes and the chain moves on; the replay sees what the run saw.
    runs.service.price, asked = 1.0, len(runs.service.requests)
    try:
        stack.fund(runs.recorded_wallet, 1)
        replayed = subprocess.run([*CORRAL_COMMAND, "replay", str(run.id), "--agent", str(AGENTS_DIR / "circuitist"), "--logs",
                                   "--server", stack.api_address], capture_output=True, text=True, timeout=300)
    finally:
        runs.service.price = PRICE
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "  no difference in actions" in replayed.stdout
    assert f"  log: price of ETH: {PRICE}" in replayed.stdout and f"  log: aiohttp: price of ETH {PRICE}" in replayed.stdout
    [balance_line] = [line for line in lines if line.startswith("balance: ")]
    assert f"  log: {balance_line}" in replayed.stdout
    assert f"  {len(recording.exchanges)} HTTP request(s) answered from the recording" in replayed.stdout
    assert "answered by its path" not in replayed.stdout and "a read the recorded execution did not make" not in replayed.stdout
    assert len(runs.service.requests) == asked  # the replay reached nothing


def test_an_undeclared_host_fails_with_the_host_and_the_fix_and_nothing_leaves(runs):
    run, w3 = runs.refused, runs.stack.web3
    assert run.status == pb.EXECUTION_STATUS_FAILED
    reason = "other.test:443 is not declared in circuit.toml [network] allow"
    assert reason in run.error, run.error
    assert any(line.startswith("egress refused other.test:443") and reason in line for line in log_lines(run)), log_lines(run)
    assert [(c.host, c.port, c.outcome) for c in run.egress_connections] == [("other.test", 443, pb.EGRESS_OUTCOME_REFUSED)]
    assert [r for r in runs.service.requests if r["headers"].get("Host") != "prices.test"] == []
    wallet = w3.to_checksum_address(runs.undeclared_wallet)
    assert w3.eth.get_transaction_count(wallet) == 0 and w3.eth.get_balance(wallet) == FUNDING
