"""The Docker backend's promises, checked on a real engine: the container is created
locked down, a run past its deadline is killed, output is bounded, nothing is left behind."""

from __future__ import annotations

import io
import json

import docker

from sandbox_runner.backend import SandboxLimits, SandboxSpec
from sandbox_runner.docker_backend import MANAGED_LABEL, DockerBackend


def image_with_entrypoint(client, base_image: str, name: str, code: str) -> str:
    """A throwaway image FROM the base image whose entrypoint runs `code`."""
    tag = f"corral-test-{name}:{abs(hash((base_image, code))) % 10**12}"
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        dockerfile = f"FROM {base_image}\nENTRYPOINT {json.dumps(['python3', '-c', code])}\n"
        client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, network_mode="none")
    return tag


def spec(image: str, socket_dir, **limits) -> SandboxSpec:
    return SandboxSpec(image=image, command=["run"], socket_dir=socket_dir, limits=SandboxLimits(**limits), labels={"org.corral.test": "1"})


def leftover_containers(client) -> list:
    return client.containers.list(all=True, filters={"label": "org.corral.test=1"})


def test_container_is_created_locked_down(docker_client, base_image, tmp_path):
    backend = DockerBackend(docker_client)
    container = docker_client.containers.create(**backend.container_options(spec(base_image, tmp_path, memory_mb=128, pids=32, cpus=0.25)))
    try:
        host = container.attrs["HostConfig"]
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
        assert host["SecurityOpt"] == ["no-new-privileges"]
        assert host["Privileged"] is False
        assert host["IpcMode"] == "private"
        assert host["Memory"] == 128 * 2**20 and host["MemorySwap"] == 128 * 2**20
        assert host["PidsLimit"] == 32 and host["NanoCpus"] == 250_000_000
        assert "noexec" in host["Tmpfs"]["/tmp"]
        assert not host.get("Devices")
        assert container.attrs["Config"]["User"] == "65534:65534"
        mounts = container.attrs["Mounts"]
        assert [(m["Source"], m["Destination"]) for m in mounts] == [(str(tmp_path), "/run/corral")]
        assert container.labels[MANAGED_LABEL] == "1"
    finally:
        container.remove(force=True)


def test_run_past_deadline_is_killed_and_removed(docker_client, base_image, tmp_path):
    sleeper = image_with_entrypoint(docker_client, base_image, "sleeper", "import time; print('sleeping', flush=True); time.sleep(600)")
    result = DockerBackend(docker_client).run(spec(sleeper, tmp_path, deadline_seconds=2))
    assert result.timed_out
    assert "sleeping" in result.output
    assert leftover_containers(docker_client) == []


def test_output_is_bounded_and_the_rest_counted(docker_client, base_image, tmp_path):
    flood = image_with_entrypoint(docker_client, base_image, "flood", "import sys; sys.stdout.write('x' * 300000)")
    result = DockerBackend(docker_client).run(spec(flood, tmp_path, output_bytes=4096))
    assert result.exit_code == 0 and not result.timed_out
    assert len(result.output) == 4096
    assert result.output_dropped_bytes == 300000 - 4096
    assert leftover_containers(docker_client) == []


def test_memory_limit_kills_a_memory_bomb(docker_client, base_image, tmp_path):
    bomb = image_with_entrypoint(docker_client, base_image, "membomb", "b = []\nwhile True: b.append(bytearray(16 * 2**20))")
    result = DockerBackend(docker_client).run(spec(bomb, tmp_path, memory_mb=64))
    assert result.oom_killed


def test_missing_image_is_a_start_error_not_a_crash(docker_client, tmp_path):
    result = DockerBackend(docker_client).run(spec("corral-no-such-image:0", tmp_path))
    assert result.start_error and "could not create" in result.start_error
