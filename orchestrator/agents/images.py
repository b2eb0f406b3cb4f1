"""Agent images from agent directories: the manifest is read and checked here (the
orchestrator's side), the image is built by `sandbox_runner.host.images` from the files
and the manifest's text (the host side knows no manifest)."""

from __future__ import annotations

from pathlib import Path

import docker

from orchestrator.agents.manifest import Manifest, ManifestError, load_manifest_dir
from sandbox_runner.host.images import (
    AgentFile,
    AgentFilesError,
    agent_files,
    build_directory_agent_image,
    build_docker_agent_image,
)


def _checked(agent_dir: Path) -> tuple[Manifest, str, list[AgentFile]]:
    manifest, manifest_text = load_manifest_dir(agent_dir)
    try:
        files = agent_files(agent_dir)
    except AgentFilesError as exc:
        raise ManifestError(str(exc)) from None
    return manifest, manifest_text, files


def build_agent_image(agent_dir: Path, client: docker.DockerClient | None = None, tag: str | None = None) -> str:
    """Builds an agent directory FROM the base image; returns the image tag.

    The tag is `corral-agent-<name>:<hash of base tag + files>`, so rebuilding an
    unchanged agent is a no-op."""
    manifest, manifest_text, files = _checked(agent_dir)
    return build_docker_agent_image(manifest.name, manifest_text, files, client=client, tag=tag)


def build_agent_dir_image(agent_dir: Path) -> Path:
    """The same agent as a directory image (bubblewrap), in the shared image cache."""
    manifest, manifest_text, files = _checked(agent_dir)
    return build_directory_agent_image(manifest.name, manifest_text, files)
