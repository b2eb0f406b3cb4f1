"""`corral export SESSION_ID > history.jsonl`: a session's history as JSON lines, written as
ExportSession streams it (chunk by chunk: nothing is held whole in memory)."""

from __future__ import annotations

import sys

from corral.v1 import orchestrator_pb2 as pb


def add_parser(sub, common) -> None:
    export = sub.add_parser("export", parents=[common],
                            help="a session's history (executions, logs, transactions, suggestions, events) as JSON lines on stdout")
    export.add_argument("session_id", type=int)


def run(api, metadata, args) -> int:
    out = sys.stdout.buffer
    for chunk in api.ExportSession(pb.ExportSessionRequest(session_id=args.session_id), metadata=metadata):
        out.write(chunk.data)
    out.flush()
    return 0
