"""What a cold sandbox runs before the agent's code, on the image's Python (3.13) over the base
image's files: asyncio and grpc.aio are left for the agent that uses them (they are about a
tenth of a cold start's CPU), and work as usual when it does; SDK models are built when used."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from sandbox_runner.host.images import base_dir, rootfs_dir

# Runs first in every probe: the path the base image's ENV gives, then the entrypoint's imports.
PRELUDE = """
import json, sys
sys.path[:0] = ["/opt/corral/lib", "/opt/corral/lib/sdk/compat", "/opt/corral/deps"]
import sandbox_runner.inside.entrypoint

def ran(name):
    # A lazy module not yet run is of importlib.util's _LazyModule class, a ModuleType subclass.
    return name in sys.modules and type(sys.modules[name]).__name__ != "_LazyModule"
"""


def on_image_python(script: str) -> dict[str, object]:
    """Runs PRELUDE + `script` with the image's python3 under bubblewrap (no network, the
    root filesystem and /opt/corral read-only); returns the JSON object it printed last."""
    command = [
        "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
        "--ro-bind", str(rootfs_dir()), "/", "--ro-bind", str(base_dir()), "/opt/corral",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
        "--", "python3", "-I", "-B", "-c", PRELUDE + textwrap.dedent(script),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", autouse=True)
def _images_built() -> None:
    rootfs_dir()
    base_dir()


def test_a_run_that_logs_and_calls_the_platform_never_runs_asyncio():
    """The execution's context, a log line (a logging record: it asks for the asyncio task
    only once asyncio has run), envelopes and a synchronous gRPC call (refused: no socket)."""
    found = on_image_python("""
        from corral.v1 import runtime_pb2
        from sdk.context import AgentContext
        from sdk.transport import RuntimeTransport
        agent = AgentContext(sessionId=1, sessionWalletAddress="0x" + "1" * 40, settings={"a": 1.0},
                             currentPositions=[{"network": "ethereum:1", "assetAddress": "0x0", "currentQty": "1"}],
                             transport=RuntimeTransport("/tmp/no.sock"))
        logged = agent.log("hello")
        got = agent.memory.get("k")
        print(json.dumps({"logged": logged.success, "got": got.success, "error": got.error,
                          "asyncio": ran("asyncio"), "grpc.aio": ran("grpc.aio")}))
    """)
    assert found["logged"] is False and found["got"] is False and found["error"], found  # no platform behind the socket
    assert found["asyncio"] is False and found["grpc.aio"] is False, found


def test_asyncio_grpc_aio_and_task_names_work_once_the_agent_uses_them():
    found = on_image_python("""
        import asyncio, logging
        import grpc
        from corral.v1 import runtime_pb2, runtime_pb2_grpc
        names = []

        class Keep(logging.Handler):
            def emit(self, record):
                names.append(record.taskName)

        logging.getLogger("probe").addHandler(Keep())

        async def call():
            logging.getLogger("probe").warning("inside a task")
            async with grpc.aio.insecure_channel("unix:/tmp/no.sock") as channel:
                try:
                    await runtime_pb2_grpc.AgentRuntimeStub(channel).GetExecutionContext(
                        runtime_pb2.GetExecutionContextRequest(), timeout=5)
                except grpc.aio.AioRpcError as exc:
                    return exc.code().name

        code = asyncio.run(call())
        print(json.dumps({"code": code, "task_names": names, "asyncio": ran("asyncio"), "grpc.aio": ran("grpc.aio")}))
    """)
    assert found["code"] == "UNAVAILABLE", found
    assert found["task_names"] == ["Task-1"], found
    assert found["asyncio"] is True and found["grpc.aio"] is True, found


def test_sdk_models_are_built_when_first_used():
    found = on_image_python("""
        from sdk.envelopes import Envelope, LogResponse, SignAndSendRequest
        before = {model.__name__: model.__pydantic_complete__ for model in (Envelope, LogResponse, SignAndSendRequest)}
        request = SignAndSendRequest.model_validate({"network": "ethereum:1", "expiresAt": "soon", "request": {}, "extra": 1})
        print(json.dumps({"before": before, "built": SignAndSendRequest.__pydantic_complete__, "expires_at": request.expires_at}))
    """)
    # Envelope and LogResponse serve every execution's first calls: built before run().
    assert found["before"] == {"Envelope": True, "LogResponse": True, "SignAndSendRequest": False}, found
    assert found["built"] is True and found["expires_at"] == "soon", found


def test_the_entrypoint_turns_the_garbage_collector_back_on_before_any_agent_code():
    """Run as the sandbox runs it (`python3 -m`, here through runpy as the watchdog does): the
    imports go without the cyclic collector, and main() turns it on again, first thing; what the
    imports made is left out of later collections. (No socket here: main() reports a failure.)"""
    found = on_image_python("""
        import gc, runpy
        sys.argv = ["entrypoint", "run"]
        try:
            runpy.run_module("sandbox_runner.inside.entrypoint", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            exit_code = exc.code
        print(json.dumps({"exit_code": exit_code, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
    """)
    assert found["exit_code"] == 1 and found["enabled"] is True and found["frozen"] > 10_000, found


def test_the_egress_forwarder_runs_asyncio_only_once_the_agent_connects():
    """Every EVM execution is offered egress (the platform's chain reads): the forwarder listens
    at once, and its asyncio loop starts with the first connection, which it forwards."""
    found = on_image_python("""
        import os, socket, threading
        from sandbox_runner.inside.egress import open_egress
        os.makedirs("/tmp/sockets")
        proxy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        proxy.bind("/tmp/sockets/egress.sock")
        proxy.listen(1)

        def echo_once():
            connection, _ = proxy.accept()
            connection.sendall(b"proxy saw: " + connection.recv(100))
            connection.close()

        threading.Thread(target=echo_once, daemon=True).start()
        port = open_egress("/tmp/sockets")
        before = ran("asyncio")
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        client.sendall(b"CONNECT")
        answer = client.recv(100).decode()
        print(json.dumps({"proxy_env": os.environ["HTTPS_PROXY"] == f"http://127.0.0.1:{port}", "before": before,
                          "answer": answer, "after": ran("asyncio")}))
    """)
    assert found == {"proxy_env": True, "before": False, "answer": "proxy saw: CONNECT", "after": True}, found
