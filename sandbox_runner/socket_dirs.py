"""Per-sandbox socket directories: where an execution's runtime socket lives, mounted
read-only into its sandbox at /run/corral.

Two places make them:
- `LocalSocketDirs`: the orchestrator itself, under its own `socket_root` (one user runs
  everything, or the orchestrator is root).
- the launcher (`sandbox_runner/launcher.py`), when the orchestrator is unprivileged: the
  root of the directories is the launcher's, so the orchestrator cannot move a directory
  aside and put a link to a host path in its place between the launcher's check and the
  mount.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Protocol

from sandbox_runner.backend import SANDBOX_GID, SANDBOX_UID

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


def remove_tree(path: Path) -> None:
    """rmtree that says what it could not remove (a leftover directory is worth a line).
    It never follows links, so a link planted inside cannot make it delete elsewhere."""
    def failed(function, name, exc) -> None:
        if not isinstance(exc, FileNotFoundError):
            log.warning("could not remove %s (%s): %s", name, function.__name__, exc)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=failed)
    else:
        shutil.rmtree(path, onerror=lambda function, name, info: failed(function, name, info[1]))
