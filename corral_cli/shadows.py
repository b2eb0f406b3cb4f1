"""`corral shadow set SESSION_ID AGENT_ID` / `off SESSION_ID` / `runs SESSION_ID`: another
version of a session's agent replayed on each of its executions (its actions compared, never
carried out), and where they differed (docs/api.md, "Shadow versions")."""

from __future__ import annotations

from google.protobuf.field_mask_pb2 import FieldMask

from corral.v1 import orchestrator_pb2 as pb
from corral_cli.display import printable
from corral_cli.paging import every

OUTCOMES = {v: k.removeprefix("SHADOW_OUTCOME_").lower() for k, v in pb.ShadowOutcome.items()}


def add_parser(sub, common) -> None:
    shadow = sub.add_parser("shadow", help="replay another version of a session's agent on its executions and show where it differs")
    commands = shadow.add_subparsers(dest="shadow_command", required=True)
    set_ = commands.add_parser("set", parents=[common], help="shadow the session with this registered version of its agent")
    set_.add_argument("session_id", type=int)
    set_.add_argument("agent_id", type=int)
    commands.add_parser("off", parents=[common], help="stop shadowing the session").add_argument("session_id", type=int)
    runs = commands.add_parser("runs", parents=[common], help="the session's shadow runs, newest first")
    runs.add_argument("session_id", type=int)
    runs.add_argument("--limit", type=int, default=20, help="at most this many (default 20; 0: all)")


def run(api, metadata, args) -> int:
    if args.shadow_command in ("set", "off"):
        agent_id = args.agent_id if args.shadow_command == "set" else 0
        session = api.UpdateSession(pb.UpdateSessionRequest(session=pb.Session(id=args.session_id, shadow_agent_id=agent_id),
                                                            update_mask=FieldMask(paths=["shadow_agent_id"])), metadata=metadata).session
        print(f"session {session.id}: shadowed by agent {session.shadow_agent_id}" if session.shadow_agent_id
              else f"session {session.id}: no shadow")
        return 0
    for shadow_run in every(api.ListShadowRuns, pb.ListShadowRunsRequest(session_id=args.session_id), "shadow_runs", metadata, args.limit):
        print(f"execution {shadow_run.execution_id} with agent {shadow_run.agent_id}: {OUTCOMES[shadow_run.outcome]} "
              f"({shadow_run.recorded_actions} action(s) recorded, {shadow_run.replayed_actions} by the shadow)"
              + (f"; {printable(shadow_run.error)}" if shadow_run.error else ""))
        for line in shadow_run.difference:
            print(f"  {printable(line, limit=None)}")
        for method in shadow_run.missing_reads:
            print(f"  {method}: a read the execution had not made; refused to the shadow")
    return 0
