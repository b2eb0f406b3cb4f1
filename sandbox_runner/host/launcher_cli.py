"""`corral launcher serve`: the privileged sandbox launcher (see sandbox_runner/host/launcher.py)."""

from __future__ import annotations

import argparse
import asyncio
import os
import pwd
import sys
from pathlib import Path

# "<root>/sbx-<32 hex>/runtime.sock" must fit in a Unix socket path (107 bytes).
MAX_SOCKET_ROOT = 107 - len("/sbx-") - 32 - len("/runtime.sock")


def add_parser(sub) -> None:
    launcher = sub.add_parser("launcher", help="the privileged sandbox launcher an unprivileged orchestrator asks")
    commands = launcher.add_subparsers(dest="launcher_command", required=True)
    serve = commands.add_parser("serve", help="serve the launcher socket (as root)")
    serve.add_argument("--client-user", required=True, help="the orchestrator's user: owns the socket directories; its group may connect")
    serve.add_argument("--socket", type=Path, default=Path("/run/corral-launcher/launcher.sock"),
                       help="the launcher's socket; its directory is made root:<client group> 0750")
    serve.add_argument("--socket-root", type=Path, default=Path("/run/corral-sandboxes"),
                       help="where sandboxes' socket directories are made (root-owned, 0711)")
    serve.add_argument("--backend", choices=["docker", "bubblewrap"], default="docker")
    serve.add_argument("--runtime", help="Docker runtime, e.g. runsc for gVisor (default: the engine's)")
    serve.add_argument("--image-root", type=Path, help="bubblewrap: the directory images must be in (default: the image cache)")
    serve.add_argument("--max-sandboxes", type=int, default=64, help="sandboxes running at once (default 64)")


def run(args: argparse.Namespace) -> int:
    from sandbox_runner.host.launcher import Launcher, check_only_root_can_move, prepare_root, serve

    if os.geteuid() != 0:
        print("error: the launcher starts sandboxes for others and must run as root", file=sys.stderr)
        return 2
    try:
        client = pwd.getpwnam(args.client_user)
    except KeyError:
        print(f"error: no user {args.client_user!r} (scripts/setup makes corral-orchestrator)", file=sys.stderr)
        return 2
    if client.pw_uid == 0:
        print("error: --client-user is the unprivileged orchestrator's user, not root", file=sys.stderr)
        return 2
    if len(str(args.socket_root.absolute())) > MAX_SOCKET_ROOT:
        print(f"error: --socket-root {args.socket_root} is too long for Unix socket paths (at most {MAX_SOCKET_ROOT} bytes)", file=sys.stderr)
        return 2
    try:
        socket_root = prepare_root(args.socket_root, 0o711)
    except ValueError as exc:
        print(f"error: --socket-root: {exc}", file=sys.stderr)
        return 2
    image_root = None
    if args.backend == "bubblewrap":
        from sandbox_runner.host.bwrap_backend import BubblewrapBackend
        from sandbox_runner.host.image_cache import image_cache_dir

        image_root = (args.image_root or image_cache_dir()).resolve()
        try:  # images are trusted because only root can change what is in the cache
            check_only_root_can_move(image_root)
        except ValueError as exc:
            print(f"error: --image-root: {exc}", file=sys.stderr)
            return 2
        backend = BubblewrapBackend(state_dir=socket_root.parent / "bwrap-state")
    else:
        from sandbox_runner.host.docker_backend import DockerBackend

        backend = DockerBackend(runtime=args.runtime)
    launcher = Launcher(backend, socket_root, client.pw_uid, client.pw_gid, image_root=image_root, max_sandboxes=args.max_sandboxes)
    asyncio.run(serve(launcher, args.socket, client.pw_gid))
    return 0
