"""Offline builds of the base agent image and of agent images, cached by content hash.

No image registry and no package index can be assumed, so:
1. the root filesystem is made with `debootstrap --variant=minbase` (Debian 13 + python3
   3.13) and `docker import`ed as `corral-rootfs:<hash>`;
2. the SDK's dependencies are installed on the host with pip into a staging folder for
   the image's Python (cp313, manylinux) and copied in, with the SDK and the entrypoint,
   all byte-compiled by the image's Python (sandbox_runner/host/image_python.py), as
   `corral-base:<hash>`;
3. an agent image is its files (sandbox_runner/host/agent_files.py), byte-compiled the same
   way, copied FROM the base image, with its circuit.toml as a file and as the
   `org.corral.manifest` label. The bubblewrap backend runs the same root filesystem, base
   and agent folders as directories.

Each tag is a hash of everything that goes into it, so an unchanged input is a no-op.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import json
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from corral.limits import DESCRIPTION_MAX_BYTES
from sandbox_runner.host import agent_deps
from sandbox_runner.host.agent_files import AgentFile
from sandbox_runner.host.backend import ENTRYPOINT
from sandbox_runner.host.image_cache import DIR_IMAGE_FILE, image_cache_dir
from sandbox_runner.host.image_python import ImagePythonError, compile_tree

REPO_ROOT = Path(__file__).resolve().parents[2]
# Debian 13: its Python 3.13 meets Circuit's floor (agents are written for >= 3.12).
DEBIAN_SUITE = "trixie"
ROOTFS_PACKAGES = ["python3"]
# Bump when the way the root filesystem is made changes (trimming, permissions, mount points).
ROOTFS_RECIPE_VERSION = "3"
# The image's Python (trixie's); wheels are picked for it and code is byte-compiled by it.
IMAGE_PYTHON = "3.13"
SDK_DEPENDENCIES = ["grpcio", "protobuf", "pydantic", "pydantic-core", "typing-extensions", "annotated-types", "typing-inspection",
                    # So Solana agents can build transactions offline (the sandbox has no package index).
                    "solders", "jsonalias"]
# Bump when the way the base directory is made changes (3: byte-compiled by the image's Python,
# hash-based .pyc files).
BASE_RECIPE_VERSION = "4"
ROOTFS_MOUNT_POINTS = ("opt/corral", "agent", "run/corral", "tmp")
BASE_REPOSITORY = "corral-base"
ROOTFS_REPOSITORY = "corral-rootfs"
MANIFEST_LABEL = "org.corral.manifest"
# The agent's DESCRIPTION.md (at most corral.limits.DESCRIPTION_MAX_BYTES), for the API's catalogue.
DESCRIPTION_LABEL = "org.corral.description"
BASE_LABEL = "org.corral.base"
CONTRACT_LABEL = "org.corral.entrypoint-contract"
# Bump when the way agent images are made changes (3: byte-compiled by the image's Python,
# hash-based .pyc files; 4: DESCRIPTION.md as a label).
AGENT_RECIPE_VERSION = "4"
# 2: the entrypoint and watchdog moved to sandbox_runner/inside/ (images of contract 1 lack them).
ENTRYPOINT_CONTRACT = "2"

# What of the repository goes into the base image: the SDK, the in-container
# entrypoint and the generated runtime-API messages. Never the signer, web3 or the
# orchestrator.
IMAGE_SOURCES = [
    "sdk",
    "sandbox_runner/__init__.py",
    "sandbox_runner/inside",
    "corral/__init__.py",
    "corral/hosts.py",
    "corral/limits.py",
    "corral/networks.py",
    "corral/v1/__init__.py",
    "corral/v1/common_pb2.py",
    "corral/v1/runtime_pb2.py",
    "corral/v1/runtime_pb2_grpc.py",
]


def _hash(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def _image_exists(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def debian_mirror() -> str:
    """The Debian mirror apt uses on this host (deb822 or one-line format)."""
    candidates = list(Path("/etc/apt/sources.list.d").glob("*.sources")) + [Path("/etc/apt/sources.list")]
    for path in candidates:
        if not path.exists():
            continue
        text = path.read_text()
        for match in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s*)?)(\S+)", text, re.M):
            uri = match.group(1)
            if "security" not in uri:
                return uri
    return "http://deb.debian.org/debian"


def _rootfs_hash() -> str:
    return _hash(DEBIAN_SUITE.encode(), " ".join(ROOTFS_PACKAGES).encode(), ROOTFS_RECIPE_VERSION.encode())


def _publish(staging: Path, target: Path) -> None:
    """Moves a finished build into the shared cache under its content-hash name. Two builds
    of the same input may race (two orchestrators, `corral build` beside a running platform,
    parallel test workers): the loser's rename fails on the winner's non-empty directory, and
    since the name is a hash of the input, the winner's copy is as good as its own."""
    try:
        staging.rename(target)
    except OSError:
        if not target.is_dir():
            raise
        shutil.rmtree(staging, ignore_errors=True)


def rootfs_dir() -> Path:
    """The Debian root filesystem as a directory (debootstrap, trimmed, no setuid bits)."""
    target = image_cache_dir() / f"rootfs-{_rootfs_hash()}"
    if target.exists():
        return target
    print(f"building {target} with debootstrap (about a minute)...", flush=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        rootfs = staging / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(ROOTFS_PACKAGES)}", DEBIAN_SUITE, str(rootfs), debian_mirror()],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # Trim what an agent never needs: apt caches and docs.
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            shutil.rmtree(rootfs / junk, ignore_errors=True)
        # No setuid/setgid binaries: nothing in a sandbox can gain privileges by exec.
        subprocess.run(["find", str(rootfs), "-xdev", "-perm", "/6000", "-type", "f", "-exec", "chmod", "ug-s", "{}", "+"], check=True)
        # Where the base, the agent, the runtime socket and /tmp are bound in (bubblewrap, and
        # the byte-compilation that runs the image's Python over the host's files).
        for mount_point in ROOTFS_MOUNT_POINTS:
            (rootfs / mount_point).mkdir(parents=True, exist_ok=True)
        _publish(rootfs, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def ensure_rootfs(client: docker.DockerClient) -> str:
    """The root filesystem `docker import`ed as an image; returns its tag."""
    tag = f"{ROOTFS_REPOSITORY}:{_rootfs_hash()}"
    if _image_exists(client, tag):
        return tag
    tar = subprocess.Popen(["tar", "-C", str(rootfs_dir()), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["docker", "import", "-", tag], stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL)
    if tar.wait() != 0:
        raise RuntimeError("tar of the root filesystem failed")
    return tag


def _pinned_dependencies() -> list[str]:
    """The SDK's dependencies at the versions installed on the host, so that the
    generated protobuf code and the image's runtime agree."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in SDK_DEPENDENCIES]


def _stage_dependencies(target: Path, pins: list[str]) -> None:
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--target", str(target), "--only-binary=:all:", "--no-deps", "--no-compile",
            *agent_deps.wheel_target(IMAGE_PYTHON), *pins,
        ],
        check=True,
    )


def _image_source_files() -> list[Path]:
    files: list[Path] = []
    for entry in IMAGE_SOURCES:
        path = REPO_ROOT / entry
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        else:
            files.append(path)
    return files


def _base_hash() -> str:
    dockerfile = (REPO_ROOT / "images" / "base" / "Dockerfile").read_bytes()
    parts = [_rootfs_hash().encode(), BASE_RECIPE_VERSION.encode(), dockerfile, "\n".join(_pinned_dependencies()).encode()]
    for path in _image_source_files():
        parts += [str(path.relative_to(REPO_ROOT)).encode(), path.read_bytes()]
    return _hash(*parts)


def base_dir() -> Path:
    """/opt/corral of the base image as a directory: the SDK's dependencies (`deps/`) and
    the SDK, entrypoint and watchdog (`lib/`), byte-compiled."""
    target = image_cache_dir() / f"base-{_base_hash()}"
    if target.exists():
        return target
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        _stage_dependencies(staging / "deps", _pinned_dependencies())
        for path in _image_source_files():
            dest = staging / "lib" / path.relative_to(REPO_ROOT)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, dest)
        # By the image's Python, at the path the sandbox sees (/opt/corral): the host's would
        # write .pyc files the image ignores, and every cold start would compile again.
        problems = compile_tree(rootfs_dir(), staging, "/opt/corral", below="lib")
        problems += compile_tree(rootfs_dir(), staging, "/opt/corral", below="deps", checked=False)
        if problems:
            raise ImagePythonError("the base image's code does not compile with the image's Python: " + "; ".join(map(str, problems)))
        staging.chmod(0o755)
        _publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def ensure_base_image(client: docker.DockerClient | None = None) -> str:
    """Builds the base agent image unless an identical one exists; returns its tag."""
    client = client or docker.from_env()
    tag = f"{BASE_REPOSITORY}:{_base_hash()}"
    if _image_exists(client, tag):
        return tag
    rootfs_tag = ensure_rootfs(client)
    print(f"building {tag}...", flush=True)
    with tempfile.TemporaryDirectory(prefix="corral-base-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(base_dir(), context, symlinks=True)
        shutil.copy(REPO_ROOT / "images" / "base" / "Dockerfile", context / "Dockerfile")
        client.images.build(
            path=str(context),
            tag=tag,
            buildargs={"ROOTFS": rootfs_tag},
            labels={BASE_LABEL: tag, CONTRACT_LABEL: ENTRYPOINT_CONTRACT},
            rm=True,
            forcerm=True,
            network_mode="none",
        )
    client.images.get(tag).tag(BASE_REPOSITORY, "latest")
    return tag


class AgentBuildError(ValueError):
    """The agent's code or declared dependencies cannot be built; says where and how to fix it."""


@dataclass(frozen=True)
class AgentBuild:
    """What goes into an agent image besides the base: its files, the dependencies it
    declares (requirement strings) and which of them may come as source distributions."""

    name: str
    manifest_text: str
    files: list[AgentFile]
    requirements: list[str] = field(default_factory=list)
    requirements_source: str = ""  # the file they were declared in, for messages and the lock
    allow_sdists: frozenset[str] = frozenset()


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def agent_tag(build: AgentBuild, base: str) -> str:
    """`corral-agent-<name>:<hash of base + files + declared dependencies>`: an unchanged
    agent is never rebuilt (nor its dependencies resolved again)."""
    parts = [base.encode(), AGENT_RECIPE_VERSION.encode()]
    for file in build.files:
        parts += [file.path.encode(), oct(file.mode).encode(), file.data]
    parts += ["\n".join(build.requirements).encode(), " ".join(sorted(build.allow_sdists)).encode()]
    slug = re.sub(r"[^a-z0-9]+", "-", build.name.lower()).strip("-") or "agent"
    return f"corral-agent-{slug}:{_hash(*parts)}"


def agent_labels(build: AgentBuild) -> dict[str, str]:
    """The labels an agent image carries: its circuit.toml and its DESCRIPTION.md (when it has one)."""
    labels = {MANIFEST_LABEL: build.manifest_text}
    description = next((file.data for file in build.files if file.path == "DESCRIPTION.md"), None)
    if description is not None:
        if len(description) > DESCRIPTION_MAX_BYTES:
            raise AgentBuildError(f"DESCRIPTION.md is {len(description):,} bytes; the most an image carries is "
                                  f"{DESCRIPTION_MAX_BYTES:,} (64 KiB): shorten it")
        labels[DESCRIPTION_LABEL] = description.decode("utf-8", errors="replace")
    return labels


def build_docker_agent_image(build: AgentBuild, client: docker.DockerClient | None = None, tag: str | None = None,
                             progress: Progress = _quiet) -> str:
    """The agent's directory image (compiled, with its dependencies) copied FROM the base
    image, labelled with the manifest; returns the tag."""
    client = client or docker.from_env()
    base = ensure_base_image(client)
    tag = tag or agent_tag(build, base)
    if _image_exists(client, tag):
        progress(f"{tag} is up to date")
        return tag
    agent = build_directory_agent_image(build, progress) / "agent"
    progress(f"building {tag}...")
    dockerfile = f"FROM {base}\nCOPY --chown=0:0 . /agent\n".encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_to_tar(tar, "Dockerfile", dockerfile, 0o644)
        for path in sorted(p for p in agent.rglob("*") if p.is_file() and not p.is_symlink()):
            _add_to_tar(tar, path.relative_to(agent).as_posix(), path.read_bytes(), path.stat().st_mode & 0o777)
    buf.seek(0)
    client.images.build(
        fileobj=buf,
        custom_context=True,
        tag=tag,
        labels=agent_labels(build),
        rm=True,
        forcerm=True,
        network_mode="none",
    )
    return tag


def _add_to_tar(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    """A regular file entry with the given mode, owned by root (parent directories 0755)."""
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def build_directory_agent_image(build: AgentBuild, progress: Progress = _quiet) -> Path:
    """The agent as a directory image, for sandbox backends without a Docker engine
    (bubblewrap) and as the content of its Docker image: `agent/` (its files, byte-compiled
    by the image's Python, and its dependencies in `.corral/`) and `image.json`, which names
    the root filesystem and base directories it runs on and carries the same labels and
    entrypoint as the Docker image. Returns the directory; unchanged input is a no-op."""
    rootfs, base = rootfs_dir(), base_dir()
    repository, digest = agent_tag(build, base.name).split(":")
    target = image_cache_dir() / f"{repository}-{digest}"
    if target.exists():
        progress(f"{target} is up to date")
        return target
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        agent = staging / "agent"
        agent.mkdir()
        for file in build.files:
            dest = agent / file.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(file.data)
        progress(f"byte-compiling {sum(f.path.endswith('.py') for f in build.files)} Python files with the image's Python {IMAGE_PYTHON}...")
        problems = compile_tree(rootfs, agent, "/agent")
        if problems:
            raise AgentBuildError("the agent's code does not compile with Python " + IMAGE_PYTHON + " (the sandbox's):\n"
                                  + "\n".join(f"  {problem}" for problem in problems))
        if build.requirements:
            _install_dependencies(build, rootfs, agent, progress)
        (staging / DIR_IMAGE_FILE).write_text(
            json.dumps(
                {
                    "rootfs": str(rootfs),
                    "base": str(base),
                    "labels": {**agent_labels(build), CONTRACT_LABEL: ENTRYPOINT_CONTRACT, BASE_LABEL: base.name},
                    "entrypoint": ENTRYPOINT,
                },
                indent=2,
            )
        )
        modes = {f"agent/{file.path}": file.mode for file in build.files}
        for path in [staging, *staging.rglob("*")]:
            if path.is_symlink():
                path.unlink()  # nothing the build made should be one; never let one through
                continue
            executable = path.is_dir() or bool(path.stat().st_mode & stat.S_IXUSR)
            path.chmod(modes.get(path.relative_to(staging).as_posix(), 0o755 if executable else 0o644))
        staging.chmod(0o755)
        _publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _install_dependencies(build: AgentBuild, rootfs: Path, agent: Path, progress: Progress) -> None:
    """Resolves, pins and installs the declared dependencies into agent/.corral/deps, with
    their lock beside them; the SDK's pins are constraints (they win)."""
    sources = f"source builds allowed for {', '.join(sorted(build.allow_sdists))}" if build.allow_sdists else "wheels only"
    progress(f"resolving {len(build.requirements)} requirement(s) from {build.requirements_source} for CPython {IMAGE_PYTHON} "
             f"(manylinux x86_64, {sources}) with the SDK's pins as constraints...")
    sdk_pins = _pinned_dependencies()
    try:
        with tempfile.TemporaryDirectory(prefix="corral-deps-") as work:
            pins = agent_deps.resolve(build.requirements, sdk_pins, IMAGE_PYTHON, build.allow_sdists, Path(work), progress)
            progress(f"installing {len(pins)} wheel(s): {', '.join(f'{p.name}=={p.version}' for p in pins) or 'none beyond the SDK'}...")
            agent_deps.install(pins, agent / agent_deps.DEPS_DIR, IMAGE_PYTHON, Path(work))
    except agent_deps.DependencyError as exc:
        raise AgentBuildError(f"{build.requirements_source}: {exc}") from None
    lock = agent_deps.lock_text(pins, sdk_pins, build.requirements_source, IMAGE_PYTHON)
    (agent / agent_deps.LOCK_FILE).parent.mkdir(parents=True, exist_ok=True)
    (agent / agent_deps.LOCK_FILE).write_text(lock)
    progress(f"lock (/agent/{agent_deps.LOCK_FILE}):\n{lock.rstrip()}")
    # Their own files may not all compile (test data, Python 2 leftovers): pip skips those too.
    skipped = compile_tree(rootfs, agent, "/agent", below=agent_deps.DEPS_DIR, checked=False) if pins else []
    if skipped:
        progress(f"{len(skipped)} file(s) of the dependencies do not compile and were left as source, e.g. {skipped[0]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox_runner.host.images", description="agent images are built with `corral build`")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("base", help="build the base agent image (cached by content hash)")
    parser.parse_args(argv)
    print(ensure_base_image())
    return 0


if __name__ == "__main__":
    sys.exit(main())
