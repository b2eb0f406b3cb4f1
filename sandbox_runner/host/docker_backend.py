"""Docker backend: one locked-down container per execution.

Every run gets: no network at all (`network_mode="none"`), a read-only root, a small
noexec tmpfs for /tmp, the unprivileged user 65534, every capability dropped,
no-new-privileges, Docker's default seccomp profile, private IPC, no devices, memory
(swap off), CPU, pids and file limits, and exactly one host mount — the execution's
socket directory, read-only. Output is read from the attach stream and bounded; the
engine keeps no log file. The container is removed afterwards; past its deadline it is
killed first, and a watchdog (PID 1) ends it from inside if nobody is watching.

`runtime="runsc"` runs the same containers under gVisor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
from docker.types import LogConfig, Mount, Ulimit

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
    Isolation,
    SandboxResult,
    SandboxSpec,
    SandboxStartError,
    StartedSandbox,
)

GVISOR_RUNTIME = "runsc"


class DockerBackend:
    def __init__(self, client: docker.DockerClient | None = None, runtime: str | None = None) -> None:
        self._client = client or docker.from_env()
        # None = the engine's default (runc); "runsc" = gVisor.
        self._runtime = runtime

    def inspect_image(self, image: str) -> ImageInfo:
        try:
            found = self._client.images.get(image)
        except (docker.errors.ImageNotFound, docker.errors.APIError):
            raise LookupError(f"image {image!r} is not known to the Docker engine; build it with `corral build`") from None
        config = found.attrs.get("Config") or {}
        return ImageInfo(image_id=found.id, labels=dict(found.labels or {}), entrypoint=list(config.get("Entrypoint") or []))

    def container_options(self, spec: SandboxSpec, isolation: Isolation = ISOLATION) -> dict:
        isolation.require("docker", network=False, read_only_root=True, capabilities=(), no_new_privileges=True, private_ipc=True,
                          core_dumps=False)
        limits = spec.limits
        self_kill_after = int(spec.idle_seconds + limits.deadline_seconds) + SELF_KILL_GRACE_SECONDS
        ulimits = [
            Ulimit(name="nofile", soft=limits.nofile, hard=limits.nofile),
            Ulimit(name="fsize", soft=limits.fsize_mb * 2**20, hard=limits.fsize_mb * 2**20),
            Ulimit(name="core", soft=0, hard=0),  # isolation.core_dumps
        ]
        pids_limit: int | None = limits.pids
        if self._runtime == GVISOR_RUNTIME:
            # gVisor's own threads count against a pids cgroup, and a tight one kills the
            # sandbox (HOST-NOTES); inside gVisor RLIMIT_NPROC is per sandbox, so use it.
            ulimits.append(Ulimit(name="nproc", soft=limits.pids, hard=limits.pids))
            pids_limit = None
        return dict(
            image=spec.image,
            # The watchdog as PID 1: the sandbox ends itself past its deadline even if the
            # orchestrator that should kill it has crashed.
            entrypoint=[*WATCHDOG, str(self_kill_after), "--", *ENTRYPOINT],
            command=spec.command,
            environment=spec.environment,
            labels={
                MANAGED_LABEL: "1",
                SANDBOX_ID_LABEL: spec.sandbox_id,
                DEADLINE_LABEL: str(int(time.time() + self_kill_after)),
                **spec.labels,
            },
            user=f"{isolation.uid}:{isolation.gid}",
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": f"rw,{isolation.tmp_mount_options},size={limits.tmpfs_mb}m,mode=1777"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ipc_mode="private",
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=pids_limit,
            ulimits=ulimits,
            mounts=[Mount(target=isolation.socket_dir, source=str(spec.socket_dir), type="bind", read_only=True)],
            log_config=LogConfig(type="none"),
            runtime=self._runtime,
            detach=True,
        )

    def start(self, spec: SandboxSpec) -> StartedSandbox:
        try:
            container = self._client.containers.create(**self.container_options(spec))
        except docker.errors.DockerException as exc:
            raise SandboxStartError(f"could not create the sandbox: {exc}") from None
        try:
            output = BoundedOutput(spec.limits.output_bytes)
            # Attach before start: following logs after start can miss the tail of a
            # short-lived container's output.
            stream = container.attach(stdout=True, stderr=True, stream=True, logs=False)
            container.start()
        except docker.errors.DockerException as exc:
            _remove(container)
            raise SandboxStartError(f"could not start the sandbox: {exc}") from None
        reader = threading.Thread(target=output.consume, args=(stream,), daemon=True)
        reader.start()
        return StartedSandbox(spec=spec, handle=_Running(container, output, reader))

    def finish(self, sandbox: StartedSandbox, deadline_seconds: float) -> SandboxResult:
        running: _Running = sandbox.handle
        container = running.container
        try:
            timed_out = False
            try:
                status = container.wait(timeout=deadline_seconds)
                exit_code = status.get("StatusCode")
            except Exception:  # requests' ReadTimeout: the deadline passed
                timed_out = True
                _kill(container)
                exit_code = container.wait(timeout=30).get("StatusCode")
            running.reader.join(timeout=5)
            container.reload()
            oom_killed = bool(container.attrs["State"].get("OOMKilled"))
            return SandboxResult(exit_code, timed_out, running.output.text(), running.output.dropped, oom_killed=oom_killed)
        except docker.errors.DockerException as exc:
            return SandboxResult(exit_code=None, timed_out=False, output="", start_error=f"sandbox failed: {exc}")
        finally:
            _remove(container)

    def discard(self, sandbox: StartedSandbox) -> None:
        _remove(sandbox.handle.container)

    def is_running(self, sandbox: StartedSandbox) -> bool:
        try:
            sandbox.handle.container.reload()
        except docker.errors.NotFound:
            return False
        return sandbox.handle.container.status == "running"

    def remove_orphans(self, scope: dict[str, str], is_live: Callable[[dict[str, str]], bool]) -> int:
        removed = 0
        now = time.time()
        selector = [f"{MANAGED_LABEL}=1", *(f"{key}={value}" for key, value in scope.items())]
        # ignore_removed: a container removed between the listing and its inspection (an
        # execution finishing meanwhile) is simply gone, not an error.
        for container in self._client.containers.list(all=True, filters={"label": selector}, ignore_removed=True):
            labels = container.labels or {}
            overdue = int(labels.get(DEADLINE_LABEL, "0") or 0) < now
            if overdue or not is_live(labels):
                _remove(container)
                removed += 1
        return removed


def _kill(container) -> None:
    try:
        container.kill()
    except docker.errors.APIError:
        pass  # already exited


def _remove(container) -> None:
    try:
        container.remove(force=True, v=True)  # with any anonymous volume its image declared
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if "already in progress" not in str(exc):
            raise


@dataclass
class _Running:
    container: Any
    output: BoundedOutput
    reader: threading.Thread
