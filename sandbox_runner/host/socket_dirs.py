"""Per-sandbox socket directories: where an execution's runtime socket lives, mounted
read-only into its sandbox at /run/corral.

Two places make them:
- `LocalSocketDirs`: the orchestrator itself, under its own `socket_root` (one user runs
  everything, or the orchestrator is root).
- the launcher (`sandbox_runner/host/launcher.py`), when the orchestrator is unprivileged: the
  root of the directories is the launcher's, so the orchestrator cannot move a directory
  aside and put a link to a host path in its place between the launcher's check and the
  mount.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Protocol

from sandbox_runner.host.backend import SANDBOX_GID, SANDBOX_UID

log = logging.getLogger("corral.sandbox")

PREFIX = "sbx-"
SANDBOX_ID = re.compile(r"[0-9a-f]{16,32}")


class SocketDirs(Protocol):
    def make(self, sandbox_id: str) -> Path:
        """A fresh, empty directory for one sandbox's sockets."""
        ...

    def remove(self, sandbox_id: str) -> None:
        """Removes the directory and what is in it (nothing if it is gone)."""
        ...

    def sandbox_ids(self) -> list[str]:
        """The sandbox ids that have a directory."""
        ...


def hand_to_sandbox_user(socket_path: Path) -> None:
    """Lets the sandbox's unprivileged user (and no other) use a socket in its directory."""
    try:
        os.chown(socket_path, SANDBOX_UID, SANDBOX_GID)
        os.chmod(socket_path, 0o600)
    except PermissionError:
        os.chmod(socket_path, 0o666)  # not root: the directory's unguessable name guards it


def check_sandbox_id(sandbox_id: str) -> str:
    if not SANDBOX_ID.fullmatch(sandbox_id):
        raise ValueError(f"sandbox id {sandbox_id[:80]!r} must be 16 to 32 lowercase hex digits")
    return sandbox_id


class LocalSocketDirs:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o711)

    def path(self, sandbox_id: str) -> Path:
        return self.root / f"{PREFIX}{check_sandbox_id(sandbox_id)}"

    def make(self, sandbox_id: str) -> Path:
        """Reachable by the sandbox user only when this process may hand it over (root);
        otherwise the directory's unguessable name (under a 0711 root) is the guard."""
        directory = self.path(sandbox_id)
        directory.mkdir(mode=0o700)
        try:
            os.chown(directory, SANDBOX_UID, SANDBOX_GID)
        except PermissionError:
            os.chmod(directory, 0o711)
        return directory

    def remove(self, sandbox_id: str) -> None:
        remove_tree(self.path(sandbox_id))

    def sandbox_ids(self) -> list[str]:
        return [entry.name.removeprefix(PREFIX) for entry in self.root.iterdir()
                if entry.name.startswith(PREFIX) and SANDBOX_ID.fullmatch(entry.name.removeprefix(PREFIX))]


# How deep a socket directory may nest before removal gives up on it (it holds a socket or
# two; anything deeper was made to exhaust the remover).
MAX_DEPTH = 16
# Opening an entry must never block, follow a link, open a device for real or make it a
# controlling terminal: the tree's owner may swap any entry for a FIFO or a link at any time.
_OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def remove_tree(path: Path) -> None:
    """Removes a directory and what is in it, without following links and without opening
    anything but directories (O_NOFOLLOW|O_DIRECTORY|O_NONBLOCK), so a root remover cannot be
    made to open a FIFO or a device, or to delete outside the tree, by whoever owns it. Says
    what it could not remove (a leftover directory is worth a line)."""
    try:
        top = os.open(path, _OPEN_DIRECTORY)
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)
        return
    try:
        _remove_contents(top, path, 0)
    finally:
        os.close(top)
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)


def _remove_contents(directory_fd: int, where: Path, depth: int) -> None:
    if depth > MAX_DEPTH:
        log.warning("could not remove %s: it nests deeper than %d levels", where, MAX_DEPTH)
        return
    for name in os.listdir(directory_fd):
        try:
            child = os.open(name, _OPEN_DIRECTORY, dir_fd=directory_fd)
        except FileNotFoundError:
            continue
        except OSError:
            # Not a directory (or a link to one): the entry itself goes, never its target.
            try:
                os.unlink(name, dir_fd=directory_fd)
            except FileNotFoundError:
                pass
            except OSError as unlink_failed:
                log.warning("could not remove %s: %s", where / name, unlink_failed)
            continue
        try:
            _remove_contents(child, where / name, depth + 1)
        finally:
            os.close(child)
        try:
            os.rmdir(name, dir_fd=directory_fd)
        except OSError as exc:
            if not isinstance(exc, FileNotFoundError):
                log.warning("could not remove %s: %s", where / name, exc)
