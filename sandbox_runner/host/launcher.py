"""The sandbox launcher: the one privileged process that starts sandboxes, so that the
orchestrator needs no privilege at all.

Starting a sandbox takes power over the host: the Docker socket (whoever holds it can
`docker run -v /:/host`), or root for bubblewrap's cgroups and user change. An
orchestrator holding that power is root-equivalent, and could read the signer's keystore
and passphrase or rewrite its policies. So the orchestrator runs as its own unprivileged
user and asks this launcher, over a Unix socket only its group can reach, for what it
needs; the request is narrow by construction (`protos/corral/v1/launcher.proto`):

- it names an image, a command, environment, limits and the orchestrator's own labels;
  never a host path, a mount, a network, a user or a capability. The container shape
  (no network, read-only root, user 65534, no capabilities, no-new-privileges, one
  read-only mount) is the backend's, the same for every request;
- the one mount is the sandbox's socket directory, which the launcher makes itself
  under a root only it can write (checked at start-up up to `/`), owned by the
  orchestrator so it can bind its socket there, but not movable by it: there is no moment
  at which a link to a host path could stand in for it;
- limits above the launcher's ceilings, labels it sets itself, and bubblewrap images
  outside its image cache are refused as INVALID_ARGUMENT naming the field.

Why a launcher rather than rootless Docker or a filtering proxy for the Docker API:
rootless Docker runs under the orchestrator's own uid, so the orchestrator could still
start a container that mounts every file that uid can read, and gVisor's support for it
is partial; a proxy would have to understand every field of the Docker API's container
create (and of the versions to come) to refuse what it does not know. A launcher whose
request cannot express a mount needs neither, and serves bubblewrap the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import signal
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from corral.v1 import launcher_pb2, launcher_pb2_grpc
from sandbox_runner.host.backend import (
    DEADLINE_LABEL,
    MANAGED_LABEL,
    SANDBOX_ID_LABEL,
    SandboxBackend,
    SandboxLimits,
    SandboxSpec,
    SandboxStartError,
    StartedSandbox,
)
from sandbox_runner.host.image_cache import DIR_IMAGE_FILE
from sandbox_runner.host.socket_dirs import PREFIX, SANDBOX_ID, remove_tree

log = logging.getLogger("corral.launcher")

# What one request may ask for at most (a compromised orchestrator must not be able to
# take the host's memory or CPU through its sandboxes either).
DEFAULT_CEILINGS = SandboxLimits(
    memory_mb=4096, cpus=4.0, pids=512, tmpfs_mb=1024, deadline_seconds=3600.0, output_bytes=4 * 2**20, nofile=4096, fsize_mb=1024,
)
MAX_IDLE_SECONDS = 3600.0
# Sandboxes running at once (each FinishSandbox holds a thread), plus starts and clean-ups.
MAX_THREADS = 128
# Labels the backend sets itself; the orchestrator may add its own `org.corral.*` ones.
LAUNCHER_LABELS = {MANAGED_LABEL, SANDBOX_ID_LABEL, DEADLINE_LABEL}
ORCHESTRATOR_LABEL = re.compile(r"org\.corral\.[a-z][a-z0-9-]{0,31}")
MAX_LABELS = 8
# Only the platform's own variables: PYTHONPATH, LD_PRELOAD, PATH and the like would let the
# orchestrator replace the watchdog or the interpreter inside the sandbox.
ENVIRONMENT_NAME = re.compile(r"CORRAL_[A-Z0-9_]{1,57}")
MAX_ENVIRONMENT = 32
MAX_COMMAND = 16
MAX_STRING = 4096
# A Docker image id, or a reference (name[:tag][@digest]) whose path segments are plain
# names: the name goes into the engine's API URL, where ".." would reach another object.
IMAGE_REFERENCE = re.compile(
    r"sha256:[0-9a-f]{64}"
    r"|[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)
# Sandboxes running at once, and socket directories existing at once, per launcher.
DEFAULT_MAX_SANDBOXES = 64
# How long past its own deadline (idle + run time) the launcher lets a sandbox live when
# nobody finishes it: then it discards it itself, whatever the orchestrator does.
LIFETIME_GRACE_SECONDS = 30.0
SWEEP_SECONDS = 5.0


class Refusal(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_only_root_can_move(path: Path, *, ancestors_only: bool = False) -> None:
    """`path` and every directory above it are root's and writable by no one else (or
    sticky, like /tmp, where only an entry's owner may rename it): nobody but root can
    replace `path` with something else. `ancestors_only`: check only what is above it."""
    for directory in (list(path.parents) if ancestors_only else [path, *path.parents]):
        info = directory.lstat()
        if stat.S_ISLNK(info.st_mode):
            raise ValueError(f"{directory} is a symbolic link; give the launcher a real directory")
        if info.st_uid != 0:
            raise ValueError(f"{directory} belongs to uid {info.st_uid}: only root may own the directories above the launcher's roots")
        others_write = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if directory != path and others_write and not info.st_mode & stat.S_ISVTX:
            raise ValueError(f"{directory} is writable by others: they could move the launcher's directories")
        if directory == path and others_write:
            raise ValueError(f"{directory} is writable by others: make it 0711, owned by root")


class Launcher(launcher_pb2_grpc.SandboxLauncherServicer):
    def __init__(
        self, backend: SandboxBackend, socket_root: Path, client_uid: int, client_gid: int, *,
        ceilings: SandboxLimits = DEFAULT_CEILINGS, image_root: Path | None = None, max_sandboxes: int = DEFAULT_MAX_SANDBOXES,
    ) -> None:
        """`image_root`: bubblewrap only; images (directories) must lie inside it."""
        self._backend = backend
        self._root = socket_root
        self._client = (client_uid, client_gid)
        self._ceilings = ceilings
        self._image_root = image_root
        self._max_sandboxes = max_sandboxes
        self._running: dict[str, StartedSandbox] = {}
        # When each running sandbox must be gone, by the launcher's monotonic clock.
        self._ends: dict[str, float] = {}
        self._starting: set[str] = set()

    def discard_all(self) -> None:
        """Shutdown: no sandbox outlives the launcher that watches it."""
        for sandbox_id in list(self._running):
            self._ends.pop(sandbox_id, None)
            self._backend.discard(self._running.pop(sandbox_id))

    def discard_overdue(self, now: float | None = None) -> int:
        """Discards the sandboxes past their lifetime that nobody finished (an orchestrator
        that crashed, or one that starts sandboxes and never ends them)."""
        now = time.monotonic() if now is None else now
        overdue = [sandbox_id for sandbox_id, end in self._ends.items() if end < now]
        for sandbox_id in overdue:
            self._ends.pop(sandbox_id, None)
            started = self._running.pop(sandbox_id, None)
            if started is not None:
                log.warning("sandbox %s outlived its deadline unfinished: discarded", sandbox_id)
                self._backend.discard(started)
        return len(overdue)

    # -- socket directories -------------------------------------------------------

    def _directory(self, sandbox_id: str) -> Path:
        if not SANDBOX_ID.fullmatch(sandbox_id):
            raise Refusal(grpc.StatusCode.INVALID_ARGUMENT, "sandbox_id must be 16 to 32 lowercase hex digits")
        return self._root / f"{PREFIX}{sandbox_id}"

    def prepare(self, sandbox_id: str) -> Path:
        directory = self._directory(sandbox_id)
        if sum(1 for _ in self._root.iterdir()) >= 2 * self._max_sandboxes:
            raise Refusal(grpc.StatusCode.RESOURCE_EXHAUSTED,
                          f"this launcher keeps at most {2 * self._max_sandboxes} sandbox directories: remove unused ones")
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            raise Refusal(grpc.StatusCode.ALREADY_EXISTS, f"sandbox {sandbox_id} already has a directory") from None
        # The orchestrator binds its socket here; the sandbox user reaches it through the
        # directory's unguessable name (the root is 0711: not listable).
        os.chown(directory, *self._client)
        os.chmod(directory, 0o711)
        return directory

    def _prepared(self, sandbox_id: str) -> Path:
        directory = self._directory(sandbox_id)
        try:
            info = directory.lstat()
        except FileNotFoundError:
            raise Refusal(grpc.StatusCode.FAILED_PRECONDITION, f"sandbox {sandbox_id} has no directory: PrepareSandboxDirectory first") from None
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != self._client[0]:
            raise Refusal(grpc.StatusCode.FAILED_PRECONDITION, f"sandbox {sandbox_id}'s directory is not the one the launcher made")
        return directory

    # -- requests -------------------------------------------------------------------

    def spec(self, request: launcher_pb2.StartSandboxRequest) -> SandboxSpec:
        """The sandbox a request asks for, or Refusal naming the field at fault."""
        directory = self._prepared(request.sandbox_id)
        image = self._checked_image(request.image)
        if not 1 <= len(request.command) <= MAX_COMMAND:
            raise _invalid(f"command: 1 to {MAX_COMMAND} arguments")
        command = [_bounded_string(arg, "command") for arg in request.command]
        if len(request.environment) > MAX_ENVIRONMENT:
            raise _invalid(f"environment: at most {MAX_ENVIRONMENT} variables")
        for name, value in request.environment.items():
            if not ENVIRONMENT_NAME.fullmatch(name):
                raise _invalid(f"environment: {name[:80]!r} is not one of the platform's variables (CORRAL_<NAME>)")
            _bounded_string(value, f"environment.{name}")
        if len(request.labels) > MAX_LABELS:
            raise _invalid(f"labels: at most {MAX_LABELS}")
        for name, value in request.labels.items():
            if name in LAUNCHER_LABELS or not ORCHESTRATOR_LABEL.fullmatch(name):
                raise _invalid(f"labels: {name[:80]!r} is not a label the orchestrator may set (org.corral.<name>, not {sorted(LAUNCHER_LABELS)})")
            _bounded_string(value, f"labels.{name}")
        limits = self._limits(request.limits)
        if not 0 <= request.idle_seconds <= MAX_IDLE_SECONDS:
            raise _invalid(f"idle_seconds: 0 to {MAX_IDLE_SECONDS:g}")
        return SandboxSpec(
            image=image, command=command, socket_dir=directory, sandbox_id=request.sandbox_id,
            environment=dict(request.environment), limits=limits, labels=dict(request.labels), idle_seconds=request.idle_seconds,
        )

    def _limits(self, asked: launcher_pb2.SandboxLimits) -> SandboxLimits:
        values = {}
        for name in ("memory_mb", "cpus", "pids", "tmpfs_mb", "deadline_seconds", "output_bytes", "nofile", "fsize_mb"):
            value, ceiling = getattr(asked, name), getattr(self._ceilings, name)
            if not 0 < value <= ceiling:
                raise _invalid(f"limits.{name}: {value:g} is outside this launcher's range (above 0, at most {ceiling:g})")
            values[name] = value
        return SandboxLimits(**values)

    def _checked_image(self, image: str) -> str:
        """The image to run, as the backend will use it: a Docker reference that names
        only an image, or (bubblewrap) the resolved path of a directory image inside the
        launcher's image cache whose root filesystems are inside it too (or the
        orchestrator could hand the sandbox the host's own root as its filesystem)."""
        _bounded_string(image, "image")
        if self._image_root is None:
            if not IMAGE_REFERENCE.fullmatch(image):
                raise _invalid(f"image: {image[:200]!r} is not an image id (sha256:...) or reference (name[:tag][@sha256:...])")
            return image
        root = self._image_root.resolve()
        path = Path(image).resolve()
        if not image.startswith("/") or not path.is_relative_to(root):
            raise _invalid(f"image: {image[:200]} is not in this launcher's image cache {root}")
        try:
            meta = json.loads((path / DIR_IMAGE_FILE).read_text())
            parts = [Path(meta["rootfs"]), Path(meta["base"])]
        except (OSError, ValueError, KeyError, TypeError):
            raise Refusal(grpc.StatusCode.NOT_FOUND, f"image: {image[:200]} is not a directory image") from None
        if not all(part.is_absolute() and part.resolve() == part and part.is_relative_to(root) for part in parts):
            raise _invalid(f"image: {image[:200]} names a root filesystem outside the image cache")
        return str(path)

    # -- the API --------------------------------------------------------------------

    async def PrepareSandboxDirectory(self, request, context):
        return launcher_pb2.PrepareSandboxDirectoryResponse(path=str(await _answer(context, self.prepare, request.sandbox_id)))

    async def RemoveSandboxDirectory(self, request, context):
        directory = await _answer(context, self._directory, request.sandbox_id)
        await asyncio.to_thread(remove_tree, directory)
        return launcher_pb2.RemoveSandboxDirectoryResponse()

    async def ListSandboxDirectories(self, request, context):
        names = [entry.name.removeprefix(PREFIX) for entry in self._root.iterdir() if entry.name.startswith(PREFIX)]
        return launcher_pb2.ListSandboxDirectoriesResponse(sandbox_ids=[n for n in names if SANDBOX_ID.fullmatch(n)])

    async def StartSandbox(self, request, context):
        spec = await _answer(context, self.spec, request)
        if spec.sandbox_id in self._running or spec.sandbox_id in self._starting:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, f"sandbox {spec.sandbox_id} is already running")
        if len(self._running) + len(self._starting) >= self._max_sandboxes:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"this launcher runs at most {self._max_sandboxes} sandboxes at once")
        self._starting.add(spec.sandbox_id)
        try:
            started = await asyncio.to_thread(self._backend.start, spec)
        except SandboxStartError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        finally:
            self._starting.discard(spec.sandbox_id)
        self._running[spec.sandbox_id] = started
        self._ends[spec.sandbox_id] = time.monotonic() + spec.idle_seconds + spec.limits.deadline_seconds + LIFETIME_GRACE_SECONDS
        return launcher_pb2.StartSandboxResponse()

    async def FinishSandbox(self, request, context):
        started = self._running.get(request.sandbox_id)
        if started is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"sandbox {request.sandbox_id[:80]} is not running here")
        # Never longer than the sandbox may live, whatever is asked.
        lifetime = started.spec.idle_seconds + started.spec.limits.deadline_seconds
        asked = request.deadline_seconds
        deadline = min(asked, lifetime) if math.isfinite(asked) and asked > 0 else lifetime
        try:
            result = await asyncio.to_thread(self._backend.finish, started, deadline)
        finally:
            self._running.pop(request.sandbox_id, None)
            self._ends.pop(request.sandbox_id, None)
        answer = launcher_pb2.FinishSandboxResponse(
            timed_out=result.timed_out, output=result.output, output_dropped_bytes=result.output_dropped_bytes,
            error=result.start_error or "", oom_killed=result.oom_killed,
        )
        if result.exit_code is not None:
            answer.exit_code = result.exit_code
        return answer

    async def DiscardSandbox(self, request, context):
        started = self._running.pop(request.sandbox_id, None)
        self._ends.pop(request.sandbox_id, None)
        if started is not None:
            await asyncio.to_thread(self._backend.discard, started)
        elif SANDBOX_ID.fullmatch(request.sandbox_id):  # one a previous launcher started
            await asyncio.to_thread(self._backend.remove_orphans, {SANDBOX_ID_LABEL: request.sandbox_id}, lambda labels: False)
        return launcher_pb2.DiscardSandboxResponse()

    async def GetSandboxState(self, request, context):
        started = self._running.get(request.sandbox_id)
        running = started is not None and await asyncio.to_thread(self._backend.is_running, started)
        return launcher_pb2.GetSandboxStateResponse(running=running)

    async def ListSandboxes(self, request, context):
        found: list[dict[str, str]] = []
        # Keeps every sandbox (the client decides which are orphans) but those past their
        # deadline label, which nobody may keep.
        await asyncio.to_thread(self._backend.remove_orphans, dict(request.scope), lambda labels: found.append(labels) or True)
        return launcher_pb2.ListSandboxesResponse(sandboxes=[launcher_pb2.SandboxLabels(labels=labels) for labels in found])

    async def InspectImage(self, request, context):
        image = await _answer(context, self._checked_image, request.image)
        try:
            info = await asyncio.to_thread(self._backend.inspect_image, image)
        except LookupError as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        return launcher_pb2.InspectImageResponse(image_id=info.image_id, labels=info.labels, entrypoint=info.entrypoint)


def _invalid(message: str) -> Refusal:
    return Refusal(grpc.StatusCode.INVALID_ARGUMENT, message)


def _bounded_string(value: str, field: str) -> str:
    if len(value) > MAX_STRING or "\0" in value:
        raise _invalid(f"{field}: at most {MAX_STRING} characters, no NUL")
    return value


class UnexpectedErrors(grpc.aio.ServerInterceptor):
    """A failure nobody foresaw (an engine or kernel error) answers INTERNAL naming the call
    and the system's reason, and is logged; never UNKNOWN with a Python class name."""

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        call = handler_call_details.method.rsplit("/", 1)[-1]
        inner = handler.unary_unary

        async def guarded(request, context):
            try:
                return await inner(request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:  # noqa: BLE001 — answered, and logged with its traceback
                log.exception("%s failed", call)
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                await context.abort(grpc.StatusCode.INTERNAL, f"{call} failed in the launcher: {reason[:200]}; see the launcher's log")

        return grpc.unary_unary_rpc_method_handler(
            guarded, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer,
        )


async def _answer(context, check, *args):
    try:
        return check(*args)
    except Refusal as refusal:
        await context.abort(refusal.code, str(refusal))


def prepare_root(path: Path, mode: int, group: int | None = None) -> Path:
    """Makes (or takes) a root-owned directory, after checking that nobody else can move
    it or anything above it (so no link stands in for it when it is changed)."""
    path = path.absolute()
    path.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or not path.is_dir():
        raise ValueError(f"{path} must be a directory, not a link")
    check_only_root_can_move(path, ancestors_only=True)
    os.chown(path, 0, group if group is not None else 0, follow_symlinks=False)
    os.chmod(path, mode, follow_symlinks=False)
    check_only_root_can_move(path)
    return path


def grpc_server(launcher: Launcher) -> grpc.aio.Server:
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 1 << 20)], interceptors=[UnexpectedErrors()])
    launcher_pb2_grpc.add_SandboxLauncherServicer_to_server(launcher, server)
    return server


async def serve(launcher: Launcher, socket_path: Path, client_gid: int) -> None:
    """Serves until SIGTERM/SIGINT on `socket_path`, inside a directory only root and the
    orchestrator's group may enter."""
    prepare_root(socket_path.parent, 0o750, group=client_gid)
    socket_path.unlink(missing_ok=True)
    # Each running sandbox holds a thread (FinishSandbox waits for it), so the default pool
    # (cores + 4) would make starts queue behind long runs.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="launcher"))
    server = grpc_server(launcher)
    server.add_insecure_port(f"unix:{socket_path}")
    await server.start()
    os.chown(socket_path, 0, client_gid)
    os.chmod(socket_path, 0o660)
    print(f"launcher listening on unix:{socket_path}", flush=True)
    sweeping = asyncio.create_task(_sweep(launcher))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    sweeping.cancel()
    await server.stop(grace=1)
    await asyncio.to_thread(launcher.discard_all)


async def _sweep(launcher: Launcher) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await asyncio.to_thread(launcher.discard_overdue)
        except Exception:  # noqa: BLE001 — an engine hiccup must not end the sweeping
            log.exception("sweeping overdue sandboxes failed; trying again")
