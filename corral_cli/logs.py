"""`corral logs EXECUTION_ID`: all an execution's agent wrote (its log lines, its stdout and
stderr, its traceback) and what was dropped past the limits, read page by page through
GetExecutionLogs. Every piece of it is agent-made text: printed through `safe_text`."""

from __future__ import annotations

from corral.v1 import orchestrator_pb2 as pb
from corral_cli.display import safe_text

STATUS_NAMES = {v: k.removeprefix("EXECUTION_STATUS_").lower() for k, v in pb.ExecutionStatus.items()}


def add_parser(sub, common) -> None:
    logs = sub.add_parser("logs", parents=[common], help="an execution's log lines, output (stdout/stderr) and traceback")
    logs.add_argument("execution_id", type=int)


def fetch(api, metadata, execution_id: int) -> tuple[pb.Execution, list[pb.ExecutionLog], str]:
    """The execution, all its log lines and all its output, following the pages."""
    request = pb.GetExecutionLogsRequest(execution_id=execution_id, page_size=1000)
    lines: list[pb.ExecutionLog] = []
    parts: list[str] = []
    while True:
        page = api.GetExecutionLogs(request, metadata=metadata)
        lines.extend(page.logs)
        parts.append(page.output)
        if not page.next_page_token:
            return page.execution, lines, "".join(parts)
        request.page_token = page.next_page_token


def run(api, metadata, args) -> int:
    execution, lines, output = fetch(api, metadata, args.execution_id)
    print(render(execution, lines, output), end="")
    return 0


def render(execution: pb.Execution, lines: list[pb.ExecutionLog], output: str) -> str:
    """What `corral logs` prints: a header, then each section that has something."""
    out: list[str] = []
    finished = f", finished {execution.finished_at.ToDatetime():%H:%M:%S}" if execution.HasField("finished_at") else ""
    out.append(f"execution {execution.id} of session {execution.session_id} [{STATUS_NAMES[execution.status]}] "
               f"started {execution.started_at.ToDatetime():%Y-%m-%d %H:%M:%S}{finished} (UTC)")
    if execution.error:
        out.append(f"error: {safe_text(execution.error)}")
    if execution.HasField("last_sdk_call"):
        call = execution.last_sdk_call
        name = f"{call.sdk_method} ({call.method})" if call.sdk_method else call.method
        at = call.called_at.ToDatetime()
        out.append(f"last SDK call: {safe_text(name)} at {at:%H:%M:%S}.{at.microsecond // 1000:03d}")
    out.append("")
    out.append(f"== log lines ({len(lines)}) ==")
    out.extend(f"{'!' if line.level == 'error' else '·'} {line.logged_at.ToDatetime():%H:%M:%S} {safe_text(line.message)}" for line in lines)
    if execution.log_lines_dropped:
        out.append(f"[{execution.log_lines_dropped} more log lines dropped: past the execution's limit of stored lines]")
    out.append("== output (stdout and stderr) ==")
    if output:
        out.append(safe_text(output.rstrip("\n")))
    if execution.output_dropped_bytes:
        out.append(f"[{execution.output_dropped_bytes} more bytes of output dropped: past the execution's output limit]")
    if execution.traceback:
        out.append("== traceback ==")
        out.append(safe_text(execution.traceback.rstrip("\n")))
    return "\n".join(out) + "\n"
