"""`corral replay EXECUTION_ID --agent DIR` (or `--session SESSION_ID`): runs another version
of an agent against what recorded executions saw, in a local sandbox with no network (its HTTP
requests answered from the recording), no chain and no signer, and prints where its actions (transactions, messages to sign, swaps,
orders, memory writes) differ from the recorded ones. Recordings come from the API (sessions
that record their executions) or, with --recording, from files `corral recording --out`
wrote.

Exit status, as diff(1): 0 when every replay's actions were the recorded ones, 1 when one
differed or the replayed agent did not complete (its sandbox did not start, or it never
reported an outcome), 2 for a mistake in the command, the agent directory or a recording, 3
when no difference was found but the comparison was partial (a recording that reached its size
bound or left HTTP exchanges out, or calls or exchanges withheld from the caller)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import grpc
from google.protobuf.message import DecodeError

from corral.v1 import orchestrator_pb2 as pb
from corral_cli.display import printable, safe_text
from corral_cli.paging import every

SAME, DIFFERENT, MISTAKE, PARTIAL = 0, 1, 2, 3


def add_parser(sub, common) -> None:
    replay = sub.add_parser("replay", parents=[common],
                            help="run another version of an agent on recorded executions' inputs and show how its actions differ")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("execution_id", type=int, nargs="?", help="a recorded execution (its session records its executions)")
    which.add_argument("--session", type=int, metavar="SESSION_ID", help="every recorded execution of this session, oldest first")
    which.add_argument("--recording", type=Path, action="append", metavar="FILE",
                       help="a recording `corral recording --out` saved (repeatable; no API call)")
    replay.add_argument("--agent", type=Path, required=True, metavar="DIR", help="the agent directory to replay (built as `corral build`)")
    replay.add_argument("--runtime", choices=["runc", "runsc"], default=None, help="the Docker runtime (default: the engine's, runc)")
    replay.add_argument("--logs", action="store_true", help="also print the replayed agent's log lines")


def run(api, metadata, args) -> int:
    from orchestrator.agents.images import build_agent_image
    from orchestrator.agents.manifest import ManifestError, load_manifest_dir
    from orchestrator.config import SandboxConfig
    from orchestrator.executions.runner import sandbox_limits
    from sandbox_runner.host.docker_backend import DockerBackend

    try:
        recordings = _recordings(api, metadata, args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return MISTAKE
    if not recordings:
        print(f"error: session {args.session} has no recorded execution (start or update it with record_executions)", file=sys.stderr)
        return MISTAKE
    try:
        image = build_agent_image(args.agent)
        manifest = load_manifest_dir(args.agent)[0]
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return MISTAKE
    backend = DockerBackend(runtime=args.runtime)
    limits = sandbox_limits(SandboxConfig(), manifest)
    outcomes = [_replay_one(recording, image, backend, limits, args.logs) for recording in recordings]
    status = DIFFERENT if DIFFERENT in outcomes else PARTIAL if PARTIAL in outcomes else SAME
    if len(recordings) > 1:
        said = {SAME: "no difference", PARTIAL: "no difference in what could be compared", DIFFERENT: "differences above"}
        print(f"\n{len(recordings)} executions replayed: {said[status]}")
    return status


def _recordings(api, metadata, args) -> list[pb.ExecutionRecording]:
    if args.recording:
        return [_read(path) for path in args.recording]
    if args.execution_id is not None:
        return [api.GetExecutionRecording(pb.GetExecutionRecordingRequest(execution_id=args.execution_id), metadata=metadata).recording]
    executions = every(api.ListExecutions, pb.ListExecutionsRequest(session_id=args.session), "executions", metadata)
    recordings = []
    for execution in sorted(executions, key=lambda e: e.id):
        if execution.status == pb.EXECUTION_STATUS_RUNNING:
            continue  # recorded once it ends
        try:
            recordings.append(api.GetExecutionRecording(pb.GetExecutionRecordingRequest(execution_id=execution.id), metadata=metadata).recording)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                raise
            print(f"execution {execution.id}: skipped ({printable(exc.details())})")  # type: ignore[attr-defined]
    return recordings


def _read(path: Path) -> pb.ExecutionRecording:
    try:
        return pb.ExecutionRecording.FromString(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"--recording {path}: {exc.strerror}") from None
    except DecodeError:
        raise ValueError(f"--recording {path} is not a recording; save one with `corral recording EXECUTION_ID --out FILE`") from None


def _replay_one(recording: pb.ExecutionRecording, image: str, backend, limits, show_logs: bool) -> int:
    from orchestrator.executions.replay_sandbox import replay

    outcome = asyncio.run(replay(recording, image, backend, limits))
    print(f"execution {outcome.execution_id}: {_ending(outcome)}; {outcome.recorded_actions} action(s) recorded, "
          f"{outcome.replayed_actions} replayed")
    if show_logs:
        for line in outcome.logs:
            print(f"  log: {printable(line)}")
    if outcome.calls_not_recorded:
        print(f"  the recording ends early ({outcome.calls_not_recorded} later call(s) past its size bound): "
              "compared up to where it ends")
    for method in sorted(set(outcome.missing_reads)):
        print(f"  {printable(method, limit=300)}: a read the recorded execution did not make; the replay refused it")
    if outcome.withheld:
        print(f"  {outcome.withheld} call(s) withheld from you (the agent's shared memory): not compared")
    for line in network_lines(recording, outcome.egress_answered, outcome.egress_by_path):
        print(f"  {line}")
    if outcome.traceback:
        print(safe_text(outcome.traceback))
    if outcome.reported is None:
        print("  the replayed agent did not complete: it is a difference (see above)")
        return DIFFERENT
    if not outcome.difference:
        partial = outcome.calls_not_recorded or outcome.withheld or recording.exchanges_not_recorded or any(
            e.withheld for e in recording.exchanges)
        print("  no difference in actions" + (" compared" if partial else ""))
        return PARTIAL if partial else SAME
    print("  difference in actions (- recorded, + replayed):")
    for line in outcome.difference:
        print(f"  {printable(line, limit=None)}")
    return DIFFERENT


def network_lines(recording: pb.ExecutionRecording, answered: int, by_path: list[str]) -> list[str]:
    """How the replayed agent's HTTP requests were met (those the recording did not hold are
    among the missing reads), and what the recorded run fetched that the recording lacks."""
    lines = [f"{answered} HTTP request(s) answered from the recording"] if answered else []
    lines += [f"{printable(request, limit=300)}: answered by its path (its query or body differed from the recorded request's)"
              for request in sorted(set(by_path))]
    if recording.exchanges_not_recorded:
        lines.append(f"{recording.exchanges_not_recorded} HTTP exchange(s) of the recorded run were not recorded (past its size "
                     "bound, cut short, or carrying a session secret): a replayed request for one is refused")
    if withheld := sum(1 for e in recording.exchanges if e.withheld):
        lines.append(f"{withheld} HTTP exchange(s) withheld from you (you do not own every session of the agent): not replayed")
    recorded = {(e.host, e.port) for e in recording.exchanges}
    unrecorded = [c for c in recording.egress_connections
                  if c.outcome == pb.EGRESS_OUTCOME_ALLOWED and (c.host, c.port) not in recorded]
    if unrecorded:
        hosts = ", ".join(sorted({f"{printable(c.host, limit=100)}:{c.port}" for c in unrecorded}))
        received = sum(c.bytes_in for c in unrecorded)
        lines.append(f"the recorded run reached {hosts} ({len(unrecorded)} connection(s), {received} bytes in) without its "
                     "answers being recorded: not replayed")
    return lines


def _ending(outcome) -> str:
    if outcome.reported is not None:
        success, error = outcome.reported
        return "the agent succeeded" if success else f"the agent failed: {printable(error)}"
    result = outcome.sandbox
    if result.start_error:
        return f"the sandbox did not start: {printable(result.start_error)}"
    return "the sandbox ended without the agent reporting (" + ("deadline" if result.timed_out else f"exit {result.exit_code}") + ")"
