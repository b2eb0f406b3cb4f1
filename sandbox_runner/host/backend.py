"""The interface between the orchestrator and a sandbox backend.

A backend turns a `SandboxSpec` into one isolated run and returns a `SandboxResult`.
It sees an image, a command, a directory holding the execution's socket, limits and
labels — nothing about sessions, chains or keys — so a bubblewrap or Kubernetes
backend implements the same three methods and nothing else changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from corral.limits import OUTPUT_BYTES_DEFAULT
from sandbox_runner.inside.contract import (  # noqa: F401 — the host's names for the contract
    DOORBELL_NAME,
    EGRESS_CA_NAME,
    EGRESS_SOCKET_NAME,
    ENTRYPOINT,
    SANDBOX_SOCKET_DIR,
    SOCKET_NAME,
    WAIT_FOR_SOCKET_ENV,
    WATCHDOG,
)


@dataclass(frozen=True)
class Isolation:
    """What every sandbox is promised, whatever the backend, as one value (restrictions as
    data, as the Temporal SDK keeps its sandbox restrictions apart from the runner). Each
    backend translates it into its own terms (`docker_backend.container_options`,
    `bwrap_backend`'s argv) and refuses to start a sandbox it could not honour it for.
    SECURITY.md lists each promise with the isolation case that tries to break it."""

    # The unprivileged user agent code runs as ("nobody"), with no supplementary groups.
    uid: int = 65534
    gid: int = 65534
    # No network interface but loopback: the execution's socket is the only way out.
    network: bool = False
    read_only_root: bool = True
    # Every capability dropped, and no way to gain privileges (setuid, file capabilities).
    capabilities: tuple[str, ...] = ()
    no_new_privileges: bool = True
    private_ipc: bool = True
    # /tmp: writable, bounded (`SandboxLimits.tmpfs_mb`), never executable.
    tmp_mount_options: str = "noexec,nosuid,nodev"
    # The execution's socket directory, the only host path inside, read-only.
    socket_dir: str = SANDBOX_SOCKET_DIR
    core_dumps: bool = False

    def require(self, backend: str, **supported: object) -> None:
        """Raises unless every promise is the value `backend` implements (a changed promise
        must change every backend, not weaken one silently)."""
        for name, value in supported.items():
            if getattr(self, name) != value:
                raise ValueError(f"the {backend} backend cannot honour isolation.{name} = {getattr(self, name)!r}")


ISOLATION = Isolation()
# The names the host uses for the sandbox user (socket ownership).
SANDBOX_UID = ISOLATION.uid
SANDBOX_GID = ISOLATION.gid
# The watchdog ends a sandbox SELF_KILL_GRACE_SECONDS after the orchestrator would have.
SELF_KILL_GRACE_SECONDS = 5

# Labels every sandbox carries, so orphans can be found and owners identified.
MANAGED_LABEL = "org.corral.managed"
SANDBOX_ID_LABEL = "org.corral.sandbox-id"
DEADLINE_LABEL = "org.corral.deadline"


@dataclass(frozen=True)
class SandboxLimits:
    memory_mb: int = 256
    cpus: float = 0.5
    pids: int = 64
    tmpfs_mb: int = 64
    deadline_seconds: float = 120.0
    # Bytes of stdout+stderr kept; the rest is dropped and counted.
    output_bytes: int = OUTPUT_BYTES_DEFAULT
    # Open files per process, and the largest file a process may write.
    nofile: int = 256
    fsize_mb: int = 64

    def at_most(self, **asked: float | int | None) -> SandboxLimits:
        """These limits lowered to what an agent asks for; never raised above them."""
        lowered = {name: min(getattr(self, name), value) for name, value in asked.items() if value is not None}
        return replace(self, **lowered)


@dataclass(frozen=True)
class SandboxSpec:
    image: str
    command: list[str]
    socket_dir: Path
    # Unique per sandbox; carried as SANDBOX_ID_LABEL so the owner can tell its own.
    sandbox_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    environment: dict[str, str] = field(default_factory=dict)
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    # Identify what owns the sandbox (e.g. execution id) for orphan clean-up.
    labels: dict[str, str] = field(default_factory=dict)
    # Pre-started sandboxes wait this long for their socket before the deadline counts.
    idle_seconds: float = 0.0


@dataclass
class StartedSandbox:
    """A sandbox that is running; `finish` waits for it and cleans it up."""

    spec: SandboxSpec
    # The backend's own handle (a container, a process).
    handle: Any


@dataclass(frozen=True)
class SandboxResult:
    exit_code: int | None
    timed_out: bool
    output: str
    output_dropped_bytes: int = 0
    # Set when the sandbox could not be started at all.
    start_error: str | None = None
    # The kernel's OOM killer ended a process of the sandbox.
    oom_killed: bool = False


@dataclass(frozen=True)
class ImageInfo:
    image_id: str
    labels: dict[str, str]
    entrypoint: list[str]


class SandboxStartError(Exception):
    pass


class SandboxBackend(Protocol):
    def start(self, spec: SandboxSpec) -> StartedSandbox:
        """Creates and starts the sandbox; raises SandboxStartError."""
        ...

    def finish(self, sandbox: StartedSandbox, deadline_seconds: float) -> SandboxResult:
        """Waits up to `deadline_seconds` for the sandbox to end (then kills it), collects
        its output, and removes it. Always cleans up."""
        ...

    def discard(self, sandbox: StartedSandbox) -> None:
        """Kills and removes a sandbox without waiting (an unused pooled one)."""
        ...

    def is_running(self, sandbox: StartedSandbox) -> bool:
        ...

    def inspect_image(self, image: str) -> ImageInfo:
        """The image's content id, labels and entrypoint; raises LookupError if it does not exist."""
        ...

    def remove_orphans(self, scope: dict[str, str], is_live: Callable[[dict[str, str]], bool]) -> int:
        """Among the managed sandboxes carrying all the `scope` labels, removes those
        whose labels `is_live` rejects and those past their deadline label; returns how
        many were removed. Sandboxes outside the scope (another installation's) are
        never touched."""
        ...


class BoundedOutput:
    """Keeps the first `limit` bytes of a sandbox's output and counts the rest; `consume`
    reads an iterable of byte chunks to its end (run it in a thread)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._kept = bytearray()
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        room = self._limit - len(self._kept)
        self._kept += chunk[:room] if room > 0 else b""
        self.dropped += max(0, len(chunk) - max(room, 0))

    def consume(self, chunks) -> None:
        try:
            for chunk in chunks:
                self.feed(chunk)
        except Exception:  # the stream broke as the sandbox went away: keep what arrived
            pass

    def text(self) -> str:
        return self._kept.decode("utf-8", errors="replace")


def run_sandbox(backend: SandboxBackend, spec: SandboxSpec,
                running: Callable[[StartedSandbox | None], None] = lambda sandbox: None) -> SandboxResult:
    """Starts a sandbox and finishes it: one cold run. `running` is told the sandbox while it
    runs, then None (so its owner can end it early)."""
    try:
        started = backend.start(spec)
    except SandboxStartError as exc:
        return SandboxResult(exit_code=None, timed_out=False, output="", start_error=str(exc))
    running(started)
    try:
        return backend.finish(started, spec.limits.deadline_seconds)
    finally:
        running(None)
