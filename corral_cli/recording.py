"""`corral recording EXECUTION_ID`: what an execution saw through its runtime socket, for a
session that records its executions: one line per SDK call (when, method, outcome, sizes) and
per HTTP request through its egress proxy (when, request, the answer's status line and size), or
with `--out FILE` the whole recording as a binary corral.v1.ExecutionRecording, what a replay
reads."""

from __future__ import annotations

from pathlib import Path

from corral.v1 import orchestrator_pb2 as pb


def add_parser(sub, common) -> None:
    recording = sub.add_parser("recording", parents=[common],
                               help="an execution's recorded SDK calls (sessions started or updated with record_executions)")
    recording.add_argument("execution_id", type=int)
    recording.add_argument("--out", type=Path, help="also write the whole recording (a binary corral.v1.ExecutionRecording) to this file")


def run(api, metadata, args) -> int:
    from corral_cli.client import print_table
    from orchestrator.egress.replayed import shown

    recording = api.GetExecutionRecording(pb.GetExecutionRecordingRequest(execution_id=args.execution_id), metadata=metadata).recording
    rows = [[call.at_ms, call.method, call.code + (" (withheld)" if call.withheld else ""), len(call.request), len(call.response),
             call.details] for call in recording.calls]
    print_table(["ms", "method", "outcome", "request bytes", "answer bytes", "details"], rows)
    if recording.calls_not_recorded:
        print(f"{recording.calls_not_recorded} later call(s) not recorded: the recording reached its size bound")
    if recording.exchanges:
        print()
        print_table(["ms", "HTTP request", "answer", "answer bytes"],
                    [[e.at_ms, shown(e.method, e.scheme, e.host, e.port, e.path), _status_line(e.response), len(e.response)]
                     for e in recording.exchanges])
    if recording.exchanges_not_recorded:
        print(f"{recording.exchanges_not_recorded} HTTP exchange(s) not recorded: past the recording's size bound")
    if args.out is not None:
        args.out.write_bytes(recording.SerializeToString())
        print(f"wrote the recording of execution {recording.execution_id} ({len(recording.calls)} calls) to {args.out}")
    return 0


def _status_line(response: bytes) -> str:
    """The answer's status line, e.g. "HTTP/1.1 200 OK" (what the host said, shown as text)."""
    return response.split(b"\r\n", 1)[0][:80].decode("latin-1")
