"""Bubblewrap backend, for hosts without a Docker daemon.

Each sandbox is a `bwrap` process, started as the unprivileged host user 65534, with:
every namespace unshared (so no network but `lo`, its own PIDs and IPC), the directory
image's root filesystem, base and agent code bound read-only, a per-sandbox noexec,
size-limited tmpfs for /tmp, the execution's socket directory bound read-only, every
capability dropped, no-new-privileges (bwrap always sets it), a seccomp filter that
allows only AF_UNIX sockets (`seccomp_filter`), cgroup v1 memory/CPU/pids limits
(`cgroups`), rlimits, and `--die-with-parent`. The sandbox's first process is the same
watchdog as in Docker, which ends it at its deadline.

The start runs no interpreter and none of our code between fork and exec (where gRPC's fork
handlers kill or hang the child, grpc/grpc#43055): Popen (vfork) executes `prlimit`, which
lowers its rlimits and executes `setpriv`, which drops to the sandbox user and executes bwrap.
bwrap reports its sandboxed child's pid (`--info-fd`) and holds it (`--block-fd`) until this
process has moved bwrap and that child into the sandbox's cgroups; only then may it go on.

Images are directories made by `sandbox_runner.host.images.build_agent_dir_image`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sandbox_runner.host.backend import (
    DEADLINE_LABEL,
    ENTRYPOINT,
    ISOLATION,
    MANAGED_LABEL,
    SANDBOX_ID_LABEL,
    SELF_KILL_GRACE_SECONDS,
    WATCHDOG,
    BoundedOutput,
    ImageInfo,
    SandboxResult,
    SandboxSpec,
    SandboxStartError,
    StartedSandbox,
)
from sandbox_runner.host.cgroups import CgroupError, SandboxCgroup
from sandbox_runner.host.image_cache import DIR_IMAGE_FILE
from sandbox_runner.host.seccomp_filter import compiled_filter_file

# bwrap's --info-fd JSON (the sandboxed child's pid), or what a failed start printed.
_INFO_MAX_BYTES = 64 * 1024
MOUNT_POINTS = ("opt/corral", "agent", "run/corral", "tmp")
BASE_ENVIRONMENT = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    # As in images/base/Dockerfile: the agent's declared dependencies after the SDK's.
    "PYTHONPATH": "/opt/corral/lib:/opt/corral/lib/sdk/compat:/opt/corral/deps:/agent/.corral/deps",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}


@dataclass
class _Process:
    process: subprocess.Popen
    cgroup: SandboxCgroup
    tmp_dir: Path
    state_file: Path
    output: BoundedOutput
    reader: threading.Thread


class BubblewrapBackend:
    def __init__(self, state_dir: Path, bwrap: str = "bwrap") -> None:
        # Per-sandbox /tmp mounts and state files (labels, for orphan clean-up). bwrap runs
        # as the sandbox user, so this directory, the socket directories and the image
        # cache must be reachable (o+x) by that user.
        self._state_dir = state_dir
        self._state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self._state_dir, 0o711)
        self._bwrap = bwrap
        # Found now, as root: the start path runs them by absolute path.
        self._prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
        self._setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"

    def inspect_image(self, image: str) -> ImageInfo:
        path = Path(image)
        try:
            meta = json.loads((path / DIR_IMAGE_FILE).read_text())
        except (OSError, ValueError):
            raise LookupError(f"{image!r} is not a directory image; build one with `corral build --dir`") from None
        return ImageInfo(image_id=str(path.resolve()), labels=dict(meta.get("labels", {})), entrypoint=list(meta.get("entrypoint", [])))

    def start(self, spec: SandboxSpec) -> StartedSandbox:
        # --unshare-all (no network), read-only binds, --cap-drop ALL, the seccomp filter
        # (no_new_privileges), RLIMIT_CORE 0: what this backend implements of the promise.
        ISOLATION.require("bubblewrap", network=False, read_only_root=True, capabilities=(), no_new_privileges=True, private_ipc=True,
                          core_dumps=False)
        image = Path(spec.image)
        try:
            meta = json.loads((image / DIR_IMAGE_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise SandboxStartError(f"not a directory image: {spec.image} ({exc})") from None
        rootfs, base = Path(meta["rootfs"]), Path(meta["base"])
        for mount_point in MOUNT_POINTS:
            (rootfs / mount_point).mkdir(parents=True, exist_ok=True)

        limits = spec.limits
        tmp_dir = self._state_dir / f"tmp-{spec.sandbox_id}"
        tmp_dir.mkdir(mode=0o700, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={limits.tmpfs_mb}m,mode=1777,{ISOLATION.tmp_mount_options}", "tmpfs", str(tmp_dir)],
            check=True, capture_output=True,
        )
        cgroup = SandboxCgroup(spec.sandbox_id)
        try:
            cgroup.create(limits.memory_mb, limits.cpus, limits.pids)
        except (CgroupError, OSError) as exc:
            _umount(tmp_dir)
            raise SandboxStartError(f"could not set up cgroup limits: {exc}") from None

        self_kill_after = int(spec.idle_seconds + limits.deadline_seconds) + SELF_KILL_GRACE_SECONDS
        labels = {MANAGED_LABEL: "1", SANDBOX_ID_LABEL: spec.sandbox_id, DEADLINE_LABEL: str(int(time.time() + self_kill_after)), **spec.labels}
        state_file = self._state_dir / f"{spec.sandbox_id}.json"
        state_file.write_text(json.dumps({"labels": labels, "tmp_dir": str(tmp_dir)}))

        environment = {**BASE_ENVIRONMENT, **spec.environment}
        seccomp = compiled_filter_file()
        # bwrap tells where its sandboxed child is (info), and that child waits (block) until
        # both are in the sandbox's cgroups: nothing of the image runs outside its limits.
        info_read, info_write = os.pipe()
        block_read, block_write = os.pipe()
        argv = [
            self._bwrap,
            "--unshare-all", "--unshare-user", "--uid", str(ISOLATION.uid), "--gid", str(ISOLATION.gid),
            "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox",
            # The watchdog is PID 1 (no bwrap reaper above it), as under Docker: a signal from
            # inside that it has no handler for, SIGSTOP or SIGKILL, is dropped by the kernel.
            "--as-pid-1",
            "--info-fd", str(info_write), "--block-fd", str(block_read),
            "--ro-bind", str(rootfs), "/",
            "--ro-bind", str(base), "/opt/corral",
            "--ro-bind", str(image / "agent"), "/agent",
            "--proc", "/proc", "--dev", "/dev",
            "--bind", str(tmp_dir), "/tmp",
            "--ro-bind", str(spec.socket_dir), ISOLATION.socket_dir,
            "--clearenv", *[arg for key, value in environment.items() for arg in ("--setenv", key, value)],
            "--chdir", "/agent",
            "--seccomp", str(seccomp.fileno()),
            "--", *WATCHDOG, str(self_kill_after), "--", *ENTRYPOINT, *spec.command,
        ]
        # The rlimits and the user change are made by two small programs that each execute the
        # next (util-linux's prlimit and setpriv), no interpreter: prlimit lowers its own limits,
        # setpriv drops to the sandbox user with no groups, and bwrap keeps both.
        launch = [
            self._prlimit, f"--nofile={limits.nofile}:{limits.nofile}", f"--fsize={limits.fsize_mb * 2**20}:{limits.fsize_mb * 2**20}",
            "--core=0:0", "--",
            self._setpriv, f"--reuid={ISOLATION.uid}", f"--regid={ISOLATION.gid}", "--clear-groups", "--", *argv,
        ]
        try:
            # No preexec_fn, user or group: Popen then uses vfork, which runs no fork
            # handlers (gRPC's abort or hang a forked child: see tests/integration/test_bwrap_backend.py).
            process = subprocess.Popen(
                launch, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                pass_fds=[seccomp.fileno(), info_write, block_read], cwd="/",
            )
        except (OSError, subprocess.SubprocessError) as exc:
            for fd in (info_read, block_write):
                os.close(fd)
            self._clean(cgroup, tmp_dir, state_file)
            raise SandboxStartError(f"could not start bwrap: {exc}") from None
        finally:
            for fd in (info_write, block_read):
                os.close(fd)
            seccomp.close()
        child: int | None = None
        try:
            child = _child_pid(info_read)
            if not isinstance(child, int):
                process.wait(timeout=30)
                said = process.stdout.read(_INFO_MAX_BYTES).decode(errors="replace").strip()
                raise SandboxStartError(f"could not start bwrap: {said or f'it exited with {process.returncode}'}")
            for procs in cgroup.procs_files():
                for pid in (process.pid, child):
                    with open(procs, "w") as f:
                        f.write(str(pid))
            os.write(block_write, b"1")  # confined: the sandbox may go on
        except BaseException as exc:
            # Both killed before the block pipe closes (below): bwrap's child goes on at end of
            # file too, and its --die-with-parent is armed only after that read, so killing bwrap
            # alone would leave the child to run on outside the cgroups it did not all enter.
            if isinstance(child, int):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            process.kill()
            process.wait(timeout=30)
            process.stdout.close()
            self._clean(cgroup, tmp_dir, state_file)
            if isinstance(exc, SandboxStartError):
                raise
            if isinstance(exc, (OSError, ValueError)):
                raise SandboxStartError(f"could not confine the sandbox: {exc}") from None
            raise
        finally:
            os.close(block_write)
        output = BoundedOutput(limits.output_bytes)
        chunks = iter(lambda: process.stdout.read1(65536), b"")
        reader = threading.Thread(target=output.consume, args=(chunks,), daemon=True)
        reader.start()
        return StartedSandbox(spec=spec, handle=_Process(process, cgroup, tmp_dir, state_file, output, reader))

    def finish(self, sandbox: StartedSandbox, deadline_seconds: float) -> SandboxResult:
        p: _Process = sandbox.handle
        timed_out = False
        try:
            p.process.wait(timeout=deadline_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            p.cgroup.kill_all()
            p.process.wait(timeout=30)
        p.reader.join(timeout=5)
        code = p.process.returncode
        exit_code = 128 - code if code < 0 else code
        oom_killed = p.cgroup.oom_killed()
        self._clean(p.cgroup, p.tmp_dir, p.state_file)
        return SandboxResult(exit_code, timed_out, p.output.text(), p.output.dropped, oom_killed=oom_killed)

    def discard(self, sandbox: StartedSandbox) -> None:
        p: _Process = sandbox.handle
        p.cgroup.kill_all()
        p.process.wait(timeout=30)
        self._clean(p.cgroup, p.tmp_dir, p.state_file)

    def is_running(self, sandbox: StartedSandbox) -> bool:
        return sandbox.handle.process.poll() is None

    def remove_orphans(self, scope: dict[str, str], is_live: Callable[[dict[str, str]], bool]) -> int:
        removed = 0
        now = time.time()
        for state_file in self._state_dir.glob("*.json"):
            try:
                state = json.loads(state_file.read_text())
            except (OSError, ValueError):
                continue
            labels = state.get("labels", {})
            if any(labels.get(key) != value for key, value in scope.items()):
                continue
            overdue = int(labels.get(DEADLINE_LABEL, "0") or 0) < now
            if overdue or not is_live(labels):
                self._clean(SandboxCgroup(labels[SANDBOX_ID_LABEL]), Path(state["tmp_dir"]), state_file)
                removed += 1
        return removed

    @staticmethod
    def _clean(cgroup: SandboxCgroup, tmp_dir: Path, state_file: Path) -> None:
        cgroup.remove()
        _umount(tmp_dir)
        state_file.unlink(missing_ok=True)


def _child_pid(info_fd: int) -> int | None:
    """The sandboxed child's pid from bwrap's --info-fd JSON, read until it parses (not to end
    of file: that child may hold the pipe until it is let go), or None if bwrap ended first."""
    received = b""
    try:
        while len(received) < _INFO_MAX_BYTES and (chunk := os.read(info_fd, 4096)):
            received += chunk
            try:
                pid = json.loads(received).get("child-pid")
            except ValueError:
                continue  # not all of it yet
            return pid if isinstance(pid, int) else None
        return None
    finally:
        os.close(info_fd)


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)
    try:
        path.rmdir()
    except OSError:
        pass
