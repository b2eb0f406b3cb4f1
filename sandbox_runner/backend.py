"""The interface between the orchestrator and a sandbox backend.

A backend turns a `SandboxSpec` into one isolated run and returns a `SandboxResult`.
It sees an image, a command, a directory holding the execution's socket, limits and
labels — nothing about sessions, chains or keys — so a Kubernetes or bubblewrap
backend can implement the same two methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# Where the execution's socket directory appears inside the sandbox.
SANDBOX_SOCKET_DIR = "/run/corral"
SOCKET_NAME = "runtime.sock"
# The unprivileged user agent code runs as ("nobody").
SANDBOX_UID = 65534
SANDBOX_GID = 65534


@dataclass(frozen=True)
class SandboxLimits:
    memory_mb: int = 256
    cpus: float = 0.5
    pids: int = 64
    tmpfs_mb: int = 64
    deadline_seconds: float = 120.0
    # Bytes of stdout+stderr kept; the rest is dropped and counted.
    output_bytes: int = 64 * 1024


@dataclass(frozen=True)
class SandboxSpec:
    image: str
    command: list[str]
    socket_dir: Path
    environment: dict[str, str] = field(default_factory=dict)
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    # Identify what owns the sandbox (e.g. execution id) for orphan clean-up.
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxResult:
    exit_code: int | None
    timed_out: bool
    output: str
    output_dropped_bytes: int = 0
    # Set when the sandbox could not be started at all.
    start_error: str | None = None

    @property
    def oom_killed(self) -> bool:
        return self.exit_code == 137 and not self.timed_out


class SandboxBackend(Protocol):
    def run(self, spec: SandboxSpec) -> SandboxResult:
        """Runs the sandbox to completion or its deadline (then kills it); always cleans up."""
        ...

    def image_labels(self, image: str) -> tuple[str, dict[str, str]]:
        """The image's content id and labels; raises LookupError if it does not exist."""
        ...
