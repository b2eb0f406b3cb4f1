"""What the launcher refuses before any sandbox exists: every field of a start request is
checked against the launcher's own rules, and the error names the field."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import time

import grpc
import pytest

from corral.v1 import launcher_pb2 as pb
from corral.v1 import launcher_pb2_grpc
from sandbox_runner.host.backend import StartedSandbox
from sandbox_runner.host.launcher import Launcher, Refusal, check_only_root_can_move, grpc_server
from sandbox_runner.host.socket_dirs import PREFIX

SANDBOX_ID = "0123456789abcdef"
LIMITS = pb.SandboxLimits(memory_mb=128, cpus=0.5, pids=32, tmpfs_mb=8, deadline_seconds=20, output_bytes=4096, nofile=64, fsize_mb=8)


@pytest.fixture
def launcher(tmp_path):
    root = tmp_path / "sandboxes"
    root.mkdir()
    (root / f"{PREFIX}{SANDBOX_ID}").mkdir()
    images = tmp_path / "images"
    (images / "agent").mkdir(parents=True)
    (images / "agent" / "image.json").write_text(json.dumps({"rootfs": str(images / "rootfs"), "base": str(images / "base")}))
    return Launcher(backend=None, socket_root=root, client_uid=os.getuid(), client_gid=os.getgid(), image_root=images)


def request(launcher, **changes) -> pb.StartSandboxRequest:
    message = pb.StartSandboxRequest(image=str(launcher._image_root / "agent"), command=["run"], sandbox_id=SANDBOX_ID, limits=LIMITS)
    for field, value in changes.items():
        if isinstance(value, dict):
            getattr(message, field).update(value)
        elif field == "command":
            del message.command[:]
            message.command.extend(value)
        elif field == "limits":
            message.limits.CopyFrom(value)
        else:
            setattr(message, field, value)
    return message


def refusal(launcher, **changes) -> Refusal:
    with pytest.raises(Refusal) as refused:
        launcher.spec(request(launcher, **changes))
    return refused.value


def test_a_well_formed_request_becomes_the_launchers_spec(launcher):
    spec = launcher.spec(request(launcher, environment={"CORRAL_TOKEN": "t"}, labels={"org.corral.owner": "o"}))
    assert spec.socket_dir == launcher._root / f"{PREFIX}{SANDBOX_ID}" and spec.limits.memory_mb == 128


@pytest.mark.parametrize(("changes", "code", "names"), [
    ({"sandbox_id": "../../etc"}, grpc.StatusCode.INVALID_ARGUMENT, "sandbox_id"),
    ({"sandbox_id": "fedcba9876543210"}, grpc.StatusCode.FAILED_PRECONDITION, "PrepareSandboxDirectory"),
    ({"image": "/"}, grpc.StatusCode.INVALID_ARGUMENT, "image cache"),
    ({"command": []}, grpc.StatusCode.INVALID_ARGUMENT, "command"),
    ({"command": ["x"] * 17}, grpc.StatusCode.INVALID_ARGUMENT, "command"),
    ({"environment": {"LD_PRELOAD=x": "1"}}, grpc.StatusCode.INVALID_ARGUMENT, "environment"),
    ({"environment": {"CORRAL_BIG": "x" * 5000}}, grpc.StatusCode.INVALID_ARGUMENT, "environment.CORRAL_BIG"),
    ({"environment": {"PYTHONPATH": "/run/corral"}}, grpc.StatusCode.INVALID_ARGUMENT, "CORRAL_<NAME>"),
    ({"environment": {"LD_PRELOAD": "/run/corral/x.so"}}, grpc.StatusCode.INVALID_ARGUMENT, "CORRAL_<NAME>"),
    ({"labels": {f"org.corral.l{n}": "x" for n in range(9)}}, grpc.StatusCode.INVALID_ARGUMENT, "at most 8"),
    ({"labels": {"org.corral.managed": "0"}}, grpc.StatusCode.INVALID_ARGUMENT, "org.corral.managed"),
    ({"labels": {"com.docker.compose.project": "x"}}, grpc.StatusCode.INVALID_ARGUMENT, "labels"),
    ({"limits": pb.SandboxLimits(memory_mb=128, cpus=64, pids=32, tmpfs_mb=8, deadline_seconds=20, output_bytes=4096, nofile=64,
                                 fsize_mb=8)}, grpc.StatusCode.INVALID_ARGUMENT, "limits.cpus"),
    ({"limits": pb.SandboxLimits()}, grpc.StatusCode.INVALID_ARGUMENT, "limits.memory_mb"),
    ({"idle_seconds": 1e9}, grpc.StatusCode.INVALID_ARGUMENT, "idle_seconds"),
])
def test_each_field_is_checked(launcher, changes, code, names):
    refused = refusal(launcher, **changes)
    assert refused.code == code and names in str(refused), str(refused)


def test_a_bubblewrap_image_may_not_name_a_root_filesystem_outside_the_cache(launcher):
    (launcher._image_root / "agent" / "image.json").write_text(json.dumps({"rootfs": "/", "base": "/"}))
    refused = refusal(launcher)
    assert refused.code == grpc.StatusCode.INVALID_ARGUMENT and "outside the image cache" in str(refused)


def test_a_directory_another_user_can_move_is_not_a_root(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("ownership checks need root")
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o711)
    os.chown(tmp_path, 65534, 65534)  # a parent owned by someone else: they could rename `mine`
    try:
        with pytest.raises(ValueError, match="belongs to uid 65534"):
            check_only_root_can_move(mine)
    finally:
        os.chown(tmp_path, 0, 0)


@pytest.mark.parametrize("image", ["x/../../containers/abc", "../etc", "/var/lib/docker", "a b", "UPPER", "name:tag/../x"])
def test_a_docker_image_must_be_a_plain_reference(launcher, image):
    docker_launcher = Launcher(backend=None, socket_root=launcher._root, client_uid=os.getuid(), client_gid=os.getgid())
    with pytest.raises(Refusal) as refused:
        docker_launcher.spec(request(launcher, image=image))
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT and "not an image id" in str(refused.value)


@pytest.mark.parametrize("image", ["corral-agent-x:0123abcd", "registry.example:5000/team/agent:v1.2", "sha256:" + "a" * 64])
def test_plain_docker_references_are_accepted(launcher, image):
    docker_launcher = Launcher(backend=None, socket_root=launcher._root, client_uid=os.getuid(), client_gid=os.getgid())
    assert docker_launcher.spec(request(launcher, image=image)).image == image


class CountingBackend:
    """Starts nothing; remembers what it was asked to start and discard."""

    def __init__(self) -> None:
        self.discarded: list[str] = []

    def start(self, spec):
        return StartedSandbox(spec=spec, handle=spec.sandbox_id)

    def discard(self, started) -> None:
        self.discarded.append(started.handle)


class FakeContext:
    async def abort(self, code, details):
        raise Refusal(code, details)


def start(launcher, sandbox_id: str, **changes):
    (launcher._root / f"{PREFIX}{sandbox_id}").mkdir(exist_ok=True)
    message = request(launcher, sandbox_id=sandbox_id, **changes)
    return asyncio.run(launcher.StartSandbox(message, FakeContext()))


def test_the_launcher_bounds_how_many_run_and_ends_those_nobody_finishes(tmp_path, launcher):
    backend = CountingBackend()
    bounded = Launcher(backend=backend, socket_root=launcher._root, client_uid=os.getuid(), client_gid=os.getgid(),
                       image_root=launcher._image_root, max_sandboxes=2)
    start(bounded, "a" * 16)
    start(bounded, "b" * 16)
    with pytest.raises(Refusal) as full:
        start(bounded, "c" * 16)
    assert full.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "at most 2" in str(full.value)
    # Nobody finishes them: past their lifetime (20 s deadline + grace) the launcher discards them itself.
    assert bounded.discard_overdue(time.monotonic() + 10) == 0
    assert bounded.discard_overdue(time.monotonic() + 20 + 31) == 2
    assert sorted(backend.discarded) == ["a" * 16, "b" * 16]
    start(bounded, "c" * 16)  # room again


class FailingDiscardBackend(CountingBackend):
    """A discard that meets a cgroup removed under it (what a finish racing a discard did)."""

    def discard(self, sandbox):
        raise OSError(errno.ENODEV, "No such device")


def test_an_unforeseen_failure_is_answered_internal_with_the_systems_reason(tmp_path, launcher):
    failing = Launcher(backend=FailingDiscardBackend(), socket_root=launcher._root, client_uid=os.getuid(), client_gid=os.getgid(),
                       image_root=launcher._image_root)
    start(failing, "d" * 16)

    async def discard_over_the_wire() -> grpc.RpcError:
        server = grpc_server(failing)
        server.add_insecure_port(f"unix:{tmp_path}/launcher.sock")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"unix:{tmp_path}/launcher.sock") as channel:
                stub = launcher_pb2_grpc.SandboxLauncherStub(channel)
                with pytest.raises(grpc.aio.AioRpcError) as failed:
                    await stub.DiscardSandbox(pb.DiscardSandboxRequest(sandbox_id="d" * 16))
                return failed.value
        finally:
            await server.stop(None)

    error = asyncio.run(discard_over_the_wire())
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == "DiscardSandbox failed in the launcher: No such device; see the launcher's log"
