"""cgroup v1 limits for the bubblewrap backend: memory (swap included where accounted),
CPU quota and a process count, one group per sandbox in each controller.

This host kind offers writable v1 hierarchies (memory, cpu, pids) and no v2 controllers;
the paths are never assumed to be v2 `memory.max`-style files.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu", "pids")
PARENT = "corral"


class CgroupError(RuntimeError):
    pass


class SandboxCgroup:
    def __init__(self, name: str) -> None:
        self.paths = {c: ROOT / c / PARENT / name for c in CONTROLLERS}

    def create(self, memory_mb: int, cpus: float, pids: int) -> None:
        for controller, path in self.paths.items():
            if not path.parent.parent.is_dir():
                raise CgroupError(f"cgroup v1 controller {controller} is not mounted at {path.parent.parent}")
            path.mkdir(parents=True, exist_ok=True)
        memory = self.paths["memory"]
        _write(memory / "memory.limit_in_bytes", memory_mb * 2**20)
        if (memory / "memory.memsw.limit_in_bytes").exists():
            _write(memory / "memory.memsw.limit_in_bytes", memory_mb * 2**20)  # swap off
        _write(self.paths["cpu"] / "cpu.cfs_period_us", 100_000)
        _write(self.paths["cpu"] / "cpu.cfs_quota_us", int(cpus * 100_000))
        _write(self.paths["pids"] / "pids.max", pids)

    def procs_files(self) -> list[Path]:
        """The files a process writes its pid to, to move itself into every controller
        (the bubblewrap backend writes bwrap's and its sandboxed child's while that child waits)."""
        return [path / "cgroup.procs" for path in self.paths.values()]

    def pids(self) -> list[int]:
        procs = _read_if_present(self.paths["pids"] / "cgroup.procs")
        return [int(line) for line in procs.split()]

    def oom_killed(self) -> bool:
        control = _read_if_present(self.paths["memory"] / "memory.oom_control")
        fields = dict(line.split() for line in control.splitlines() if len(line.split()) == 2)
        return int(fields.get("oom_kill", 0)) > 0

    def kill_all(self) -> None:
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        self.kill_all()
        for path in self.paths.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)  # the last processes are still exiting


def _read_if_present(path: Path) -> str:
    """The file's text, or "" once its group is gone: a group removed while it is read
    (a discard racing a finish) answers ENODEV, not ENOENT."""
    try:
        return path.read_text()
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENODEV):
            return ""
        raise


def _write(path: Path, value: int) -> None:
    path.write_text(str(value))
