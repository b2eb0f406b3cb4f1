"""The `corral` command. Each subcommand imports only its own side of the platform, so
`corral signer ...` never loads orchestrator code and the reverse."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import math
import os
import sys
from pathlib import Path

# What a shell reports for a program killed by SIGPIPE (128 + 13), as `yes | head -1` does:
# the output was cut short, so not 0, and `set -o pipefail` scripts see what they see for
# any other Unix tool. Python ignores SIGPIPE (so sockets and gRPC keep working), hence the
# handler in `main` rather than the signal's default action.
SIGPIPE_EXIT = 141


def _parser() -> argparse.ArgumentParser:
    from sandbox_runner.host import launcher_cli
    from signer import cli as signer_cli

    parser = argparse.ArgumentParser(prog="corral", description="Run untrusted trading agents against real wallets, safely.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the orchestrator")
    serve.add_argument("--config", type=Path, help="orchestrator TOML config (defaults are embedded)")

    signer_cli.add_parser(sub)
    launcher_cli.add_parser(sub)

    new = sub.add_parser("new", help="scaffold an agent directory (main.py, circuit.toml, DESCRIPTION.md, pyproject.toml)")
    new.add_argument("name", type=Path, help="directory to create; its name is the agent's name")

    build = sub.add_parser("build", help="validate an agent directory and build its image; prints the image tag")
    build.add_argument("path", type=Path)
    build.add_argument("--dir", action="store_true", help="build a directory image for the bubblewrap backend (prints its path)")
    build.add_argument("--allow-sdist", action="append", default=[], metavar="NAME",
                       help="let this declared dependency build from its source distribution (runs its build code here); repeatable")

    demo = sub.add_parser("demo", help="bring up a local platform and run the example agent")
    demo.add_argument("--runs", type=int, default=3, help="stop after this many executions (0: keep running)")
    demo.add_argument("--home", type=Path, default=Path("var/demo"), help="where the demo keeps its state")
    demo.add_argument("--minute-seconds", type=float, default=5.0, help="length of one runtimeIntervalMinutes minute")

    dev = sub.add_parser("dev", help="develop an agent locally").add_subparsers(dest="dev_command", required=True)
    dev_run = dev.add_parser("run", help="run an agent directory on a throwaway local platform and show what it did")
    dev_run.add_argument("path", type=Path)
    dev_run.add_argument("--mode", choices=["auto", "manual"], help="default: the agent's first allowed mode")
    dev_run.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE")
    dev_run.add_argument("--runs", type=_positive(int), default=1, help="how many runs to wait for")
    dev_run.add_argument("--approve", choices=["ask", "all", "none"], default="ask",
                         help="manual mode: what to do with the pending suggestions after the runs. ask (default): "
                              "ask for each on a terminal (approve, reject, skip, quit), the platform staying up "
                              "meanwhile; with no terminal, show them and decide nothing. all / none: approve / reject "
                              "every one without asking")
    dev_run.add_argument("--unwind", action="store_true", help="after the runs, unwind the session: the agent's unwind() runs once")
    dev_run.add_argument("--timeout", type=_positive(float), metavar="SECONDS",
                         help="give up after this long overall (build, runs, decisions; exit 124), tearing everything down")
    # (No default here: the platform's is read from its config when `dev run` runs, so that
    # parsing any command loads no orchestrator code.)
    dev_run.add_argument("--deadline", type=_positive(float), metavar="SECONDS",
                         help="how long one run may take before its sandbox is killed (default: the platform's default deadline, "
                              "[sandbox] deadline_seconds; shown when it runs)")

    from corral_cli import backtest as backtest_cli
    from corral_cli import client as client_cli
    from corral_cli import users as users_cli

    backtest_cli.add_parser(sub, _positive)
    users_cli.add_parser(sub)
    client_cli.add_parsers(sub)
    return parser


def _positive(kind: type[int] | type[float]):
    """An argparse type: a number above 0, or an error naming what to type."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number above 0")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    """Every command; a reader that goes away (`corral executions 1 | head -1`) ends it quietly."""
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not as a traceback at interpreter exit
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null so that flush has nowhere to fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return SIGPIPE_EXIT


def _main(argv: list[str] | None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = _parser().parse_args(argv)
    if args.command == "serve":
        from orchestrator.app.server import serve
        from orchestrator.config import config_problem, load_config

        try:
            config = load_config(args.config)
            config.api_token(), config.resume_token()  # read now: a bad token file is a config error
        except (ValueError, OSError) as exc:
            print(f"error: orchestrator config: {config_problem(exc)}", file=sys.stderr)
            return 2
        asyncio.run(serve(config))
        return 0
    if args.command == "signer":
        from signer import cli as signer_cli

        return signer_cli.run(args)
    if args.command == "launcher":
        from sandbox_runner.host import launcher_cli

        return launcher_cli.run(args)
    if args.command == "new":
        from corral_cli.scaffold import create_agent_directory, next_steps

        try:
            path = create_agent_directory(args.name)
        except (ValueError, FileExistsError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(next_steps(path))
        return 0
    if args.command == "build":
        import docker

        from orchestrator.agents.images import build_agent_dir_image, build_agent_image
        from orchestrator.agents.manifest import ManifestError

        def progress(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        try:
            if args.dir:
                print(build_agent_dir_image(args.path, progress=progress, allow_sdists=args.allow_sdist))
                return 0
            tag = build_agent_image(args.path, progress=progress, allow_sdists=args.allow_sdist)
        except ManifestError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"image id {docker.from_env().images.get(tag).id}", file=sys.stderr)
        print(tag)
        return 0
    if args.command == "demo":
        from corral_cli.demo import run_demo

        return run_demo(args.home, args.runs, args.minute_seconds)
    if args.command == "dev":
        from corral_cli.client import parse_settings
        from corral_cli.dev_decide import Approve
        from corral_cli.dev_run import DevRunOptions, dev_run

        settings = parse_settings(args.setting)
        if settings is None:
            return 2
        return dev_run(DevRunOptions(path=args.path, mode=args.mode, settings=settings, runs=args.runs, unwind=args.unwind,
                                     approve=Approve(args.approve), timeout=args.timeout,
                                     **({"deadline": args.deadline} if args.deadline else {})))
    # Commands with a module of their own, imported only when run.
    modules = {"user": "corral_cli.users", "backtest": "corral_cli.backtest"}
    if args.command in modules:
        return importlib.import_module(modules[args.command]).run(args)
    from corral_cli import client as client_cli

    return client_cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
