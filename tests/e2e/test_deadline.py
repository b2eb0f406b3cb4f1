"""A run past its deadline is killed and marked failed; its container is gone."""

from __future__ import annotations

import pytest

from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from tests.conftest import AGENTS_DIR
from tests.helpers import finished, log_lines, start_session, wait_for


@pytest.fixture(scope="module")
def short_deadline_stack(tmp_path_factory, base_image):
    with DevStack(tmp_path_factory.mktemp("deadline"), minute_seconds=1.0, deadline_seconds=3.0) as running:
        yield running


def test_overrunning_agent_is_killed_and_failed(short_deadline_stack, agent_image, docker_client):
    stack = short_deadline_stack
    wallet = stack.create_wallet(31337)
    stack.fund(wallet, 10**17)
    _, session = start_session(stack, agent_image(AGENTS_DIR / "sleeper"), wallet)
    run = wait_for(lambda: finished(stack, session.id), timeout=60, what="the sleeper's execution")[0]
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    assert run.status == pb.EXECUTION_STATUS_FAILED
    assert run.error.startswith("deadline of 3s exceeded; the sandbox was killed; its last log line was 'going to sleep'; "
                                "its last SDK call was log (AppendLogs), "), run.error
    assert log_lines(run) == ["going to sleep"]
    left = docker_client.containers.list(all=True, filters={"label": f"org.corral.execution-id={run.id}"})
    assert left == []
