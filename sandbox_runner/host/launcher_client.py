"""The orchestrator's side of the launcher socket: a `SandboxBackend` and `SocketDirs`
whose every action is a request to the privileged launcher (`sandbox_runner/host/launcher.py`).
The orchestrator using it needs no access to the Docker socket and no root."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc

from corral.v1 import launcher_pb2, launcher_pb2_grpc
from sandbox_runner.host.backend import SANDBOX_ID_LABEL, ImageInfo, SandboxResult, SandboxSpec, SandboxStartError, StartedSandbox

TIMEOUT_SECONDS = 60
# How long past its deadline a FinishSandbox may take (kill, wait, collect, remove).
FINISH_GRACE_SECONDS = 90


class LauncherError(RuntimeError):
    """The launcher refused or could not be reached; the message says which and why."""


class LauncherClient:
    def __init__(self, socket_path: Path) -> None:
        # A finish carries the sandbox's output: up to the launcher's 4 MiB ceiling, which
        # decoding with replacement characters can triple.
        self._channel = grpc.insecure_channel(f"unix:{socket_path.absolute()}", options=[("grpc.max_receive_message_length", 16 << 20)])
        self._stub = launcher_pb2_grpc.SandboxLauncherStub(self._channel)

    def _call(self, method, request, timeout: float = TIMEOUT_SECONDS):
        try:
            return method(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise LauncherError(f"launcher: {exc.code().name}: {exc.details()}") from None

    # -- SocketDirs -----------------------------------------------------------------

    def make(self, sandbox_id: str) -> Path:
        return Path(self._call(self._stub.PrepareSandboxDirectory, launcher_pb2.PrepareSandboxDirectoryRequest(sandbox_id=sandbox_id)).path)

    def remove(self, sandbox_id: str) -> None:
        self._call(self._stub.RemoveSandboxDirectory, launcher_pb2.RemoveSandboxDirectoryRequest(sandbox_id=sandbox_id))

    def sandbox_ids(self) -> list[str]:
        return list(self._call(self._stub.ListSandboxDirectories, launcher_pb2.ListSandboxDirectoriesRequest()).sandbox_ids)

    # -- SandboxBackend ---------------------------------------------------------------

    def start(self, spec: SandboxSpec) -> StartedSandbox:
        limits = spec.limits
        request = launcher_pb2.StartSandboxRequest(
            image=spec.image, command=spec.command, sandbox_id=spec.sandbox_id, environment=spec.environment,
            labels=spec.labels, idle_seconds=spec.idle_seconds,
            limits=launcher_pb2.SandboxLimits(
                memory_mb=limits.memory_mb, cpus=limits.cpus, pids=limits.pids, tmpfs_mb=limits.tmpfs_mb,
                deadline_seconds=limits.deadline_seconds, output_bytes=limits.output_bytes, nofile=limits.nofile, fsize_mb=limits.fsize_mb,
            ),
        )
        try:
            self._stub.StartSandbox(request, timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            raise SandboxStartError(f"launcher: {exc.details()}") from None
        return StartedSandbox(spec=spec, handle=spec.sandbox_id)

    def finish(self, sandbox: StartedSandbox, deadline_seconds: float) -> SandboxResult:
        request = launcher_pb2.FinishSandboxRequest(sandbox_id=sandbox.handle, deadline_seconds=deadline_seconds)
        try:
            done = self._stub.FinishSandbox(request, timeout=deadline_seconds + FINISH_GRACE_SECONDS)
        except grpc.RpcError as exc:
            return SandboxResult(exit_code=None, timed_out=False, output="", start_error=f"launcher: {exc.details()}")
        return SandboxResult(
            exit_code=done.exit_code if done.HasField("exit_code") else None, timed_out=done.timed_out, output=done.output,
            output_dropped_bytes=done.output_dropped_bytes, start_error=done.error or None, oom_killed=done.oom_killed,
        )

    def discard(self, sandbox: StartedSandbox) -> None:
        self._call(self._stub.DiscardSandbox, launcher_pb2.DiscardSandboxRequest(sandbox_id=sandbox.handle))

    def is_running(self, sandbox: StartedSandbox) -> bool:
        return self._call(self._stub.GetSandboxState, launcher_pb2.GetSandboxStateRequest(sandbox_id=sandbox.handle)).running

    def inspect_image(self, image: str) -> ImageInfo:
        try:
            info = self._stub.InspectImage(launcher_pb2.InspectImageRequest(image=image), timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise LookupError(exc.details()) from None
            raise LauncherError(f"launcher: {exc.code().name}: {exc.details()}") from None
        return ImageInfo(image_id=info.image_id, labels=dict(info.labels), entrypoint=list(info.entrypoint))

    def remove_orphans(self, scope: dict[str, str], is_live: Callable[[dict[str, str]], bool]) -> int:
        listed = self._call(self._stub.ListSandboxes, launcher_pb2.ListSandboxesRequest(scope=scope)).sandboxes
        removed = 0
        for sandbox in listed:
            labels = dict(sandbox.labels)
            if not is_live(labels):
                self._call(self._stub.DiscardSandbox, launcher_pb2.DiscardSandboxRequest(sandbox_id=labels.get(SANDBOX_ID_LABEL, "")))
                removed += 1
        return removed

    def close(self) -> None:
        self._channel.close()
