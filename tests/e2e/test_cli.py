"""The `corral` CLI as a user types it: `dev run` on an agent directory, and the session,
suggestion and memory commands against a running platform."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from solders.keypair import Keypair

from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from corral_cli.main import SIGPIPE_EXIT
from devtools.devstack import CORRAL_COMMAND, DevStack
from orchestrator.agents.manifest import NATIVE_SOLANA
from orchestrator.config import SandboxConfig
from tests.conftest import AGENTS_DIR, REPO_ROOT
from tests.helpers import agent_from_template, executions, finished, wait_for

MANUALIST = REPO_ROOT / "tests" / "agents" / "manualist"
DEAD = "0x000000000000000000000000000000000000dEaD"


def corral(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """`corral ARGS` as a script runs it: no terminal on stdin (nothing may wait for input)."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    if "stdout" not in kwargs:
        kwargs["capture_output"] = True
    return subprocess.run([*CORRAL_COMMAND, *args], cwd=REPO_ROOT, text=True, timeout=600, **kwargs)


def test_dev_run_decides_suggestions_inline_then_unwinds(tmp_path):
    """Manual mode on a terminal: the platform stays up after the run, the author approves
    the transfer and rejects the message as they are asked, sees the approval's transaction
    and balances, then --unwind runs the agent's unwind() on the same session."""
    agent = tmp_path / "manualist"
    shutil.copytree(MANUALIST, agent)
    with (agent / "main.py").open("a") as main:
        main.write("\n\ndef unwind(agent, positions):\n    agent.log(f'unwinding {len(positions)} positions')\n\n\n"
                   "agent = Agent(run_function=run, unwind_function=unwind)\n")
    typist, terminal = pty.openpty()  # stdin is a terminal; the answers are typed ahead
    try:
        os.write(typist, b"a\nr\n")
        done = corral("dev", "run", str(agent), "--mode", "manual", "--unwind", stdin=terminal)
    finally:
        os.close(typist)
        os.close(terminal)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    out = done.stdout
    assert f"each run may take up to {SandboxConfig().deadline_seconds:g}s (the platform's default" in out
    assert "execution 1 [succeeded]" in out
    transfer, message = out.split("suggestion 1 (transaction, from execution 1)")[1].split("suggestion 2 (message, from execution 1)")
    assert f"1000 wei → {DEAD} on ethereum:31337" in transfer and "message: tip the dead address" in transfer
    assert "preview: the simulation succeeds (gas 21000)" in transfer
    assert "executed: transaction 0x" in transfer and " confirmed in block " in transfer
    assert "the session now holds" in transfer and "the wallet 0x" in transfer
    assert "signs: approve me" in message and "    rejected" in message
    unwound = out.split("unwinding: the agent's unwind() runs once")[1]
    assert "execution 2 [succeeded]" in unwound and "· unwinding 1 positions" in unwound
    sent = out.split("transactions:")[1].splitlines()
    assert [row.split()[:2] for row in sent[3:]] == [["1", "confirmed"]]  # the approved transfer, once


def test_dev_run_times_out_and_leaves_nothing_running(docker_client):
    """--timeout ends a run that never finishes: a clear message, exit 124, and the stack
    gone (no process, no sandbox, no file of it left). Every temporary path of the run is
    under its own TMPDIR, so what is left of it can be told from what other tests run."""
    scratch = Path(tempfile.mkdtemp(prefix="cdr-"))  # short: sandbox socket paths live under it
    agent = scratch / "agent"
    shutil.copytree(AGENTS_DIR / "sleeper", agent)
    with (agent / "main.py").open("a") as main:
        main.write(f"# {uuid.uuid4().hex}: an image of its own\n")
    home = scratch / "tmp"
    home.mkdir()
    for path in (scratch, home):
        path.chmod(0o711)  # the platform's service users reach their directories through it, as through /tmp
    try:
        done = corral("dev", "run", str(agent), "--timeout", "20", env={**os.environ, "TMPDIR": str(home)})
        assert done.returncode == 124, done.stdout[-2000:] + done.stderr[-2000:]
        assert "error: corral dev run timed out after 20s (--timeout 20) while " in done.stderr
        assert "the local platform was torn down" in done.stderr and "Traceback" not in done.stderr
        image = done.stdout.split("built ")[1].split()[0]
        assert docker_client.containers.list(all=True, filters={"ancestor": image}) == []
        left = [pid for pid in os.listdir("/proc") if pid.isdigit() and str(home).encode() in _traces(pid)]
        assert left == []
        assert list(home.iterdir()) == []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _traces(pid: str) -> bytes:
    """Where a process of the run would show the run's TMPDIR: its command line (the configs),
    its environment (inherited by every child) or its working directory (anvil's)."""
    found = b""
    for read in (lambda: Path(f"/proc/{pid}/cmdline").read_bytes(), lambda: Path(f"/proc/{pid}/environ").read_bytes(),
                 lambda: os.readlink(f"/proc/{pid}/cwd").encode()):
        try:
            found += read() + b"\0"
        except OSError:  # gone meanwhile
            pass
    return found


def test_dev_run_names_the_manifest_mistake(tmp_path):
    agent = tmp_path / "broken"
    shutil.copytree(MANUALIST, agent)
    text = (agent / "circuit.toml").read_text().replace('walletType = "ethereum"', 'walletType = "bitcoin"')
    (agent / "circuit.toml").write_text(text)
    done = corral("dev", "run", str(agent))
    assert done.returncode == 2 and "walletType" in done.stderr and "bitcoin" in done.stderr
    bad_setting = corral("dev", "run", str(MANUALIST), "--setting", "no-equals-sign")
    assert bad_setting.returncode == 2 and "must be KEY=VALUE" in bad_setting.stderr


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # Real minutes: a session runs once at its start and not again while a test reads it (with
    # one-second minutes a second run could start before the pause and clear the first's suggestions).
    with DevStack(tmp_path_factory.mktemp("cli")) as stack:
        yield stack


def test_session_suggestion_and_memory_commands(stack, agent_image):
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(MANUALIST))).agent
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent.id, wallet_address=wallet, execution_mode=common_pb2.EXECUTION_MODE_MANUAL
    )).session
    wait_for(lambda: finished(stack, session.id), what="a run")
    server = ["--server", stack.api_address]
    sid = str(session.id)

    paused = corral("session", "pause", sid, *server)
    assert paused.returncode == 0 and "paused" in paused.stdout
    assert len(executions(stack, session.id)) == 1  # the suggestions read below are this run's
    listed = corral("session", "list", *server)
    assert listed.stdout.splitlines()[0].split() == ["id", "agent", "wallet", "status", "mode", "allocation", "next", "run"]
    # Columns by position (their widths follow whatever else this module's stack holds).
    row = next(line.split() for line in listed.stdout.splitlines() if wallet in line)
    assert row[0] == sid and row[2:5] == [wallet, "paused", "manual"]
    suggestions = corral("suggestions", sid, *server)
    assert suggestions.returncode == 0 and suggestions.stdout.count("pending") == 2
    first_id = suggestions.stdout.splitlines()[2].split()[0]
    rejected = corral("suggestion", "reject", first_id, *server)
    assert rejected.returncode == 0 and "rejected" in rejected.stdout
    again = corral("suggestion", "reject", first_id, *server)
    assert again.returncode == 1 and "FAILED_PRECONDITION" in again.stderr and "only a pending suggestion" in again.stderr
    assert corral("memory", sid, *server).stdout.strip() == "(none)"  # this agent keeps no memory
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head -1` done reading: the reader is gone
    try:
        piped = corral("executions", sid, *server, stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert piped.returncode == SIGPIPE_EXIT and piped.stderr == ""
    missing = corral("session", "pause", "99999", *server)
    assert missing.returncode == 1 and "NOT_FOUND: session 99999 does not exist" in missing.stderr
    stopped = corral("session", "stop", sid, *server)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout


def test_dev_run_runs_a_solana_agent_on_the_devchain(tmp_path):
    agent = agent_from_template(REPO_ROOT / "tests" / "agents" / "solpayer", tmp_path / "solpayer", name="Dev Sol", asset=NATIVE_SOLANA)
    recipient = str(Keypair().pubkey())
    done = corral("dev", "run", str(agent), "--setting", "lamports=5000000", "--setting", f"recipient={recipient}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "funded with 10 SOL on the local Solana devchain" in done.stdout
    assert "execution 1 [succeeded]" in done.stdout and '"sent": true' in done.stdout
    assert "confirmed" in done.stdout.split("transactions:")[1]


def test_the_platform_keeps_the_signers_audit_head_and_the_owner_checks_it(stack, agent_image, tmp_path):
    """Every signer answer carries its audit log's head; the orchestrator stores the newest
    and `corral status` shows it. The owner verifies the signer's log still holds it: a copy
    of the log cut before that head (what whoever holds the signer's files could leave) fails."""
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(REPO_ROOT / "images" / "example-agent"))).agent
    session = stack.api.StartSession(pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet)).session
    wait_for(lambda: stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions, what="a tip")
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    status = corral("status", "--server", stack.api_address)
    assert status.returncode == 0, status.stderr
    head = status.stdout.split("signer audit log head: ")[1].split()[0]
    signer = ["signer", "--passphrase-file", str(stack.passphrase_file)]
    verified = corral(*signer, "--home", str(stack.signer_home), "audit", "verify", "--expect-head", head)
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stderr
    seq = int(head.split(":")[0])
    cut = tmp_path / "signer"
    cut.mkdir()
    lines = (stack.signer_home / "audit.jsonl").read_text().splitlines()
    (cut / "audit.jsonl").write_text("\n".join(lines[: seq - 1]) + "\n")  # a valid chain, one line short of the head
    cut_short = corral(*signer, "--home", str(cut), "audit", "verify", "--expect-head", head)
    assert cut_short.returncode == 1 and "does not hold the expected head" in cut_short.stderr
