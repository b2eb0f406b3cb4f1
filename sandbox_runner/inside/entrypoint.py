"""The in-container entrypoint: `python3 -m sandbox_runner.inside.entrypoint run|unwind`.

Runs inside the sandbox, as the image's ENTRYPOINT. It asks the execution's socket
what to do, imports the agent's `main.py` from /agent, calls `run(agent)` or
`unwind(agent, positions)`, catches every exception, and reports the outcome. The
exit code says the same (0 succeeded, 1 failed) for when the report cannot be sent.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import socket
import sys
import traceback

from google.protobuf.json_format import MessageToDict

from corral.limits import TRACEBACK_MAX_CHARS, tail_shortened
from corral.v1 import common_pb2, runtime_pb2
from sandbox_runner.inside.contract import DOORBELL_NAME, DOORBELL_RING, WAIT_FOR_SOCKET_ENV
from sandbox_runner.inside.egress import open_egress
from sdk.context import AgentContext, position_from_proto
from sdk.portfolio import portfolio_from_positions
from sdk.transport import DEFAULT_SOCKET, RuntimeTransport

AGENT_DIR = os.environ.get("CORRAL_AGENT_DIR", "/agent")
ERROR_MAX_CHARS = 1000


def sanitize_error(exc: BaseException) -> str:
    """`<ExcType>: <msg>`, non-printables stripped, at most 1000 chars (as Circuit)."""
    text = f"{type(exc).__name__}: {exc}"
    text = re.sub(r"[^\x20-\x7e]", " ", text)
    return text[:ERROR_MAX_CHARS]


def load_agent_functions():
    """Returns (run, unwind) from /agent/main.py: module-level functions (v2.10) or
    an `agent_sdk.Agent` instance (v1.x–2.8)."""
    sys.path.insert(0, AGENT_DIR)
    module = importlib.import_module("main")
    run = getattr(module, "run", None)
    unwind = getattr(module, "unwind", None)
    import agent_sdk

    registered = agent_sdk.registered_agent
    if registered is not None:
        run, unwind = registered.run_function, registered.unwind_function
    if not callable(run):
        raise RuntimeError("main.py defines no run(agent) function and no agent_sdk.Agent")
    return run, unwind


def call_unwind(unwind, agent: AgentContext, positions) -> None:
    """Circuit accepted (agent, positions), (agent) and (positions) signatures; v2.10's
    is (agent, portfolio), told apart by the parameter's name or annotation."""
    signature = inspect.signature(unwind)
    params = list(signature.parameters)
    if len(params) >= 2:
        second = signature.parameters[params[1]]
        wants_portfolio = "portfolio" in params[1] or "Portfolio" in str(second.annotation)
        unwind(agent, portfolio_from_positions(positions) if wants_portfolio else positions)
    elif len(params) == 1 and "position" in params[0]:
        unwind(positions)
    elif len(params) == 1:
        unwind(agent)
    else:
        unwind()


def wait_for_doorbell(socket_dir: str, seconds: float) -> bool:
    """A pre-started (warm pool) sandbox: everything is imported; block on the doorbell the
    host made in the socket directory until it rings (an execution is assigned and its
    socket is in place: True) or the host hangs up, the doorbell is missing, or `seconds`
    pass (False: end unused). One blocking read, no polling."""
    bell = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bell.settimeout(seconds)
    try:
        bell.connect(os.path.join(socket_dir, DOORBELL_NAME))
        return bell.recv(1) == DOORBELL_RING
    except OSError:  # refused, missing, or timed out
        return False
    finally:
        bell.close()


def main(argv: list[str]) -> int:
    socket_path = os.environ.get("CORRAL_SOCKET", DEFAULT_SOCKET)
    idle = os.environ.get(WAIT_FOR_SOCKET_ENV)
    if idle and not wait_for_doorbell(os.path.dirname(socket_path), float(idle)):
        return 0  # never used: nothing to report
    # Only now: a gRPC channel made while waiting would keep gRPC's threads waking for nothing.
    transport = RuntimeTransport(socket_path)
    success, error, trace = True, None, None
    try:
        ctx = transport.call("GetExecutionContext", runtime_pb2.GetExecutionContextRequest())
        # The context, not argv, says what to do: a pooled sandbox is started before it is known.
        command = "unwind" if ctx.command == common_pb2.EXECUTION_COMMAND_UNWIND else "run"
        agent = AgentContext(
            sessionId=ctx.session_id,
            sessionWalletAddress=ctx.session_wallet_address,
            executionMode="manual" if ctx.execution_mode == common_pb2.EXECUTION_MODE_MANUAL else "auto",
            settings=MessageToDict(ctx.settings),
            currentPositions=[position_from_proto(p) for p in ctx.current_positions],
            transport=transport,
        )
        # Before the agent's code is imported: clients read the proxy variables when made.
        os.environ.update(ctx.environment)  # the session's plain settings (the platform's own names are refused)
        if socket_path := getattr(transport, "socket_path", None):  # a test's in-process transport has none
            open_egress(os.path.dirname(socket_path))
        run, unwind = load_agent_functions()
        if command == "unwind":
            positions = [position_from_proto(p) for p in ctx.unwind_positions] or agent.currentPositions
            if unwind is None:
                agent.log(f"Unwind requested for session {agent.sessionId} but no unwind function provided")
            else:
                call_unwind(unwind, agent, positions)
        else:
            run(agent)
    except BaseException as exc:  # noqa: BLE001 — every failure of agent code is an outcome
        success, error = False, sanitize_error(exc)
        trace = traceback.format_exc()
        print(trace, end="", file=sys.stderr)
    report = runtime_pb2.CompleteExecutionRequest(success=success)
    if error is not None:
        report.error = error
    if trace is not None:
        # Lone surrogates (from the agent's own text) cannot go over the wire.
        report.traceback = tail_shortened(trace, TRACEBACK_MAX_CHARS).encode("utf-8", "replace").decode("utf-8")
    try:
        transport.call("CompleteExecution", report)
    except Exception as exc:  # the exit code still tells the orchestrator
        print(f"could not report the outcome: {exc}", file=sys.stderr)
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
