"""Docker backend: one locked-down container per execution.

Every run gets: no network at all (`network_mode="none"`), a read-only root, a small
noexec tmpfs for /tmp, the unprivileged user 65534, every capability dropped,
no-new-privileges, Docker's default seccomp profile, private IPC, memory (swap off),
CPU and pids limits, and exactly one host mount: the execution's socket directory.
The container is removed afterwards; past its deadline it is killed first.
"""

from __future__ import annotations

import threading

import docker
import docker.errors
from docker.types import LogConfig, Mount

from sandbox_runner.backend import (
    SANDBOX_GID,
    SANDBOX_SOCKET_DIR,
    SANDBOX_UID,
    SandboxResult,
    SandboxSpec,
)

MANAGED_LABEL = "org.corral.managed"


class DockerBackend:
    def __init__(self, client: docker.DockerClient | None = None, runtime: str | None = None) -> None:
        self._client = client or docker.from_env()
        # None = the engine's default (runc); "runsc" = gVisor.
        self._runtime = runtime

    def image_labels(self, image: str) -> tuple[str, dict[str, str]]:
        try:
            found = self._client.images.get(image)
        except docker.errors.ImageNotFound:
            raise LookupError(f"image {image!r} is not known to the Docker engine; build it with `corral build`") from None
        return found.id, dict(found.labels or {})

    def container_options(self, spec: SandboxSpec) -> dict:
        limits = spec.limits
        return dict(
            image=spec.image,
            command=spec.command,
            environment=spec.environment,
            labels={MANAGED_LABEL: "1", **spec.labels},
            user=f"{SANDBOX_UID}:{SANDBOX_GID}",
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": f"rw,noexec,nosuid,nodev,size={limits.tmpfs_mb}m,mode=1777"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ipc_mode="private",
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            mounts=[Mount(target=SANDBOX_SOCKET_DIR, source=str(spec.socket_dir), type="bind", read_only=False)],
            # Output is read from the attach stream; the engine keeps no log file an
            # output flood could grow on the host's disk.
            log_config=LogConfig(type="none"),
            runtime=self._runtime,
            detach=True,
        )

    def run(self, spec: SandboxSpec) -> SandboxResult:
        try:
            container = self._client.containers.create(**self.container_options(spec))
        except docker.errors.DockerException as exc:
            return SandboxResult(exit_code=None, timed_out=False, output="", start_error=f"could not create the sandbox: {exc}")
        try:
            output = _BoundedOutput(spec.limits.output_bytes)
            # Attach before start: following logs after start can miss the tail of a
            # short-lived container's output.
            stream = container.attach(stdout=True, stderr=True, stream=True, logs=False)
            container.start()
            reader = threading.Thread(target=output.consume, args=(stream,), daemon=True)
            reader.start()
            timed_out = False
            try:
                status = container.wait(timeout=spec.limits.deadline_seconds)
                exit_code = status.get("StatusCode")
            except Exception:  # requests' ReadTimeout: the deadline passed
                timed_out = True
                _kill(container)
                exit_code = container.wait(timeout=30).get("StatusCode")
            reader.join(timeout=5)
            return SandboxResult(exit_code, timed_out, output.text(), output.dropped)
        except docker.errors.DockerException as exc:
            return SandboxResult(exit_code=None, timed_out=False, output="", start_error=f"sandbox failed: {exc}")
        finally:
            try:
                container.remove(force=True)
            except docker.errors.DockerException:
                pass


def _kill(container) -> None:
    try:
        container.kill()
    except docker.errors.APIError:
        pass  # already exited


class _BoundedOutput:
    """Keeps the first `limit` bytes of a container's output and counts the rest."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._kept = bytearray()
        self.dropped = 0

    def consume(self, stream) -> None:
        try:
            for chunk in stream:
                room = self._limit - len(self._kept)
                self._kept += chunk[:room] if room > 0 else b""
                self.dropped += max(0, len(chunk) - max(room, 0))
        except docker.errors.DockerException:
            pass

    def text(self) -> str:
        return self._kept.decode("utf-8", errors="replace")
