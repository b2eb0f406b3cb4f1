"""The in-container entrypoint: `python3 -m sandbox_runner.inside.entrypoint run|unwind`.

Runs inside the sandbox, as the image's ENTRYPOINT. It learns what to do from the
execution's context (handed over with the doorbell's ring to a pre-started sandbox, asked of
the execution's socket otherwise), imports the agent's `main.py` from /agent, calls `run(agent)` or
`unwind(agent, positions)`, catches every exception, and reports the outcome. The
exit code says the same (0 succeeded, 1 failed) for when the report cannot be sent.
"""

from __future__ import annotations

import gc

# Run as the sandbox's entrypoint (not imported by a test): the imports below, most of a cold
# start's CPU, run with the cyclic garbage collector off. They make no garbage worth collecting,
# and its passes over the growing heap cost about 4% of that CPU. main() turns it back on.
if __name__ == "__main__":
    gc.disable()

import importlib
import inspect
import os
import re
import sys
import traceback

from google.protobuf.json_format import MessageToDict

from corral.limits import TRACEBACK_MAX_CHARS, tail_shortened
from corral.v1 import common_pb2, runtime_pb2
from sandbox_runner.inside.clock import real_time, shift_clock
from sandbox_runner.inside.contract import WAIT_FOR_SOCKET_ENV
from sandbox_runner.inside.doorbell import BadRing, wait_for_doorbell
from sandbox_runner.inside.egress import open_egress
from sdk.context import AgentContext, position_from_proto
from sdk.portfolio import portfolio_from_positions
from sdk.transport import DEFAULT_SOCKET, RuntimeTransport, Transport

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


def agent_context(ctx: runtime_pb2.GetExecutionContextResponse, transport: Transport) -> AgentContext:
    """What `run(agent)` receives, from the execution's context however it came (the doorbell's
    ring or GetExecutionContext)."""
    return AgentContext(
        sessionId=ctx.session_id,
        sessionWalletAddress=ctx.session_wallet_address,
        executionMode="manual" if ctx.execution_mode == common_pb2.EXECUTION_MODE_MANUAL else "auto",
        settings=MessageToDict(ctx.settings),
        currentPositions=[position_from_proto(p) for p in ctx.current_positions],
        transport=transport,
    )


def main(argv: list[str]) -> int:
    if not gc.isenabled():  # off for the imports above, run as the entrypoint
        # What they made lives as long as the process: later collections, now on for the SDK's
        # work and the agent's code, need not go over it again (nor over it all at once, first).
        gc.freeze()
        gc.enable()
    socket_path = os.environ.get("CORRAL_SOCKET", DEFAULT_SOCKET)
    # No channel yet (see RuntimeTransport): gRPC's threads would wake for nothing while a
    # pre-started sandbox waits, and a warm start needs none before run().
    transport = RuntimeTransport(socket_path)
    handed: runtime_pb2.GetExecutionContextResponse | None = None
    if idle := os.environ.get(WAIT_FOR_SOCKET_ENV):
        # The SDK's Circuit names, which agents import and `load_agent_functions` reads: the
        # platform's code, so imported while waiting (under gVisor about 1 ms after the ring).
        import agent_sdk  # noqa: F401
        # The agent's main.py is imported only after the ring, never while waiting: its
        # module-level code may fetch data or read the clock, and run minutes early it would
        # see something other than what its run() is due to see.
        try:
            rung = wait_for_doorbell(os.path.dirname(socket_path), float(idle))
        except BadRing as exc:
            print(f"{exc}; the agent did not run", file=sys.stderr)
            return report_outcome(transport, False, f"{exc}; the agent did not run", None)
        if rung is None:
            return 0  # never used: nothing to report
        handed = rung.context
    success, error, trace, entered_at = True, None, None, None
    try:
        ctx = handed if handed is not None else transport.call("GetExecutionContext", runtime_pb2.GetExecutionContextRequest())
        # The context, not argv, says what to do: a pooled sandbox is started before it is known.
        command = "unwind" if ctx.command == common_pb2.EXECUTION_COMMAND_UNWIND else "run"
        agent = agent_context(ctx, transport)
        # Before the agent's code is imported: clients read the proxy variables when made.
        os.environ.update(ctx.environment)  # the session's plain settings (the platform's own names are refused)
        if ctx.HasField("agent_clock"):  # a backtest's block time, a replay's recorded time
            shift_clock(ctx.agent_clock.ToNanoseconds() / 1e9)
        if socket_path := getattr(transport, "socket_path", None):  # a test's in-process transport has none
            open_egress(os.path.dirname(socket_path))
        run, unwind = load_agent_functions()
        entered_at = real_time()  # the host's clock: the platform measures start latency with it
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
    return report_outcome(transport, success, error, trace, entered_at)


def report_outcome(transport: Transport, success: bool, error: str | None, trace: str | None, entered_at: float | None = None) -> int:
    """Tells the runtime socket how the execution ended (and when the agent's function was
    called); returns the exit code that says the same (0 succeeded, 1 failed) for when the
    report cannot be sent."""
    report = runtime_pb2.CompleteExecutionRequest(success=success)
    if entered_at is not None:
        report.agent_entered_at = entered_at
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
