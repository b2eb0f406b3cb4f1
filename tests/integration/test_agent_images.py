"""Agent images as authors make them: `corral new`, `corral build`, registration."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import grpc
import pytest

from corral.v1 import orchestrator_pb2 as pb
from orchestrator.agents.images import build_agent_image
from sandbox_runner.host.images import DESCRIPTION_LABEL, MANIFEST_LABEL, ensure_base_image

CORRAL = [sys.executable, "-P", "-m", "corral_cli.main"]


def corral(*args, cwd):
    return subprocess.run([*CORRAL, *args], cwd=cwd, text=True, capture_output=True)


def test_new_then_build_then_rebuild_is_a_no_op(tmp_path, docker_client, base_image):
    created = corral("new", "Grid Bot", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    agent_dir = tmp_path / "Grid Bot"
    assert {p.name for p in agent_dir.iterdir()} == {"main.py", "circuit.toml", "DESCRIPTION.md", "pyproject.toml"}
    # Images are cached by content on the host: a line of this run's own makes the first build a real one.
    with (agent_dir / "DESCRIPTION.md").open("a") as description:
        description.write(f"\n<!-- built by test run {uuid.uuid4().hex} -->\n")

    built = corral("build", str(agent_dir), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    tag = built.stdout.strip()
    image = docker_client.images.get(tag)
    assert image.labels[MANIFEST_LABEL] == (agent_dir / "circuit.toml").read_text()
    assert image.labels[DESCRIPTION_LABEL] == (agent_dir / "DESCRIPTION.md").read_text()
    assert image.attrs["Config"]["Entrypoint"] == ["python3", "-m", "sandbox_runner.inside.entrypoint"]
    assert f"image id {image.id}" in built.stderr
    # The scaffold declares a dependency and uses it: pinned with its hash, shown, installed.
    assert re.search(r"^humanize==[\d.]+ --hash=sha256:[0-9a-f]{64}$", built.stderr, re.M), built.stderr
    assert docker_client.containers.run(tag, entrypoint=["python3", "-c", "import humanize; print(humanize.intcomma(1234567))"],
                                        remove=True, network_mode="none").decode().strip() == "1,234,567"
    # The manifest is also a file in the image.
    assert docker_client.containers.run(tag, entrypoint=["cat", "/agent/circuit.toml"], remove=True, network_mode="none").decode() == (
        agent_dir / "circuit.toml"
    ).read_text()

    # Unchanged: same tag, same image, nothing rebuilt.
    assert build_agent_image(agent_dir, docker_client) == tag
    assert docker_client.images.get(tag).id == image.id
    assert ensure_base_image(docker_client) == base_image
    # Changed: a new tag.
    (agent_dir / "main.py").write_text((agent_dir / "main.py").read_text() + "\n# tweak\n")
    assert build_agent_image(agent_dir, docker_client) != tag


def test_new_refuses_an_existing_directory(tmp_path):
    (tmp_path / "taken").mkdir()
    result = corral("new", "taken", cwd=tmp_path)
    assert result.returncode == 2 and "already exists" in result.stderr


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda d: (d / "DESCRIPTION.md").unlink(), "DESCRIPTION.md is required"),
        (lambda d: (d / "circuit.toml").write_text((d / "circuit.toml").read_text().replace('version = "0.0.1"\n', "") + 'version = "0.0.2"\n'),
         "'version' is inside [network]"),  # the scaffold's last table
        (lambda d: (d / "circuit.toml").write_text((d / "circuit.toml").read_text().replace('walletType = "ethereum"', 'walletType = "tron"')),
         "walletType"),
    ],
)
def test_build_explains_a_broken_agent(tmp_path, mutate, fragment):
    assert corral("new", "agent", cwd=tmp_path).returncode == 0
    mutate(tmp_path / "agent")
    result = corral("build", "agent", cwd=tmp_path)
    assert result.returncode == 2
    assert fragment in result.stderr, result.stderr


def test_register_refuses_an_image_that_breaks_the_entrypoint_contract(stack, docker_client, tmp_path):
    """A label copied by hand is not enough: the entrypoint must be the base image's."""
    import io

    manifest = 'name = "Impostor"\nwalletType = "ethereum"\n'
    dockerfile = f'FROM {ensure_base_image(docker_client)}\nENTRYPOINT ["python3", "-c", "print(1)"]\n'
    tag = "corral-test-impostor:1"
    docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, labels={MANIFEST_LABEL: manifest}, rm=True)
    with pytest.raises(grpc.RpcError) as refused:
        stack.api.RegisterAgent(pb.RegisterAgentRequest(image=tag))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "entrypoint contract" in refused.value.details()


@pytest.mark.parametrize("link", ["symlink", "hardlink", "symlinked-dir", "fifo"])
def test_an_agent_directory_cannot_carry_host_files(tmp_path, docker_client, base_image, link):
    """A symlink (or hard link) to a host file would be copied as what it points to: into the
    image, the shared image cache and the sandbox. The build refuses it, naming the path,
    and nothing is built, with either backend's image."""
    import os

    from orchestrator.agents.images import build_agent_dir_image
    from orchestrator.agents.manifest import ManifestError
    from sandbox_runner.host.image_cache import image_cache_dir

    assert corral("new", "Looter", cwd=tmp_path).returncode == 0
    agent_dir = tmp_path / "Looter"
    secret = tmp_path / "host-secret"
    secret.write_text("the passphrase")
    (tmp_path / "host-dir").mkdir()
    if link == "symlink":
        (agent_dir / "loot.txt").symlink_to(secret)
    elif link == "hardlink":
        os.link(secret, agent_dir / "loot.txt")
    elif link == "symlinked-dir":
        (agent_dir / "loot").symlink_to(tmp_path / "host-dir")
    else:
        os.mkfifo(agent_dir / "loot.txt")
    # Only this agent's images, of either kind: other tests (other workers) build images meanwhile.
    def looter_images():
        directories = {p.name for p in image_cache_dir().glob("corral-agent-looter-*")}
        return {i.id for i in docker_client.images.list(name="corral-agent-looter")} | directories

    images_before = looter_images()
    for build in (lambda: build_agent_image(agent_dir, docker_client), lambda: build_agent_dir_image(agent_dir)):
        with pytest.raises(ManifestError, match="loot") as refused:
            build()
        assert "regular files" in str(refused.value) or "symbolic link to a directory" in str(refused.value)
        assert "the passphrase" not in str(refused.value)
    assert looter_images() == images_before


def test_file_modes_are_normalised_in_both_kinds_of_image(tmp_path, docker_client, base_image):
    """No setuid or setgid bit, no group- or world-writable file reaches an image; an
    executable stays executable."""
    from orchestrator.agents.images import build_agent_dir_image

    assert corral("new", "Modes", cwd=tmp_path).returncode == 0
    agent_dir = tmp_path / "Modes"
    (agent_dir / "tool.sh").write_text("#!/bin/sh\necho hi\n")
    (agent_dir / "tool.sh").chmod(0o6777)  # setuid, setgid, world-writable
    (agent_dir / "data.txt").write_text("x")
    (agent_dir / "data.txt").chmod(0o666)
    tag = build_agent_image(agent_dir, docker_client)
    listed = docker_client.containers.run(tag, entrypoint=["stat", "-c", "%a %n", "/agent/tool.sh", "/agent/data.txt"], remove=True,
                                          network_mode="none").decode().split("\n")
    assert listed[:2] == ["755 /agent/tool.sh", "644 /agent/data.txt"]
    directory = build_agent_dir_image(agent_dir)
    assert oct((directory / "agent" / "tool.sh").stat().st_mode & 0o7777) == "0o755"
    assert oct((directory / "agent" / "data.txt").stat().st_mode & 0o7777) == "0o644"
