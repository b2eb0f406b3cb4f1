"""`corral backtest DIR --network ethereum:1 --rpc-url URL --from-block A --to-block B --every N`:
runs an agent directory over past blocks on a throwaway local platform (signer, orchestrator)
whose chain is the node at --rpc-url: a backtest session (docs/api.md, "Backtests") forks it at
block A and moves the fork to A+N, A+2N, ... up to B, one run at each, carrying what the
session holds from block to block. Prints the report (PnL, fees, drawdown, trades, refusals by
rule) and, with --out DIR, writes result.json (the corral.v1.BacktestReport as JSON) and
equity.png.

Exit status: 0 when every run succeeded, 1 when one failed, 2 for a mistake in the command,
the agent directory or the backtest asked for, 124 on --timeout, 130 on Ctrl-C."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from google.protobuf.json_format import MessageToDict

from corral.networks import parse_or_none
from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from corral_cli.display import printable
from corral_cli.overall_timeout import TimedOut, Timer, overall_timeout

if TYPE_CHECKING:  # the platform's parts are imported when a backtest runs, not for `corral --help`
    from devtools.devstack import DevStack

MISTAKE, TIMEOUT_EXIT, INTERRUPTED_EXIT = 2, 124, 130
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class BacktestOptions:
    path: Path
    network: str
    rpc_url: str
    from_block: int
    to_block: int
    every: int
    settings: dict[str, str] = field(default_factory=dict)
    allocation: str | None = None
    policy: Path | None = None
    uniswap_router: str | None = None
    out: Path | None = None
    timeout: float | None = None


def add_parser(sub, positive) -> None:
    backtest = sub.add_parser("backtest", help="run an agent directory over past blocks of a chain and report PnL, fees, drawdown, trades")
    backtest.add_argument("path", type=Path)
    backtest.add_argument("--network", required=True, help="the chain, e.g. ethereum:1 (the agent's starting asset must be on it)")
    backtest.add_argument("--rpc-url", required=True, help="a node of that chain that serves the blocks asked for (an archive node for old ones)")
    backtest.add_argument("--from-block", type=positive(int), required=True)
    backtest.add_argument("--to-block", type=positive(int), required=True)
    backtest.add_argument("--every", type=positive(int), required=True, metavar="N", help="blocks between runs")
    backtest.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE")
    backtest.add_argument("--allocation", help="amount of the starting asset, smallest unit (default: the manifest's minimumAmount)")
    backtest.add_argument("--policy", type=Path, help="the signing policy (JSON) to run under, e.g. your wallet's; default: "
                                                       "the CLI's development policy on that chain")
    backtest.add_argument("--uniswap-router", help="a Uniswap-V2-compatible router on that chain, for swaps and for valuing holdings")
    backtest.add_argument("--out", type=Path, metavar="DIR", help="write result.json and equity.png here")
    backtest.add_argument("--timeout", type=positive(float), metavar="SECONDS", help="give up (and tear down) after this long")


def run(args) -> int:
    from corral_cli.client import parse_settings

    settings = parse_settings(args.setting)
    if settings is None:
        return MISTAKE
    return backtest(BacktestOptions(
        path=args.path, network=args.network, rpc_url=args.rpc_url, from_block=args.from_block, to_block=args.to_block,
        every=args.every, settings=settings, allocation=args.allocation, policy=args.policy, uniswap_router=args.uniswap_router,
        out=args.out, timeout=args.timeout))


def backtest(options: BacktestOptions) -> int:
    try:
        with overall_timeout(options.timeout) as timer:
            return _backtest(options, timer)
    except TimedOut as exc:
        print(f"\nerror: corral backtest {exc} (--timeout {options.timeout:g}); the local platform was torn down", file=sys.stderr)
        return TIMEOUT_EXIT
    except KeyboardInterrupt:
        print("\ninterrupted; the local platform was torn down", file=sys.stderr)
        return INTERRUPTED_EXIT


def _backtest(options: BacktestOptions, timer: Timer) -> int:
    from corral_cli.backtest_chart import write_equity_chart
    from devtools.devstack import DevStack
    from orchestrator.agents.images import build_agent_image
    from orchestrator.agents.manifest import ManifestError

    network = parse_or_none(options.network)
    if network is None or not network.is_evm or network.chain_id is None:
        print(f"error: --network {options.network!r} must be ethereum:<chainId>", file=sys.stderr)
        return MISTAKE
    try:
        image = build_agent_image(options.path)
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return MISTAKE
    policy = None
    if options.policy is not None:
        try:
            policy = json.loads(options.policy.read_text())
        except (OSError, ValueError) as exc:
            print(f"error: --policy {options.policy}: {exc}", file=sys.stderr)
            return MISTAKE
    if (problem := _node_problem(options.rpc_url, network.chain_id, options.to_block)) is not None:
        print(f"error: {problem}", file=sys.stderr)  # before any platform is brought up
        return MISTAKE
    chain = {"uniswap_v2_router": options.uniswap_router} if options.uniswap_router else {}
    with tempfile.TemporaryDirectory(prefix="corral-backtest-") as home:
        stack = DevStack(Path(home), minute_seconds=1.0, node=(options.rpc_url, network.chain_id), chain=chain)
        try:
            stack.start()
            outcome = _run(stack, options, network.chain_id, image, policy)
        finally:
            timer.disarm()  # the teardown is never cut short
            stack.close()
    if isinstance(outcome, int):
        return outcome
    report, executions, title = outcome
    _print_report(report)
    if options.out is not None:
        options.out.mkdir(parents=True, exist_ok=True)
        (options.out / "result.json").write_text(json.dumps(MessageToDict(report, preserving_proto_field_name=True), indent=2) + "\n")
        drawn = write_equity_chart(report, title, options.out / "equity.png")
        print(f"wrote {options.out / 'result.json'}" + (f" and {options.out / 'equity.png'}" if drawn else " (no step was valued: no chart)"))
    failed = [e for e in executions if e.status != pb.EXECUTION_STATUS_SUCCEEDED]
    for execution in failed:
        print(f"run {execution.id} {pb.ExecutionStatus.Name(execution.status).removeprefix('EXECUTION_STATUS_').lower()}: "
              f"{printable(execution.error)}")
    return 1 if failed or not report.finished else 0


def _run(stack: DevStack, options: BacktestOptions, chain_id: int, image: str, policy: dict | None
         ) -> int | tuple[pb.BacktestReport, list[pb.Execution], str]:
    """The backtest session on the started stack: its report, its runs and the chart's title
    (or the exit status of a mistake)."""
    wallet = stack.create_wallet(chain_id)
    if policy is not None:
        stack.set_policy(wallet, policy)
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent
    request = pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet, settings=options.settings,
                                     execution_mode=common_pb2.EXECUTION_MODE_AUTO,
                                     backtest=pb.Backtest(from_block=options.from_block, to_block=options.to_block,
                                                          every_blocks=options.every))
    if options.allocation is not None:
        request.allocation_amount = options.allocation
    try:
        session = stack.api.StartSession(request).session
    except grpc.RpcError as exc:
        print(f"error: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
        return MISTAKE
    runs = len(range(options.from_block, options.to_block + 1, options.every))
    print(f"backtest of {agent.name} {agent.version} on {options.network}: blocks {options.from_block}..{options.to_block} "
          f"every {options.every} ({runs} runs), allocation {session.allocation.current_qty} of {session.allocation.asset_address}")
    report = _wait_for_report(stack, session.id, runs)
    executions = stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session.id, page_size=1000)).executions
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    return report, list(executions), f"{agent.name} {agent.version}: {options.network} blocks {options.from_block}..{options.to_block}"


def _node_problem(rpc_url: str, chain_id: int, to_block: int) -> str | None:
    """Why the node cannot serve this backtest (unreachable, another chain, not that far yet),
    or None; the platform checks the same again when the backtest starts."""
    from web3 import Web3

    node = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30})).eth
    try:
        served, head = node.chain_id, node.block_number
    except Exception as exc:  # noqa: BLE001 — any failure to ask is said as it is
        return f"--rpc-url {rpc_url}: the node did not answer ({type(exc).__name__})"
    if served != chain_id:
        return f"--rpc-url {rpc_url}: the node serves chain {served}, not {chain_id} (--network)"
    if to_block > head:
        return f"--to-block: backtest.to_block {to_block} is past the chain's newest block {head}"
    return None


def _wait_for_report(stack: DevStack, session_id: int, runs: int) -> pb.BacktestReport:
    """Until the backtest has run at every block (or the platform paused or stopped it for
    another reason), with a progress line on a terminal."""
    while True:
        report = stack.api.GetBacktestReport(pb.GetBacktestReportRequest(session_id=session_id)).report
        session = stack.api.GetSession(pb.GetSessionRequest(session_id=session_id)).session
        if sys.stdout.isatty():
            print(f"\rrun {report.runs}/{runs}", end="", flush=True)
        if report.finished:
            break
        if session.status in (pb.SESSION_STATUS_PAUSED, pb.SESSION_STATUS_STOPPED):
            # Read again: the pause may be the finish itself, stored between the two reads above.
            report = stack.api.GetBacktestReport(pb.GetBacktestReportRequest(session_id=session_id)).report
            if not report.finished:
                print(f"\nthe platform stopped the backtest after {report.runs} run(s): {printable(session.status_reason)}")
            break
        time.sleep(POLL_SECONDS)
    if sys.stdout.isatty():
        print()
    return report


def _print_report(report: pb.BacktestReport) -> None:
    from corral_cli.client import print_table

    print_table(["step", "block", "time (UTC)", "equity", "not valued"],
                [[s.step if not s.after_last_run else "end", s.block, f"{s.block_time.ToDatetime():%Y-%m-%d %H:%M:%S}", s.equity or "-",
                  ", ".join(s.unvalued_assets)] for s in report.steps])
    pnl = report.pnl or "not known (a holding could not be valued)"
    print(f"PnL {pnl} (starting asset, smallest unit) on {report.starting_amount}; max drawdown {report.max_drawdown:.2%}; "
          f"{report.trades} trade(s); fees {report.fees_paid} (native, smallest unit)")
    refusals = ", ".join(f"{rule} {count}" for rule, count in sorted(report.refusals_by_rule.items()))
    print(f"refusals by rule: {refusals or 'none'}")
    if report.live_hosts:
        print(f"warning: the agent fetched from {', '.join(printable(h) for h in report.live_hosts)} during the backtest; what it read "
              "there was today's, not each step's, so this report may have seen the future")
