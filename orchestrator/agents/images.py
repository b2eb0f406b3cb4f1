"""Agent images from agent directories: the manifest is read and checked here (the
orchestrator's side), the image is built by `sandbox_runner.host.images` from the files
and the manifest's text (the host side knows no manifest)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import docker

from orchestrator.agents.dependencies import declared_dependencies
from orchestrator.agents.manifest import ManifestError, load_manifest_dir
from sandbox_runner.host.agent_files import AgentFilesError, agent_files
from sandbox_runner.host.images import (
    AgentBuild,
    AgentBuildError,
    Progress,
    build_directory_agent_image,
    build_docker_agent_image,
)


def _quiet(_: str) -> None:
    pass


def _checked(agent_dir: Path, allow_sdists: Sequence[str] = (), progress: Progress = _quiet) -> AgentBuild:
    manifest, manifest_text = load_manifest_dir(agent_dir)
    try:
        files = agent_files(agent_dir, include=manifest.filesToInclude, exclude=manifest.filesToExclude)
    except AgentFilesError as exc:
        raise ManifestError(str(exc)) from None
    declared = declared_dependencies(agent_dir)
    if declared.provided:
        progress(f"{', '.join(declared.provided)} ({declared.source}): provided by the platform as agent_sdk, not installed")
    return AgentBuild(manifest.name, manifest_text, files, requirements=declared.requirements, requirements_source=declared.source,
                      allow_sdists=frozenset([*manifest.dependencies.allowSdists, *allow_sdists]))


def build_agent_image(agent_dir: Path, client: docker.DockerClient | None = None, tag: str | None = None,
                      progress: Progress = _quiet, allow_sdists: Sequence[str] = ()) -> str:
    """Builds an agent directory FROM the base image; returns the image tag.

    The tag is `corral-agent-<name>:<hash of base tag + files + declared dependencies>`,
    so rebuilding an unchanged agent is a no-op."""
    build = _checked(agent_dir, allow_sdists, progress)
    try:
        return build_docker_agent_image(build, client=client, tag=tag, progress=progress)
    except AgentBuildError as exc:
        raise ManifestError(f"{agent_dir}: {exc}") from None


def build_agent_dir_image(agent_dir: Path, progress: Progress = _quiet, allow_sdists: Sequence[str] = ()) -> Path:
    """The same agent as a directory image (bubblewrap), in the shared image cache."""
    build = _checked(agent_dir, allow_sdists, progress)
    try:
        return build_directory_agent_image(build, progress=progress)
    except AgentBuildError as exc:
        raise ManifestError(f"{agent_dir}: {exc}") from None
