"""What an agent writes is visible: a failed run's output and full traceback, and a run its
deadline killed says what the agent was doing; through the API and `corral logs`. Both
agents run at once on the shared stack."""

from __future__ import annotations

import re
import subprocess

import pytest

from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import CORRAL_COMMAND
from tests.conftest import AGENTS_DIR, REPO_ROOT
from tests.helpers import finished, log_lines, start_session, wait_for


@pytest.fixture(scope="module")
def runs(stack, agent_image):
    """The talker's and the staller's first finished executions (their sessions stopped)."""
    wallet = stack.create_wallet(31337)
    stack.fund(wallet, 10**17)
    sessions = [start_session(stack, agent_image(AGENTS_DIR / name), wallet)[1] for name in ("talker", "staller")]
    done = []
    for session in sessions:
        done.append(wait_for(lambda s=session: finished(stack, s.id), timeout=90, what=f"session {session.id}'s run")[-1])
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    return done


def output_of(stack, execution_id: int) -> str:
    page = stack.api.GetExecutionLogs(pb.GetExecutionLogsRequest(execution_id=execution_id))
    assert page.next_page_token == ""  # a few lines: one page
    return page.output


def corral_logs(stack, execution_id: int) -> str:
    done = subprocess.run([*CORRAL_COMMAND, "logs", str(execution_id), "--server", stack.api_address],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_failed_run_shows_its_output_and_full_traceback(stack, runs):
    talker = runs[0]
    assert talker.status == pb.EXECUTION_STATUS_FAILED and talker.error == "LookupError: no price for ETH"
    assert log_lines(talker) == ["fetching the price"]
    assert re.search(r'File "/agent/main\.py", line \d+, in run\n(?:.*\n)+?  File "/agent/main\.py", line \d+, in fetch_price\n',
                     talker.traceback), talker.traceback
    assert talker.traceback.endswith("LookupError: no price for ETH\n")
    assert talker.last_sdk_call.sdk_method == "log" and talker.last_sdk_call.method == "AppendLogs"
    output = output_of(stack, talker.id)
    # stdout and stderr are two pipes: each stream's text arrives in order, but not the two
    # streams against each other (print's text and its newline are two writes under -u, and
    # stderr's line can land between them), so each line is looked for without its newline.
    assert "stdout: the price source is down" in output
    assert "stderr: retrying \x1b[31min red\x1b[0m\n" in output  # stored as written
    assert "LookupError: no price for ETH" in output  # stderr carries the traceback too
    shown = corral_logs(stack, talker.id)
    assert f"execution {talker.id} of session {talker.session_id} [failed]" in shown
    assert "error: LookupError: no price for ETH" in shown
    assert "· " in shown and " fetching the price\n" in shown
    assert "== output (stdout and stderr) ==\n" in shown and "stdout: the price source is down" in shown
    assert "stderr: retrying \\x1b[31min red\\x1b[0m" in shown and "\x1b" not in shown  # escaped, not obeyed
    assert shown.split("== traceback ==\n", 1)[1].endswith("LookupError: no price for ETH\n")


def test_a_deadline_kill_says_what_the_agent_was_doing(stack, runs):
    staller = runs[1]
    assert staller.status == pb.EXECUTION_STATUS_FAILED
    assert re.fullmatch(
        r"deadline of 10s exceeded; the sandbox was killed; its last log line was 'waiting for the market to open'; "
        r"its last SDK call was memory\.set \(SetMemory\), \d+\.\ds into the run", staller.error
    ), staller.error
    assert staller.last_sdk_call.sdk_method == "memory.set" and staller.traceback == ""
    called = staller.last_sdk_call.called_at.ToDatetime()
    assert staller.started_at.ToDatetime() <= called <= staller.finished_at.ToDatetime()
    assert "sleeping until the market opens\n" in output_of(stack, staller.id)  # printed before the kill
    shown = corral_logs(stack, staller.id)
    assert "last SDK call: memory.set (SetMemory) at " in shown
    assert "sleeping until the market opens" in shown and "== traceback ==" not in shown
