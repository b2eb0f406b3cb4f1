"""Agent images as authors make them: `corral new`, `corral build`, registration."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest

from corral.v1 import orchestrator_pb2 as pb
from sandbox_runner.images import MANIFEST_LABEL, build_agent_image, ensure_base_image

CORRAL = [sys.executable, "-P", "-m", "corral.cli"]


def corral(*args, cwd):
    return subprocess.run([*CORRAL, *args], cwd=cwd, text=True, capture_output=True)


def test_new_then_build_then_rebuild_is_a_no_op(tmp_path, docker_client, base_image):
    created = corral("new", "Grid Bot", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    agent_dir = tmp_path / "Grid Bot"
    assert {p.name for p in agent_dir.iterdir()} == {"main.py", "circuit.toml", "DESCRIPTION.md"}

    built = corral("build", str(agent_dir), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    tag = built.stdout.strip()
    image = docker_client.images.get(tag)
    assert image.labels[MANIFEST_LABEL] == (agent_dir / "circuit.toml").read_text()
    assert image.attrs["Config"]["Entrypoint"] == ["python3", "-m", "sandbox_runner.entrypoint"]
    assert f"image id {image.id}" in built.stderr
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
         "'version' is inside [settings.note]"),
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
