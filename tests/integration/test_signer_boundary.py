"""The signer's process boundary: who may connect, and that it cannot use the network."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from devtools.devstack import CORRAL_COMMAND, REPO_ROOT

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # + empty SETTINGS


def speaks_grpc_as(uid: int, socket_path) -> str:
    """Connects to the socket from a child process running as `uid` and opens an HTTP/2
    connection: "answered" if the gRPC server replied, "closed" if the connection was
    dropped, or the connect error. (A child by fork: the interpreter under /root cannot
    be executed by other users.)"""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(str(socket_path))
                s.sendall(HTTP2_PREFACE)
                verdict = "answered" if s.recv(64) else "closed"
        except (ConnectionResetError, BrokenPipeError):
            verdict = "closed"  # dropped with our bytes unread, or before we finished sending them
        except OSError as exc:
            verdict = f"error {exc.errno}"
        os.write(write_end, verdict.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as f:
        return f.read()


@pytest.fixture()
def shared_signer(tmp_path):
    """A signer that lets uid 0 and uid 4242 in, so its socket is world-connectable and
    the uid check alone decides."""
    home = Path(tempfile.mkdtemp(prefix="corral-signer-")) / "signer"
    home.parent.chmod(0o755)
    passphrase = tmp_path / "pass"
    passphrase.write_text("correct horse battery staple")
    passphrase.chmod(0o600)
    process = subprocess.Popen(
        [*CORRAL_COMMAND, "signer", "--home", str(home), "--passphrase-file", str(passphrase), "serve", "--allow-uid", "0", "--allow-uid", "4242"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 30
    while not (home / "signer.sock").exists():
        assert time.monotonic() < deadline and process.poll() is None, process.stdout.read() if process.poll() is not None else "timeout"
        time.sleep(0.1)
    home.chmod(0o755)  # let other users reach the socket file; the uid check must still stop them
    yield home
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)
    shutil.rmtree(home.parent, ignore_errors=True)


def test_an_unlisted_uid_is_refused_and_audited(shared_signer):
    assert speaks_grpc_as(0, shared_signer / "signer.sock") == "answered"
    assert speaks_grpc_as(65534, shared_signer / "signer.sock") == "closed"
    entries = [json.loads(line) for line in (shared_signer / "audit.jsonl").read_text().splitlines()]
    denial = entries[-1]
    assert (denial["action"], denial["decision"], denial["rule"], denial["peer"]["uid"]) == ("connect", "deny", "peer-uid", 65534)


def test_the_internal_socket_is_out_of_reach(shared_signer):
    internal = shared_signer / "internal"
    assert oct(internal.stat().st_mode & 0o777) == "0o700"
    assert speaks_grpc_as(65534, internal / "grpc.sock") == f"error {errno.EACCES}"


SIGN_ROUND_TRIP = textwrap.dedent("""
    import asyncio, json, os, socket, sys, tempfile
    from pathlib import Path
    from signer.no_network import forbid_network
    forbid_network()
    import signer.audit, signer.cli, signer.config, signer.evm, signer.keystore, signer.peer, signer.policy, signer.service, signer.server
    import grpc
    from corral.v1 import signer_pb2, signer_pb2_grpc
    from signer.config import SignerPaths
    from signer.keystore import Keystore
    from signer.policy import PolicyStore, WalletPolicy

    async def main():
        paths = SignerPaths(home=Path(tempfile.mkdtemp()) / "s")
        paths.ensure()
        address = Keystore(paths.keystore_dir, "pw").create_wallet()
        PolicyStore(paths.policy_dir).set(address, WalletPolicy(allowed_chain_ids=[1]))
        server = asyncio.create_task(signer.server.serve(paths, "pw"))
        while not paths.socket_path.exists():
            await asyncio.sleep(0.05)
        async with grpc.aio.insecure_channel(f"unix:{paths.socket_path}") as channel:
            stub = signer_pb2_grpc.SignerServiceStub(channel)
            tx = signer_pb2.EvmUnsignedTransaction(chain_id=1, nonce=0, to="0x" + "11" * 20, value="1", gas=21000,
                                                   legacy=signer_pb2.LegacyFees(gas_price="1"))
            signed = await stub.SignEvmTransaction(signer_pb2.SignEvmTransactionRequest(wallet_address=address, transaction=tx))
        print("signed", len(signed.raw_transaction), flush=True)
        os.kill(os.getpid(), 15)  # the signer's own graceful stop
        await server
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            print("TCP socket created", flush=True)
        except OSError as exc:
            print("TCP refused:", exc.errno, flush=True)

    asyncio.run(main())
""")


def test_signer_runs_with_no_network_at_all():
    """The whole signer package is imported and serves a real signature over its Unix
    socket, traced: every attempt to make a non-AF_UNIX socket failed, none succeeded."""
    traced = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=socket,socketpair", sys.executable, "-P", "-c", SIGN_ROUND_TRIP],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert traced.returncode == 0 and "signed" in traced.stdout, traced.stdout + traced.stderr[-2000:]
    assert f"TCP refused: {errno.EAFNOSUPPORT}" in traced.stdout
    calls = [line for line in traced.stderr.splitlines() if "socket(" in line or "socketpair(" in line]
    assert any("AF_UNIX" in line for line in calls)  # the trace saw the signer's own sockets
    for line in calls:
        if "AF_UNIX" not in line:
            assert "= -1 EAFNOSUPPORT" in line, f"a non-Unix socket was created: {line}"


def test_signer_package_imports_no_network_library():
    import ast

    forbidden = {"web3", "requests", "aiohttp", "httpx", "urllib", "http", "urllib3", "ssl", "solana"}
    for path in sorted((REPO_ROOT / "signer").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"
                if name.split(".")[0] == "socket":
                    assert path.name in ("peer.py", "no_network.py"), f"{path.name} imports socket"


def test_signer_runs_as_its_own_user_with_private_memory(tmp_path):
    """Started by root with --user, the signer gives up root, owns its files, and is not
    dumpable (its /proc files belong to root, so no process of its own uid can read its memory)."""
    import pwd

    from devtools.devstack import SIGNER_USER, DevStack

    if os.geteuid() != 0:
        pytest.skip("needs root to start the signer as another user")
    try:
        account = pwd.getpwnam(SIGNER_USER)
    except KeyError:
        pytest.skip(f"no {SIGNER_USER} user (scripts/setup creates it)")
    stack = DevStack(tmp_path / "stack", signer_user=SIGNER_USER)
    stack.home.mkdir(parents=True)
    try:
        stack.start_signer()
        wallet = stack.create_wallet(1)
        pid = stack.processes["signer"].pid
        status = Path(f"/proc/{pid}/status").read_text()
        uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
        assert uids == [str(account.pw_uid)] * 4
        assert Path(f"/proc/{pid}/mem").stat().st_uid == 0  # not dumpable
        for path in [stack.signer_home / "keystore" / f"{wallet}.json", stack.signer_home / "policies" / f"{wallet.lower()}.json"]:
            assert (path.stat().st_uid, path.stat().st_mode & 0o777) == (account.pw_uid, 0o600)
        assert speaks_grpc_as(0, stack.signer_socket) == "answered"  # the orchestrator's uid
        assert speaks_grpc_as(account.pw_uid, stack.signer_socket) == "closed"  # not listed
    finally:
        stack.close()
