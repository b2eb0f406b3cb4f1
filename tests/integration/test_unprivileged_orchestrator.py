"""The orchestrator runs as its own unprivileged user (docs/deploy.md): the platform works
(an agent runs and pays), and an attacker holding the orchestrator's uid cannot reach the
keys — not by reading the signer's files, not through the Docker socket, not through a
sandbox it asks the launcher for (a directory of its choosing, a link to `/` in place of
its own, labels or limits the launcher owns), not through bubblewrap — each way tried as that uid."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import textwrap

import pytest
from web3 import Web3

from devtools.devstack import ORCHESTRATOR_USER, DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import finished, log_lines, start_session, wait_for

EXAMPLE_AGENT = REPO_ROOT / "images" / "example-agent"
DEAD = "0x000000000000000000000000000000000000dEaD"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make the orchestrator's user")


@pytest.fixture(scope="module", params=["docker", "bubblewrap"])
def stack(request, tmp_path_factory, base_image):
    if subprocess.run(["id", ORCHESTRATOR_USER], capture_output=True).returncode:
        pytest.fail("scripts/setup makes the corral-orchestrator user; run it")
    with DevStack(tmp_path_factory.mktemp(f"unprivileged-{request.param}"), minute_seconds=1.0, orchestrator_user=ORCHESTRATOR_USER,
                  sandbox={"backend": request.param}) as running:
        yield running


def as_orchestrator(stack: DevStack, code: str) -> dict:
    """Runs `code` (which sets `result`, a dict) as the orchestrator's uid and groups."""
    program = "import json\nresult = {}\n" + textwrap.dedent(code) + "\nprint(json.dumps(result))\n"
    done = subprocess.run(
        ["setpriv", "--reuid", ORCHESTRATOR_USER, "--regid", ORCHESTRATOR_USER, "--clear-groups", sys.executable, "-P", "-c", program],
        capture_output=True, text=True, timeout=120, cwd="/",
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_orchestrator_process_runs_as_its_own_user_and_the_platform_works(stack, agent_image, agent_dir_image):
    status = (stack.processes["orchestrator"].pid, pwd.getpwnam(ORCHESTRATOR_USER).pw_uid)
    with open(f"/proc/{status[0]}/status") as f:
        uids = next(line.split()[1:] for line in f if line.startswith("Uid:"))
    assert set(map(int, uids)) == {status[1]}  # real, effective, saved and filesystem uid
    wallet = stack.create_wallet(31337, recipients=[DEAD])
    stack.fund(wallet, 10**18)
    before = stack.web3.eth.get_balance(Web3.to_checksum_address(DEAD))
    image = agent_dir_image(EXAMPLE_AGENT) if stack.sandbox["backend"] == "bubblewrap" else agent_image(EXAMPLE_AGENT)
    _, session = start_session(stack, image, wallet, settings={"tip_wei": "1000", "recipient": DEAD})
    run = wait_for(lambda: (r := finished(stack, session.id)) and r[0], what="a run of the example agent")
    assert run.error == "" and any(line.startswith("tip sent:") for line in log_lines(run)), (run.error, log_lines(run))
    assert stack.web3.eth.get_balance(Web3.to_checksum_address(DEAD)) - before == 1000


def test_the_signers_files_are_out_of_reach(stack):
    targets = {
        "passphrase": str(stack.passphrase_file),
        "keystore": str(next((stack.signer_home / "keystore").glob("*.json"), stack.signer_home / "keystore")),
        "policies": str(stack.signer_home / "policies"),
        "audit log": str(stack.signer_home / "audit.jsonl"),
        "signer home": str(stack.signer_home),
    }
    result = as_orchestrator(stack, f"""
        import os
        for name, path in {targets!r}.items():
            try:
                if os.path.isdir(path):
                    os.listdir(path)
                else:
                    open(path, "rb").read(1)
                result[name] = "READ"
            except OSError as exc:
                result[name] = type(exc).__name__
    """)
    assert result == dict.fromkeys(targets, "PermissionError"), result


def test_the_docker_socket_and_bubblewrap_give_nothing(stack):
    passphrase = str(stack.passphrase_file)
    result = as_orchestrator(stack, f"""
        import socket, subprocess
        try:
            socket.socket(socket.AF_UNIX).connect("/var/run/docker.sock")
            result["docker"] = "CONNECTED"
        except OSError as exc:
            result["docker"] = type(exc).__name__
        shown = subprocess.run(["bwrap", "--bind", "/", "/", "--", "cat", {passphrase!r}], capture_output=True, text=True)
        result["bwrap"] = "READ" if shown.returncode == 0 else shown.stderr.strip()[:200]
    """)
    assert result["docker"] == "PermissionError"
    assert result["bwrap"] != "READ" and result["bwrap"], result


def test_the_launcher_starts_only_its_own_container_shape(stack, base_image, agent_dir_image):
    """Straight at the launcher socket, as the orchestrator's uid: a path instead of an id,
    a directory never prepared, swapping the prepared one for a link to `/`, a label the
    launcher owns, limits above its ceilings; and the one shape it may start."""
    socket_path = str(stack.launcher_socket)
    image = agent_dir_image(EXAMPLE_AGENT) if stack.sandbox["backend"] == "bubblewrap" else base_image
    result = as_orchestrator(stack, f"""
        import grpc, os, secrets
        from corral.v1 import launcher_pb2 as pb, launcher_pb2_grpc
        stub = launcher_pb2_grpc.SandboxLauncherStub(grpc.insecure_channel("unix:{socket_path}"))
        limits = pb.SandboxLimits(memory_mb=128, cpus=0.5, pids=32, tmpfs_mb=8, deadline_seconds=20, output_bytes=4096, nofile=64, fsize_mb=8)

        def attempt(name, call):
            try:
                call()
                result[name] = "ACCEPTED"
            except grpc.RpcError as exc:
                result[name] = exc.code().name + ": " + exc.details()

        def start(sandbox_id, **changes):
            request = pb.StartSandboxRequest(image={image!r}, command=["run"], sandbox_id=sandbox_id, limits=limits)
            for field, value in changes.items():
                if field == "limits":
                    request.limits.CopyFrom(value)
                elif field in ("labels", "environment"):
                    getattr(request, field).update(value)
                else:
                    setattr(request, field, value)
            return stub.StartSandbox(request, timeout=30)

        attempt("path as id", lambda: stub.PrepareSandboxDirectory(pb.PrepareSandboxDirectoryRequest(sandbox_id="../../etc"), timeout=10))
        attempt("unprepared directory", lambda: start(secrets.token_hex(8)))
        sandbox_id = secrets.token_hex(8)
        directory = stub.PrepareSandboxDirectory(pb.PrepareSandboxDirectoryRequest(sandbox_id=sandbox_id), timeout=10).path
        # Swap the directory for a link to / before the mount: its parent is the launcher's.
        try:
            os.rename(directory, directory + ".moved")
            os.symlink("/", directory)
            result["swap"] = "SWAPPED"
        except OSError as exc:
            result["swap"] = type(exc).__name__
        attempt("launcher label", lambda: start(sandbox_id, labels={{"org.corral.deadline": "99999999999"}}))
        attempt("memory above ceiling", lambda: start(sandbox_id, limits=pb.SandboxLimits(
            memory_mb=1 << 20, cpus=0.5, pids=32, tmpfs_mb=8, deadline_seconds=20, output_bytes=4096, nofile=64, fsize_mb=8)))
        # What it may start: the launcher's own shape (the isolation suite tries to break out of it).
        attempt("honest start", lambda: start(sandbox_id, environment={{"CORRAL_SOCKET": "/run/corral/none"}}))
        stub.FinishSandbox(pb.FinishSandboxRequest(sandbox_id=sandbox_id, deadline_seconds=30), timeout=120)
        stub.RemoveSandboxDirectory(pb.RemoveSandboxDirectoryRequest(sandbox_id=sandbox_id), timeout=10)
        result["directory left"] = os.path.exists(directory)
    """)
    assert result["path as id"].startswith("INVALID_ARGUMENT") and "hex" in result["path as id"]
    assert result["unprepared directory"].startswith("FAILED_PRECONDITION"), result
    assert result["swap"] == "PermissionError"
    assert result["launcher label"].startswith("INVALID_ARGUMENT") and "org.corral.deadline" in result["launcher label"]
    assert result["memory above ceiling"].startswith("INVALID_ARGUMENT") and "limits.memory_mb" in result["memory above ceiling"]
    assert result["honest start"] == "ACCEPTED", result
    assert result["directory left"] is False
