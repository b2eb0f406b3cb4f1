"""`corral` commands that drive a running orchestrator through its gRPC API, as a
frontend would."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import grpc

from corral.v1 import common_pb2, orchestrator_pb2, orchestrator_pb2_grpc

STATUS_NAMES = {
    **{v: k.removeprefix("EXECUTION_STATUS_").lower() for k, v in orchestrator_pb2.ExecutionStatus.items()},
}
SESSION_NAMES = {v: k.removeprefix("SESSION_STATUS_").lower() for k, v in orchestrator_pb2.SessionStatus.items()}
TX_NAMES = {v: k.removeprefix("TRANSACTION_STATUS_").lower() for k, v in orchestrator_pb2.TransactionStatus.items()}


def add_parsers(sub) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", default=os.environ.get("CORRAL_SERVER", "127.0.0.1:50051"), help="orchestrator address")
    common.add_argument("--token-file", type=Path, default=os.environ.get("CORRAL_TOKEN_FILE"), help="file holding the API token")

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
    start.add_argument("--allocation", help="amount of the starting asset, smallest unit")
    for name, what in (("stop", "end the session and clear its memory"), ("pause", "keep memory and allocation, run nothing"),
                       ("resume", "run again from the next scheduled slot")):
        session.add_parser(name, parents=[common], help=what).add_argument("session_id", type=int)
    unwind = session.add_parser("unwind", parents=[common], help="run the agent's unwind once, then stop")
    unwind.add_argument("session_id", type=int)
    unwind.add_argument("--position", action="append", default=[], metavar="NETWORK:ASSET",
                        help="a position to unwind, e.g. ethereum:1:0xeeee…eeee (repeatable; default: all)")
    session.add_parser("list", parents=[common])

    executions = sub.add_parser("executions", parents=[common], help="a session's executions with their logs")
    executions.add_argument("session_id", type=int)
    transactions = sub.add_parser("transactions", parents=[common], help="a session's transactions")
    transactions.add_argument("session_id", type=int)


def _stub(args) -> tuple[orchestrator_pb2_grpc.OrchestratorServiceStub, tuple]:
    metadata: tuple = ()
    if args.token_file:
        metadata = (("authorization", f"Bearer {Path(args.token_file).read_text().strip()}"),)
    return orchestrator_pb2_grpc.OrchestratorServiceStub(grpc.insecure_channel(args.server)), metadata


def run(args) -> int:
    api, md = _stub(args)
    try:
        if args.command == "register":
            agent = api.RegisterAgent(orchestrator_pb2.RegisterAgentRequest(image=args.image), metadata=md).agent
            print(f"agent {agent.id}: {agent.name} {agent.version} ({agent.wallet_type}) image {agent.image}")
        elif args.command == "agents":
            for a in api.ListAgents(orchestrator_pb2.ListAgentsRequest(), metadata=md).agents:
                print(f"{a.id:>4}  {a.name:<32} {a.version:<10} {a.wallet_type:<9} {a.image}")
        elif args.command == "wallets":
            for w in api.ListWallets(orchestrator_pb2.ListWalletsRequest(), metadata=md).wallets:
                balances = ", ".join(f"{b.network} {b.amount}" for b in w.balances)
                print(f"{w.address}  {w.wallet_type}  {balances}")
        elif args.command == "session":
            return _session(api, md, args)
        elif args.command == "executions":
            print_executions(api.ListExecutions(orchestrator_pb2.ListExecutionsRequest(session_id=args.session_id), metadata=md).executions)
        elif args.command == "transactions":
            for t in api.ListTransactions(orchestrator_pb2.ListTransactionsRequest(session_id=args.session_id), metadata=md).transactions:
                print(f"{t.id:>4}  {TX_NAMES[t.status]:<10} {t.network:<16} {t.tx_hash}  {t.value} wei → {t.to_address} {t.error}")
    except grpc.RpcError as exc:
        print(f"error: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    return 0


def _session(api, md, args) -> int:
    if args.session_command == "start":
        settings = {}
        for item in args.setting:
            key, sep, value = item.partition("=")
            if not sep:
                print(f"error: --setting {item!r} must be KEY=VALUE", file=sys.stderr)
                return 2
            settings[key] = value
        request = orchestrator_pb2.StartSessionRequest(agent_id=args.agent_id, wallet_address=args.wallet, settings=settings)
        if args.mode:
            request.execution_mode = common_pb2.EXECUTION_MODE_MANUAL if args.mode == "manual" else common_pb2.EXECUTION_MODE_AUTO
        if args.allocation:
            request.allocation_amount = args.allocation
        print_session(api.StartSession(request, metadata=md).session)
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
        for s in api.ListSessions(orchestrator_pb2.ListSessionsRequest(), metadata=md).sessions:
            print_session(s)
    return 0


def print_session(s: orchestrator_pb2.Session) -> None:
    print(f"session {s.id}: agent {s.agent_id} on {s.wallet_address} {SESSION_NAMES[s.status]} "
          f"allocation {s.allocation.current_qty} of {s.allocation.network}")


def print_executions(executions) -> None:
    for e in executions:
        print(f"execution {e.id} [{STATUS_NAMES[e.status]}] started {e.started_at.ToDatetime():%H:%M:%S}" + (f"  error: {e.error}" if e.error else ""))
        for line in e.logs:
            print(f"    {'!' if line.level == 'error' else '·'} {line.message}")
