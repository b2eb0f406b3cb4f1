"""`corral` commands that drive a running orchestrator through its gRPC API, as a
frontend would."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import grpc
from google.protobuf.json_format import MessageToDict

from corral.v1 import common_pb2, orchestrator_pb2, orchestrator_pb2_grpc
from corral.v1 import orchestrator_pb2 as pb
from corral_cli import export as export_cli
from corral_cli import logs as logs_cli
from corral_cli import market_data as market_data_cli
from corral_cli import recording as recording_cli
from corral_cli import replay as replay_cli
from corral_cli import secrets as secrets_cli
from corral_cli import shadows as shadows_cli
from corral_cli.approval import approve_and_wait
from corral_cli.display import printable, safe_text
from corral_cli.paging import every

STATUS_NAMES = {
    **{v: k.removeprefix("EXECUTION_STATUS_").lower() for k, v in orchestrator_pb2.ExecutionStatus.items()},
}
SESSION_NAMES = {v: k.removeprefix("SESSION_STATUS_").lower() for k, v in orchestrator_pb2.SessionStatus.items()}
SUGGESTION_NAMES = {v: k.removeprefix("SUGGESTION_STATUS_").lower() for k, v in orchestrator_pb2.SuggestionStatus.items()}
TX_NAMES = {v: k.removeprefix("TRANSACTION_STATUS_").lower() for k, v in orchestrator_pb2.TransactionStatus.items()}


def add_parsers(sub) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", default=os.environ.get("CORRAL_SERVER", "127.0.0.1:50051"), help="orchestrator address")
    common.add_argument("--token-file", type=Path, default=os.environ.get("CORRAL_TOKEN_FILE"),
                        help="file holding your API key (`corral user add`) or the API token")
    common.add_argument("--tls-ca", type=Path, default=os.environ.get("CORRAL_TLS_CA"),
                        help="PEM certificate(s) to trust: use TLS to reach an orchestrator serving it")

    register = sub.add_parser("register", parents=[common], help="register an agent image (its manifest is read from the image)")
    register.add_argument("image")
    sub.add_parser("agents", parents=[common], help="list registered agents")
    sub.add_parser("wallets", parents=[common], help="list the signer's wallets and balances")

    session = sub.add_parser("session", help="start, pause, resume, unwind, stop and list sessions").add_subparsers(
        dest="session_command", required=True
    )
    start = session.add_parser("start", parents=[common])
    start.add_argument("agent_id", type=int)
    start.add_argument("wallet")
    start.add_argument("--mode", choices=["auto", "manual"])
    start.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE")
    start.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                       help="an environment variable for the agent's process (not for secrets: see `corral secret`)")
    start.add_argument("--allocation", help="amount of the starting asset, smallest unit")
    start.add_argument("--paper", action="store_true",
                       help="run on a fork of the chain with a throwaway wallet under a copy of WALLET's policy: nothing reaches the real chain")
    backtest = start.add_argument_group("a backtest by time of a hypercore:* agent, over the market data the platform recorded "
                                        "(`corral market-data`; an EVM agent's backtest: `corral backtest`)")
    backtest.add_argument("--backtest-from", type=_utc_time, metavar="TIME", help="the first run's time, e.g. 2026-11-30T12:00:00Z")
    backtest.add_argument("--backtest-to", type=_utc_time, metavar="TIME", help="the last run's time at the latest")
    backtest.add_argument("--backtest-every", type=int, metavar="SECONDS", help="seconds between runs")
    promote = session.add_parser("promote", parents=[common], help="start a real session from a paper one, with its agent and settings")
    promote.add_argument("session_id", type=int)
    promote.add_argument("--allocation", help="amount of the starting asset, smallest unit (default: the paper session's)")
    for name, what in (("stop", "end the session and clear its memory (a paper session's fork ends too)"), ("pause", "keep memory and allocation, run nothing"),
                       ("resume", "run again from the next scheduled slot")):
        session.add_parser(name, parents=[common], help=what).add_argument("session_id", type=int)
    unwind = session.add_parser("unwind", parents=[common], help="run the agent's unwind once, then stop")
    unwind.add_argument("session_id", type=int)
    unwind.add_argument("--position", action="append", default=[], metavar="NETWORK:ASSET",
                        help="a position to unwind, e.g. ethereum:1:0xeeee…eeee (repeatable; default: all)")
    session.add_parser("list", parents=[common]).add_argument("--all", action="store_true", help="also stopped sessions")

    suggestions = sub.add_parser("suggestions", parents=[common], help="a manual-mode session's suggestions")
    suggestions.add_argument("session_id", type=int)
    suggestions.add_argument("--all", action="store_true", help="also rejected, expired and cleared ones")
    suggestion = sub.add_parser("suggestion", help="approve or reject a suggestion").add_subparsers(dest="suggestion_command", required=True)
    for name, what in (("approve", "execute it through the auto path (exactly once)"), ("reject", "discard it")):
        suggestion.add_parser(name, parents=[common], help=what).add_argument("suggestion_id", type=int)
    memory = sub.add_parser("memory", parents=[common], help="a session's memory (or its agent's shared memory)")
    memory.add_argument("session_id", type=int)
    memory.add_argument("--shared", action="store_true")
    watch = sub.add_parser("watch", parents=[common], help="stream events as they happen (Ctrl-C to stop)")
    watch.add_argument("session_id", type=int, nargs="?", help="only this session's events")
    watch.add_argument("--after", type=int, help="replay events after this id first")

    executions = sub.add_parser("executions", parents=[common], help="a session's executions with their last log lines, newest first")
    executions.add_argument("session_id", type=int)
    executions.add_argument("--limit", type=int, default=50, help="at most this many (default 50; 0: all)")
    transactions = sub.add_parser("transactions", parents=[common], help="a session's transactions")
    transactions.add_argument("session_id", type=int)
    logs_cli.add_parser(sub, common)
    export_cli.add_parser(sub, common)
    recording_cli.add_parser(sub, common)
    market_data_cli.add_parser(sub, common)
    replay_cli.add_parser(sub, common)
    shadows_cli.add_parser(sub, common)
    secrets_cli.add_parser(sub, common)

    halt = sub.add_parser("halt", parents=[common], help="kill switch: stop all agents and all signing until `corral resume`")
    halt.add_argument("--reason", default="", help="shown with every refusal while halted, and in the signer's audit log")
    resume = sub.add_parser("resume", parents=[common], help="lift the kill switch (needs the resume credential, not the API token)")
    resume.add_argument("--resume-token-file", type=Path, default=os.environ.get("CORRAL_RESUME_TOKEN_FILE"),
                        help="file holding the resume token (the orchestrator's resume_token_file)")
    sub.add_parser("status", parents=[common], help="is the platform halted?")


def _stub(args) -> tuple[orchestrator_pb2_grpc.OrchestratorServiceStub, tuple]:
    metadata: tuple = ()
    # Lifting a halt takes its own credential; every other call the API token.
    token_file = getattr(args, "resume_token_file", None) or args.token_file
    if token_file:
        metadata = (("authorization", f"Bearer {Path(token_file).read_text().strip()}"),)
    if args.tls_ca:
        channel = grpc.secure_channel(args.server, grpc.ssl_channel_credentials(root_certificates=Path(args.tls_ca).read_bytes()))
    else:
        channel = grpc.insecure_channel(args.server)
    return orchestrator_pb2_grpc.OrchestratorServiceStub(channel), metadata


def run(args) -> int:
    api, md = _stub(args)
    # Commands with a function of their own.
    commands = {"session": _session, "watch": _watch, "logs": logs_cli.run, "export": export_cli.run, "recording": recording_cli.run, "market-data": market_data_cli.run, "replay": replay_cli.run, "shadow": shadows_cli.run, "secret": secrets_cli.run, "halt": _kill_switch, "resume": _kill_switch, "status": _kill_switch}
    try:
        if args.command in commands:
            return commands[args.command](api, md, args)
        elif args.command == "register":
            agent = api.RegisterAgent(orchestrator_pb2.RegisterAgentRequest(image=args.image), metadata=md).agent
            print(f"agent {agent.id}: {agent.name} {agent.version} ({agent.wallet_type}) image {agent.image}")
        elif args.command == "agents":
            agents = every(api.ListAgents, orchestrator_pb2.ListAgentsRequest(), "agents", md)
            print_table(["id", "name", "version", "wallet", "image"], [[a.id, a.name, a.version, a.wallet_type, a.image] for a in agents])
        elif args.command == "wallets":
            for w in api.ListWallets(orchestrator_pb2.ListWalletsRequest(), metadata=md).wallets:
                balances = ", ".join(f"{b.network} {b.amount}" for b in w.balances)
                print(f"{w.address}  {w.wallet_type}  {balances}")
        elif args.command == "suggestions":
            request = pb.ListSuggestionsRequest(session_id=args.session_id, include_discarded=args.all)
            print_suggestions(every(api.ListSuggestions, request, "suggestions", md))
        elif args.command == "suggestion":
            if args.suggestion_command == "approve":
                done = approve_and_wait(api, args.suggestion_id, metadata=md)
            else:
                done = api.RejectSuggestion(pb.RejectSuggestionRequest(suggestion_id=args.suggestion_id), metadata=md).suggestion
            print_suggestions([done])
        elif args.command == "memory":
            entries = every(api.ListSessionMemory, pb.ListSessionMemoryRequest(session_id=args.session_id, shared=args.shared), "entries", md)
            print_table(["key", "value", "updated"], [[e.key, e.value[:80], f"{e.updated_at.ToDatetime():%Y-%m-%d %H:%M:%S}"] for e in entries])
        elif args.command == "executions":
            request = orchestrator_pb2.ListExecutionsRequest(session_id=args.session_id, view=orchestrator_pb2.RESOURCE_VIEW_FULL)
            print_executions(every(api.ListExecutions, request, "executions", md, limit=max(args.limit, 0)))
        elif args.command == "transactions":
            txs = every(api.ListTransactions, orchestrator_pb2.ListTransactionsRequest(session_id=args.session_id), "transactions", md)
            print_table(["id", "status", "network", "hash", "value (wei)", "to", "error"],
                        [[t.id, TX_NAMES[t.status], t.network, t.tx_hash, t.value, t.to_address, t.error] for t in txs])
    except grpc.RpcError as exc:
        print(f"error: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    return 0


def _kill_switch(api, md, args) -> int:
    if args.command == "halt":
        halted = api.HaltPlatform(pb.HaltPlatformRequest(reason=args.reason), metadata=md)
        print(f"halted: {halted.status.reason}; {halted.sandboxes_stopped} running sandboxes stopped")
        print("the signer is halted too" if halted.signer_halted else f"warning: {halted.signer_error}")
        return 0 if halted.signer_halted else 1
    if args.command == "resume":
        resumed = api.ResumePlatform(pb.ResumePlatformRequest(), metadata=md)
        if resumed.signer_halted_by_owner:
            print("resumed; but the wallet owner halted the signer: signing stays refused until `corral signer resume`")
        else:
            print("resumed" if resumed.signer_resumed else f"resumed; warning: {resumed.signer_error}")
        return 0
    status = api.GetPlatformStatus(pb.GetPlatformStatusRequest(), metadata=md).status
    print(f"halted since {status.halted_at.ToDatetime():%Y-%m-%d %H:%M:%S}: {status.reason}" if status.halted else "running")
    if status.signer_audit_head:
        print(f"signer audit log head: {status.signer_audit_head} (check: corral signer audit verify --expect-head {status.signer_audit_head})")
    return 0


def _session(api, md, args) -> int:
    if args.session_command == "start":
        settings, environment = parse_settings(args.setting), parse_settings(args.env, "--env")
        if settings is None or environment is None:
            return 2
        request = orchestrator_pb2.StartSessionRequest(agent_id=args.agent_id, wallet_address=args.wallet, settings=settings,
                                                       environment=environment)
        if args.mode:
            request.execution_mode = common_pb2.EXECUTION_MODE_MANUAL if args.mode == "manual" else common_pb2.EXECUTION_MODE_AUTO
        if args.allocation:
            request.allocation_amount = args.allocation
        request.paper = args.paper
        asked = (args.backtest_from, args.backtest_to, args.backtest_every)
        if any(value is not None for value in asked):
            if any(value is None for value in asked):
                print("error: a backtest by time takes --backtest-from, --backtest-to and --backtest-every", file=sys.stderr)
                return 2
            request.backtest.from_time.FromDatetime(args.backtest_from)
            request.backtest.to_time.FromDatetime(args.backtest_to)
            request.backtest.every_seconds = args.backtest_every
        print_session(api.StartSession(request, metadata=md).session)
    elif args.session_command == "promote":
        request = orchestrator_pb2.PromoteSessionRequest(session_id=args.session_id)
        if args.allocation:
            request.allocation_amount = args.allocation
        print_session(api.PromoteSession(request, metadata=md).session)
    elif args.session_command == "stop":
        print_session(api.StopSession(orchestrator_pb2.StopSessionRequest(session_id=args.session_id), metadata=md).session)
    elif args.session_command == "pause":
        print_session(api.PauseSession(orchestrator_pb2.PauseSessionRequest(session_id=args.session_id), metadata=md).session)
    elif args.session_command == "resume":
        print_session(api.ResumeSession(orchestrator_pb2.ResumeSessionRequest(session_id=args.session_id), metadata=md).session)
    elif args.session_command == "unwind":
        request = orchestrator_pb2.UnwindSessionRequest(session_id=args.session_id)
        for item in args.position:
            network, sep, asset = item.rpartition(":")
            if not sep or not network:
                print(f"error: --position {item!r} must be NETWORK:ASSET (e.g. ethereum:1:0xeeee…)", file=sys.stderr)
                return 2
            request.positions.add(network=network, asset_address=asset)
        print_session(api.UnwindSession(request, metadata=md).session)
    else:
        request = orchestrator_pb2.ListSessionsRequest(statuses=[s for s in SESSION_NAMES if s] if args.all else [])
        sessions = every(api.ListSessions, request, "sessions", md)
        print_table(["id", "agent", "wallet", "status", "mode", "allocation", "next run"], [
            [s.id, s.agent_id, _wallet_shown(s), SESSION_NAMES[s.status], "manual" if s.execution_mode == common_pb2.EXECUTION_MODE_MANUAL else "auto",
             f"{s.allocation.current_qty} {s.allocation.network}", f"{s.next_run_at.ToDatetime():%H:%M:%S}" if s.HasField("next_run_at") else "-"]
            for s in sessions
        ])
    return 0


def _utc_time(text: str) -> datetime:
    """An argparse type: an ISO 8601 time, UTC unless it says otherwise (naive UTC, as protobuf takes it)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like 2026-11-30T12:00:00Z") from None
    return (parsed if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None))


def parse_settings(items: list[str], option: str = "--setting") -> dict[str, str] | None:
    """`option` KEY=VALUE pairs; None (after saying why) when one is malformed."""
    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"error: {option} {item!r} must be KEY=VALUE", file=sys.stderr)
            return None
        settings[key] = value
    return settings


def _watch(api, md, args) -> int:
    request = pb.WatchEventsRequest()
    if args.session_id is not None:
        request.session_id = args.session_id
    if args.after is not None:
        request.after_event_id = args.after
    try:
        for event in api.WatchEvents(request, metadata=md):
            by = f" (by {event.actor})" if event.actor else ""
            print(f"{event.id:>6}  {event.occurred_at.ToDatetime():%H:%M:%S}  session {event.session_id:<4} "
                  f"{printable(describe_event(event) + by, limit=None)}", flush=True)
    except KeyboardInterrupt:
        pass
    return 0


def describe_event(event: pb.Event) -> str:
    which = event.WhichOneof("object")
    if which == "log":
        return f"log      execution {event.log.execution_id}: {safe_text(event.log.line.message)}"
    if which == "execution":
        return f"execution {event.execution.id} {event.change}" + (f" ({STATUS_NAMES[event.execution.status]})" if event.change == "finished" else "")
    if which == "transaction":
        return f"tx {event.transaction.id} {event.change} {event.transaction.tx_hash}"
    if which == "suggestion":
        return f"suggestion {event.suggestion.id} {event.change}"
    return f"session {event.change}"


def print_table(headers: list[str], rows: list[list]) -> None:
    """Columns as wide as their widest cell; nothing printed but a note when empty."""
    if not rows:
        print("(none)")
        return
    cells = [[printable(c, limit=None) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def describe_suggestion(kind: int, details: dict) -> str:
    """One line saying what approving the suggestion would do."""
    if kind == pb.SUGGESTION_KIND_TRANSACTION:
        return f"{details.get('value')} wei → {details.get('to')}{_decoded_call(details.get('decoded'))}"
    if kind == pb.SUGGESTION_KIND_MESSAGE:
        return f"{details.get('messageType')} message"
    if kind == pb.SUGGESTION_KIND_SWAP:
        send, receive = details.get("send") or {}, details.get("receive") or {}
        return f"swap {send.get('amount')} {send.get('symbol') or send.get('token')} → {receive.get('symbol') or receive.get('token')}"
    if kind == pb.SUGGESTION_KIND_HYPERLIQUID_ORDER:
        trigger = f" trigger {details['triggerPrice']}" if "triggerPrice" in details else ""
        return f"hyperliquid {details.get('type')} {details.get('side')} {details.get('size')} {details.get('coin')} @ {details.get('price')}{trigger}"
    if kind == pb.SUGGESTION_KIND_HYPERLIQUID_CANCEL:
        return f"hyperliquid cancel order {details.get('orderId')} ({details.get('coin')})"
    if kind == pb.SUGGESTION_KIND_HYPERLIQUID_TRANSFER:
        return f"hyperliquid {details.get('amount')} USDC {details.get('from')} → {details.get('to')}"
    if kind == pb.SUGGESTION_KIND_POLYMARKET_ORDER:
        return f"polymarket {details.get('side')} {details.get('size')} {details.get('sizeUnit')} of token {details.get('tokenId')}"
    if kind == pb.SUGGESTION_KIND_POLYMARKET_REDEEM:
        return f"polymarket redeem {', '.join(details.get('tokenIds') or [])}"
    return pb.SuggestionKind.Name(kind)


def _decoded_call(decoded: object) -> str:
    """", calling transfer(to=…, amount=…)" from the preview's decoded calldata (by selector)."""
    if not isinstance(decoded, dict) or not decoded.get("function"):
        return f", calling unknown function {decoded.get('selector')}" if isinstance(decoded, dict) else ""
    arguments = decoded.get("arguments")
    if not isinstance(arguments, list):
        return f", calling {decoded['function']} ({decoded.get('error') or 'does not decode'})"
    name = str(decoded["function"]).split("(")[0]
    # Struct numbers arrive as floats.
    extra = f" + {int(decoded['extra_bytes'])} extra bytes" if decoded.get("extra_bytes") else ""
    note = f" [{decoded['note']}]" if decoded.get("note") else ""
    shown = ", ".join(f"{a.get('name')}={a.get('value')}" for a in arguments if isinstance(a, dict))
    return f", calling {name}({shown}){extra}{note}"


def print_suggestions(suggestions) -> None:
    rows = []
    for s in suggestions:
        details = MessageToDict(s.details)
        what = describe_suggestion(s.kind, details)
        result = MessageToDict(s.result)
        outcome = result.get("tx_hash") or result.get("formatted_signature", "")[:20] or s.error
        rows.append([s.id, SUGGESTION_NAMES[s.status], what, details.get("message", ""), outcome])
    print_table(["id", "status", "what", "message", "result"], rows)


def print_session(s: orchestrator_pb2.Session) -> None:
    print(f"session {s.id}: agent {s.agent_id} on {_wallet_shown(s)} {SESSION_NAMES[s.status]} "
          f"allocation {s.allocation.current_qty} of {s.allocation.network}"
          + (f" (paper: wallet {s.wallet_address} on a fork taken at block {s.paper_fork_block})" if s.paper_of_wallet_address else ""))


def _wallet_shown(s: orchestrator_pb2.Session) -> str:
    """The session's wallet as its owner knows it: a paper session's real wallet, marked."""
    return f"PAPER {s.paper_of_wallet_address}" if s.paper_of_wallet_address else s.wallet_address


def print_executions(executions) -> None:
    for e in executions:
        print(f"execution {e.id} [{STATUS_NAMES[e.status]}] started {e.started_at.ToDatetime():%H:%M:%S}"
              + (f"  error: {printable(e.error, limit=None)}" if e.error else ""))
        for line in e.logs:  # the agent's own text: escaped, so it cannot drive the terminal
            print(f"    {'!' if line.level == 'error' else '·'} {printable(line.message, limit=None)}")
        if e.log_lines_not_shown:
            print(f"    [{e.log_lines_not_shown} earlier log lines: corral logs {e.id}]")
        if e.log_lines_dropped:
            print(f"    [{e.log_lines_dropped} more log lines dropped; output and traceback: corral logs {e.id}]")
