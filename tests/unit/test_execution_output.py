"""What an execution's agent wrote, bounded and shown: the traceback's cut, the deadline
report, GetExecutionLogs' page tokens, and `corral logs`' rendering of untrusted text."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from corral.limits import TRACEBACK_MAX_CHARS, tail_shortened
from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import runtime_pb2
from corral_cli.display import safe_text
from corral_cli.logs import render
from orchestrator.api import execution_logs
from orchestrator.errors import Refused
from orchestrator.executions.progress import SDK_METHODS, AgentProgress

START = datetime(2026, 11, 30, 6, 0, 0)


def test_a_long_traceback_keeps_its_end_and_says_what_was_cut():
    frames = "".join(f'  File "main.py", line {n}, in f{n}\n' for n in range(2000))
    trace = "Traceback (most recent call last):\n" + frames + "ValueError: the innermost failure\n"
    kept = tail_shortened(trace, TRACEBACK_MAX_CHARS)
    assert len(kept) <= TRACEBACK_MAX_CHARS
    assert kept.endswith('in f1999\nValueError: the innermost failure\n')
    cut = len(trace) - len(kept.split("\n", 1)[1])
    assert kept.startswith(f"[... {cut} characters cut ...]\n")
    assert tail_shortened("short\n", TRACEBACK_MAX_CHARS) == "short\n"


def test_the_deadline_report_names_the_last_log_line_and_sdk_call():
    progress = AgentProgress()
    assert progress.report(START) == "it logged nothing; it made no SDK call"
    progress.called("/corral.v1.AgentRuntime/GetExecutionContext", START)  # the entrypoint's, not the agent's
    assert progress.last_call == ""
    progress.called("/corral.v1.AgentRuntime/AppendLogs", START + timedelta(seconds=0.2))
    progress.logged("fetching prices\x1b[2J")
    progress.called("/corral.v1.AgentRuntime/SetMemory", START + timedelta(seconds=0.5))
    progress.called("/corral.v1.AgentRuntime/CompleteExecution", START + timedelta(seconds=9))
    # The sandbox names the method it calls: what is not the SDK's is not noted (nor its text kept).
    progress.called("/corral.v1.AgentRuntime/" + "x" * 10_000, START + timedelta(seconds=9))
    progress.called("/evil.Service/SignAndSend", START + timedelta(seconds=9))
    assert progress.report(START) == (
        "its last log line was 'fetching prices [2J'; its last SDK call was memory.set (SetMemory), 0.5s into the run"
    )


def test_page_tokens_resume_where_the_last_page_ended_and_only_for_their_execution():
    cursor = execution_logs.Cursor(execution_id=7, after_log_id=42, output_offset=65536)
    assert execution_logs.parse_token(cursor.token(), 7) == cursor
    assert execution_logs.parse_token("", 7) == execution_logs.Cursor(7)
    negative = execution_logs.Cursor(7, -1, 0).token()
    for bad in (cursor.token() + "x", "garbage!", "A" * 101, execution_logs.Cursor(8).token(), negative):
        with pytest.raises(Refused, match="page_token is not one this API gave for this execution"):
            execution_logs.parse_token(bad, 7)
    assert execution_logs.page_size(0) == execution_logs.LOG_PAGE_DEFAULT
    assert execution_logs.page_size(10**6) == execution_logs.LOG_PAGE_MAX
    with pytest.raises(Refused, match="page_size must be 0"):
        execution_logs.page_size(-1)


def test_terminal_control_sequences_are_shown_escaped_not_obeyed():
    hostile = "ok\x1b]0;owned\x07 \x1b[2Jcleared\rover\u202eevil\tkept\nnext"
    assert safe_text(hostile) == "ok\\x1b]0;owned\\x07 \\x1b[2Jcleared\\rover\\u202eevil\tkept\nnext"


def test_corral_logs_shows_every_section_and_what_was_dropped():
    execution = pb.Execution(
        id=5, session_id=2, status=pb.EXECUTION_STATUS_FAILED, error="ValueError: no price",
        traceback="Traceback (most recent call last):\n  ...\nValueError: no price\x1b[31m\n", log_lines_dropped=3,
        output_dropped_bytes=4096,
        last_sdk_call=pb.SdkCall(method="SetMemory", sdk_method="memory.set"),
    )
    execution.started_at.FromDatetime(START)
    execution.last_sdk_call.called_at.FromDatetime(START + timedelta(seconds=1.25))
    line = pb.ExecutionLog(level="error", message="bad\x1b[2J")
    line.logged_at.FromDatetime(START)
    text = render(execution, [line], "printed\x1b]0;t\x07\n")
    assert text.splitlines() == [
        "execution 5 of session 2 [failed] started 2026-11-30 06:00:00 (UTC)",
        "error: ValueError: no price",
        "last SDK call: memory.set (SetMemory) at 06:00:01.250",
        "",
        "== log lines (1) ==",
        "! 06:00:00 bad\\x1b[2J",
        "[3 more log lines dropped: past the execution's limit of stored lines]",
        "== output (stdout and stderr) ==",
        "printed\\x1b]0;t\\x07",
        "[4096 more bytes of output dropped: past the execution's output limit]",
        "== traceback ==",
        "Traceback (most recent call last):",
        "  ...",
        "ValueError: no price\\x1b[31m",
    ]


def test_every_runtime_method_an_agent_calls_has_its_sdk_name():
    service = runtime_pb2.DESCRIPTOR.services_by_name["AgentRuntime"]
    assert set(SDK_METHODS) == {method.name for method in service.methods} - {"GetExecutionContext", "CompleteExecution"}
