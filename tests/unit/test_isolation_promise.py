"""The isolation promise is one value each backend translates; a backend refuses to start a
sandbox under a promise it does not implement, instead of quietly giving less."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_runner.host import bwrap_backend
from sandbox_runner.host.backend import ISOLATION, Isolation, SandboxSpec
from sandbox_runner.host.docker_backend import DockerBackend

SPEC = SandboxSpec(image="corral-agent-x:1", command=["run"], socket_dir=Path("/run/corral-test/x"))


def test_the_docker_translation_is_the_promise():
    options = DockerBackend(client=object()).container_options(SPEC)
    assert options["user"] == f"{ISOLATION.uid}:{ISOLATION.gid}" == "65534:65534"
    assert (options["network_mode"], options["read_only"], options["cap_drop"]) == ("none", True, ["ALL"])
    assert options["security_opt"] == ["no-new-privileges"] and options["ipc_mode"] == "private"
    assert options["tmpfs"]["/tmp"].startswith("rw,noexec,nosuid,nodev,")
    [mount] = options["mounts"]
    assert (mount["Target"], mount["ReadOnly"]) == ("/run/corral", True)


@pytest.mark.parametrize("weaker", [Isolation(network=True), Isolation(read_only_root=False), Isolation(capabilities=("NET_RAW",)),
                                    Isolation(no_new_privileges=False), Isolation(core_dumps=True)])
def test_a_weaker_promise_is_refused_not_quietly_given(weaker, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="docker backend cannot honour isolation"):
        DockerBackend(client=object()).container_options(SPEC, weaker)
    monkeypatch.setattr(bwrap_backend, "ISOLATION", weaker)
    with pytest.raises(ValueError, match="bubblewrap backend cannot honour isolation"):
        bwrap_backend.BubblewrapBackend(tmp_path / "state").start(SPEC)
    assert not (tmp_path / "state").exists() or list((tmp_path / "state").iterdir()) == []  # refused before anything was made
