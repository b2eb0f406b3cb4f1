"""Small helpers shared by the tests."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from corral.v1 import orchestrator_pb2 as pb


def wait_for(predicate, timeout: float = 120.0, interval: float = 0.3, what: str = "condition"):
    """Polls until `predicate()` returns something truthy, and returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def executions(stack, session_id: int) -> list:
    """A session's executions, oldest first."""
    response = stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session_id, page_size=500))
    return list(reversed(response.executions))


def finished(stack, session_id: int) -> list:
    return [e for e in executions(stack, session_id) if e.status != pb.EXECUTION_STATUS_RUNNING]


def wait_until_idle(stack, session_id: int) -> None:
    """Until none of the session's executions is still running (e.g. after a pause)."""
    wait_for(lambda: all(e.status != pb.EXECUTION_STATUS_RUNNING for e in executions(stack, session_id)),
             what=f"session {session_id}'s last execution to end")


def agent_from_template(template: Path, folder: Path, **fields) -> Path:
    """An agent directory from `template`, its circuit.toml filled in from
    circuit.toml.template (for values only known at test time, e.g. a token address)."""
    shutil.copytree(template, folder, ignore=shutil.ignore_patterns("*.template"))
    (folder / "circuit.toml").write_text((template / "circuit.toml.template").read_text().format(**fields))
    return folder


def log_lines(execution) -> list[str]:
    return [line.message for line in execution.logs]


def start_session(stack, image: str, wallet: str, settings: dict | None = None, allocation: str | None = None):
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent
    request = pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet, settings=settings or {})
    if allocation is not None:
        request.allocation_amount = allocation
    return agent, stack.api.StartSession(request).session
