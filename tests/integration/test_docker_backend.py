"""The Docker backend's promises, checked on a real engine: the container is created
locked down, a run past its deadline is killed, output is bounded, nothing is left behind."""

from __future__ import annotations

import base64
import hashlib
import io
import time

import docker
import pytest

from sandbox_runner.host.backend import SELF_KILL_GRACE_SECONDS, SandboxLimits, SandboxSpec, run_sandbox
from sandbox_runner.host.docker_backend import MANAGED_LABEL, DockerBackend


def image_with_entrypoint(client, base_image: str, name: str, code: str) -> str:
    """A throwaway image FROM the base image whose in-image entrypoint module runs `code`
    (the backend always starts `python3 -m sandbox_runner.inside.entrypoint`)."""
    tag = f"corral-test-{name}:{hashlib.sha256((base_image + code).encode()).hexdigest()[:12]}"
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        target = "/opt/corral/lib/sandbox_runner/inside/entrypoint.py"
        encoded = base64.b64encode(code.encode()).decode()
        dockerfile = f"FROM {base_image}\nUSER 0\nRUN echo {encoded} | base64 -d > {target}\nUSER 65534:65534\n"
        client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, network_mode="none")
    return tag


def spec(image: str, socket_dir, labels: dict | None = None, **limits) -> SandboxSpec:
    return SandboxSpec(
        image=image, command=["run"], socket_dir=socket_dir, limits=SandboxLimits(**limits), labels={"org.corral.test": "1", **(labels or {})}
    )


def leftover_containers(client) -> list:
    return client.containers.list(all=True, filters={"label": "org.corral.test=1"})


@pytest.fixture(params=[None, "runsc"], ids=["runc", "gvisor"])
def backend(request, docker_client) -> DockerBackend:
    return DockerBackend(docker_client, runtime=request.param)


def test_container_is_created_locked_down(docker_client, backend, base_image, tmp_path):
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
        assert host["NanoCpus"] == 250_000_000
        ulimits = {u["Name"]: u["Hard"] for u in host["Ulimits"]}
        if backend._runtime == "runsc":  # gVisor: processes limited by RLIMIT_NPROC inside the sandbox
            assert ulimits["nproc"] == 32 and not host.get("PidsLimit")
        else:
            assert host["PidsLimit"] == 32
        assert ulimits["nofile"] == 256 and ulimits["fsize"] == 64 * 2**20 and ulimits["core"] == 0
        assert container.attrs["Config"]["Entrypoint"][:3] == ["python3", "-I", "/opt/corral/lib/sandbox_runner/inside/watchdog.py"]
        assert "noexec" in host["Tmpfs"]["/tmp"]
        assert not host.get("Devices")
        assert container.attrs["Config"]["User"] == "65534:65534"
        mounts = container.attrs["Mounts"]
        assert [(m["Source"], m["Destination"], m["RW"]) for m in mounts] == [(str(tmp_path), "/run/corral", False)]
        assert container.labels[MANAGED_LABEL] == "1"
    finally:
        container.remove(force=True)


def test_run_past_deadline_is_killed_and_removed(docker_client, backend, base_image, tmp_path):
    sleeper = image_with_entrypoint(docker_client, base_image, "sleeper", "import time; print('sleeping', flush=True); time.sleep(600)")
    result = run_sandbox(backend, spec(sleeper, tmp_path, deadline_seconds=2))
    assert result.timed_out
    assert "sleeping" in result.output
    assert leftover_containers(docker_client) == []


def test_output_is_bounded_and_the_rest_counted(docker_client, backend, base_image, tmp_path):
    flood = image_with_entrypoint(docker_client, base_image, "flood", "import sys; sys.stdout.write('x' * 300000)")
    result = run_sandbox(backend, spec(flood, tmp_path, output_bytes=4096))
    assert result.exit_code == 0 and not result.timed_out
    assert len(result.output) == 4096
    if backend._runtime == "runsc":
        # gVisor can lose the tail of a stream written just before exit: the count is
        # a lower bound there, exact under runc.
        assert 0 < result.output_dropped_bytes <= 300000 - 4096
    else:
        assert result.output_dropped_bytes == 300000 - 4096
    assert leftover_containers(docker_client) == []


def test_memory_limit_kills_a_memory_bomb(docker_client, backend, base_image, tmp_path):
    bomb = image_with_entrypoint(docker_client, base_image, "membomb", "b = []\nwhile True: b.append(bytearray(16 * 2**20))")
    result = run_sandbox(backend, spec(bomb, tmp_path, memory_mb=64))
    assert result.oom_killed


def test_missing_image_is_a_start_error_not_a_crash(docker_client, tmp_path):
    result = run_sandbox(DockerBackend(docker_client), spec("corral-no-such-image:0", tmp_path))
    assert result.start_error and "could not create" in result.start_error


def test_sandbox_kills_itself_when_nobody_is_watching(docker_client, base_image, tmp_path):
    """An orchestrator that crashed cannot kill its sandbox; the in-sandbox watchdog does."""
    sleeper = image_with_entrypoint(docker_client, base_image, "sleeper", "import time; time.sleep(600)")
    options = DockerBackend(docker_client).container_options(spec(sleeper, tmp_path, deadline_seconds=1))
    container = docker_client.containers.create(**options)
    try:
        container.start()  # and nobody waits for it
        status = container.wait(timeout=30)
        assert status["StatusCode"] == 137  # the watchdog ended it, 1 s + grace
    finally:
        container.remove(force=True)


def test_orphans_are_removed_and_live_sandboxes_kept(docker_client, base_image, tmp_path):
    sleeper = image_with_entrypoint(docker_client, base_image, "sleeper", "import time; time.sleep(600)")
    backend = DockerBackend(docker_client)

    def create(role: str, deadline: float):
        return docker_client.containers.create(**backend.container_options(spec(sleeper, tmp_path, {"role": role}, deadline_seconds=deadline)))

    live, orphan, overdue = create("live", 300), create("orphan", 300), create("live", 0.001)
    # Another installation's sandbox, orphaned and overdue as far as this one can tell.
    foreign = docker_client.containers.create(
        **backend.container_options(spec(sleeper, tmp_path, {"org.corral.test": "other-installation"}, deadline_seconds=0.001))
    )
    time.sleep(SELF_KILL_GRACE_SECONDS + 1.5)  # `overdue` is now past its deadline label
    try:
        removed = backend.remove_orphans({"org.corral.test": "1"}, lambda labels: labels.get("role") == "live")
        remaining = {c.id for c in leftover_containers(docker_client)}
        assert remaining == {live.id}
        assert removed == 2 and orphan.id not in remaining and overdue.id not in remaining
        foreign.reload()  # still there: raises NotFound otherwise
    finally:
        for c in [*leftover_containers(docker_client), foreign]:
            c.remove(force=True)
