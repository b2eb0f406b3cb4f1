"""What the launcher refuses before any sandbox exists: every field of a start request is
checked against the launcher's own rules, and the error names the field."""

from __future__ import annotations

import json
import os

import grpc
import pytest

from corral.v1 import launcher_pb2 as pb
from sandbox_runner.launcher import Launcher, Refusal, check_only_root_can_move
from sandbox_runner.socket_dirs import PREFIX

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
    ({"environment": {"BIG": "x" * 5000}}, grpc.StatusCode.INVALID_ARGUMENT, "environment.BIG"),
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
