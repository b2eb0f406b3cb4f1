"""Offline builds of the base agent image and of agent images, cached by content hash.

No image registry and no package index can be assumed, so:
1. the root filesystem is made with `debootstrap --variant=minbase` (Debian + python3)
   and `docker import`ed as `corral-rootfs:<hash>`;
2. the SDK's dependencies are installed on the host with pip into a staging folder for
   the image's Python (cp311, manylinux) and copied in, with the SDK and the entrypoint,
   as `corral-base:<hash>`;
3. an agent image is its directory copied FROM the base image, with its circuit.toml as
   a file and as the `org.corral.manifest` label.

Each tag is a hash of everything that goes into it, so an unchanged input is a no-op.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from sandbox_runner.host.backend import ENTRYPOINT
from sandbox_runner.host.image_cache import DIR_IMAGE_FILE, image_cache_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
DEBIAN_SUITE = "bookworm"
ROOTFS_PACKAGES = ["python3"]
# Bump when the way the root filesystem is made changes (trimming, permissions).
ROOTFS_RECIPE_VERSION = "2"
# The image's Python is Debian bookworm's 3.11; wheels are picked for it.
IMAGE_PYTHON = "3.11"
SDK_DEPENDENCIES = ["grpcio", "protobuf", "pydantic", "pydantic-core", "typing-extensions", "annotated-types", "typing-inspection",
                    # So Solana agents can build transactions offline (the sandbox has no package index).
                    "solders", "jsonalias"]
BASE_REPOSITORY = "corral-base"
ROOTFS_REPOSITORY = "corral-rootfs"
MANIFEST_LABEL = "org.corral.manifest"
BASE_LABEL = "org.corral.base"
CONTRACT_LABEL = "org.corral.entrypoint-contract"
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
            "--target", str(target), "--only-binary=:all:", "--no-deps",
            "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux_2_28_x86_64",
            "--python-version", IMAGE_PYTHON, "--implementation", "cp", *pins,
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
    parts = [_rootfs_hash().encode(), dockerfile, "\n".join(_pinned_dependencies()).encode()]
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
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(staging)], check=True)
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


# Files of an agent directory that never go into its image.
_AGENT_EXCLUDES = {".git", "__pycache__", ".venv", "venv", ".env", "node_modules", ".pytest_cache"}


@dataclass(frozen=True)
class AgentFile:
    """One regular file of an agent directory, read once: what goes into the image and its tag."""

    path: str  # relative to the agent directory, "/"-separated
    data: bytes
    executable: bool

    @property
    def mode(self) -> int:
        # Normalised: never setuid/setgid, never group- or world-writable.
        return 0o755 if self.executable else 0o644


class AgentFilesError(ValueError):
    """The agent directory holds something that is not a plain file; names each path."""


def agent_files(agent_dir: Path) -> list[AgentFile]:
    """The agent directory's regular files, read without following links. A symlink, hard
    link, device, socket or pipe is refused naming its path: copied as it points, it would
    put a host file (a key, /etc/shadow) into the image and the shared cache."""
    found: list[AgentFile] = []
    problems: list[str] = []
    for directory, subdirs, names in os.walk(agent_dir):
        relative_dir = Path(directory).relative_to(agent_dir)
        for name in [d for d in subdirs if d in _AGENT_EXCLUDES or (Path(directory) / d).is_symlink()]:
            subdirs.remove(name)
            if name not in _AGENT_EXCLUDES:
                problems.append(f"{relative_dir / name} is a symbolic link to a directory; copy what it holds into the agent directory")
        for name in sorted(names):
            if name in _AGENT_EXCLUDES:
                continue
            relative = relative_dir / name
            try:
                found.append(_read_regular(Path(directory) / name, relative))
            except _NotRegular as problem:
                problems.append(f"{relative} {problem}; agent directories hold regular files only")
        subdirs.sort()
    if problems:
        raise AgentFilesError(f"{agent_dir}: " + "\n".join(problems))
    return sorted(found, key=lambda f: f.path)


class _NotRegular(Exception):
    pass


def _read_regular(path: Path, relative: Path) -> AgentFile:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if path.is_symlink():
            raise _NotRegular(f"is a symbolic link (to {os.readlink(path)})") from None
        raise _NotRegular(f"cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _NotRegular("is a device, socket or pipe, not a file")
        if info.st_nlink > 1:
            raise _NotRegular(f"is a hard link ({info.st_nlink} names for one file); copy it so that it has one")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read()
    finally:
        os.close(fd)
    return AgentFile(relative.as_posix(), data, bool(info.st_mode & stat.S_IXUSR))


def agent_tag(agent_name: str, base: str, files: list[AgentFile]) -> str:
    """`corral-agent-<name>:<hash of base + files>`: an unchanged agent is never rebuilt."""
    parts = [base.encode()]
    for file in files:
        parts += [file.path.encode(), oct(file.mode).encode(), file.data]
    slug = re.sub(r"[^a-z0-9]+", "-", agent_name.lower()).strip("-") or "agent"
    return f"corral-agent-{slug}:{_hash(*parts)}"


def build_docker_agent_image(agent_name: str, manifest_text: str, files: list[AgentFile],
                             client: docker.DockerClient | None = None, tag: str | None = None) -> str:
    """Builds the files FROM the base image, labelled with the manifest; returns the tag."""
    client = client or docker.from_env()
    base = ensure_base_image(client)
    tag = tag or agent_tag(agent_name, base, files)
    if _image_exists(client, tag):
        return tag
    dockerfile = f"FROM {base}\nCOPY --chown=0:0 . /agent\n".encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add_to_tar(tar, "Dockerfile", dockerfile, 0o644)
        for file in files:
            _add_to_tar(tar, file.path, file.data, file.mode)
    buf.seek(0)
    client.images.build(
        fileobj=buf,
        custom_context=True,
        tag=tag,
        labels={MANIFEST_LABEL: manifest_text},
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


def build_directory_agent_image(agent_name: str, manifest_text: str, files: list[AgentFile]) -> Path:
    """The same agent as a directory image, for sandbox backends without a Docker engine
    (bubblewrap): `agent/` (its files) and `image.json`, which names the root filesystem
    and base directories it runs on and carries the same labels and entrypoint as the
    Docker image. Returns the directory; unchanged input is a no-op."""
    rootfs, base = rootfs_dir(), base_dir()
    repository, digest = agent_tag(agent_name, base.name, files).split(":")
    target = image_cache_dir() / f"{repository}-{digest}"
    if target.exists():
        return target
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        for file in files:
            dest = staging / "agent" / file.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(file.data)
        (staging / DIR_IMAGE_FILE).write_text(
            json.dumps(
                {
                    "rootfs": str(rootfs),
                    "base": str(base),
                    "labels": {MANIFEST_LABEL: manifest_text, CONTRACT_LABEL: ENTRYPOINT_CONTRACT, BASE_LABEL: base.name},
                    "entrypoint": ENTRYPOINT,
                },
                indent=2,
            )
        )
        modes = {f"agent/{file.path}": file.mode for file in files}
        for path in [staging, *staging.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else modes.get(path.relative_to(staging).as_posix(), 0o644))
        _publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox_runner.host.images", description="agent images are built with `corral build`")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("base", help="build the base agent image (cached by content hash)")
    parser.parse_args(argv)
    print(ensure_base_image())
    return 0


if __name__ == "__main__":
    sys.exit(main())
