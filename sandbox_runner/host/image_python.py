"""The image's own Python, run on the host over host directories, to byte-compile code
for the interpreter and at the paths it will have in the sandbox.

The host's Python (3.11 here) writes .pyc files that the image's 3.13 ignores, and a .pyc
records the path it was compiled at (tracebacks, `__file__`): so the compiler is the root
filesystem's `python3`, started by bubblewrap with the directory bound where the sandbox
will see it (/opt/corral, /agent). Compiling runs no code of the files compiled, but it is
still done with no network and nothing else of the host visible.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Runs inside, under `python3 -I`: compiles every .py below the directory given and prints
# one JSON line per file that does not compile. Hash-based .pyc files, never timestamps (agent
# files are copied with mtime 0, which would make every start recompile in memory): checked
# for our code and the agent's (an image made FROM ours that replaces a source file runs that
# file, not a stale .pyc), unchecked for third-party packages, which never change under an
# image and whose sources would cost about 20 ms of CPU per cold start to hash.
_COMPILE_SCRIPT = r"""
import json, os, py_compile, sys
root = sys.argv[1]
mode = py_compile.PycInvalidationMode[sys.argv[2]]
for directory, subdirs, names in os.walk(root):
    subdirs.sort()
    for name in sorted(names):
        if not name.endswith(".py"):
            continue
        path = os.path.join(directory, name)
        try:
            py_compile.compile(path, doraise=True, invalidation_mode=mode)
        except py_compile.PyCompileError as exc:
            error = exc.exc_value
            print(json.dumps({
                "file": os.path.relpath(path, root),
                "line": getattr(error, "lineno", None),
                "message": getattr(error, "msg", None) or str(error),
                "text": (getattr(error, "text", None) or "").strip()[:200],
            }))
"""
# What a compile may print back: a file per line, many files at most.
_MAX_OUTPUT = 1 << 20


@dataclass(frozen=True)
class CompileProblem:
    """A file the image's Python refuses to compile: where and why."""

    file: str  # relative to the compiled directory
    line: int | None
    message: str
    text: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        shown = f": {self.text}" if self.text else ""
        return f"{where}: {self.message}{shown}"


class ImagePythonError(RuntimeError):
    """The image's Python could not be run at all (not a problem of the code compiled)."""


def image_python_command(rootfs: Path, binds: dict[str, Path], argv: list[str]) -> list[str]:
    """bwrap argv that runs `python3 -I ARGV` of `rootfs` with each host directory of
    `binds` bound read-write at its path in the sandbox (the key)."""
    command = [
        "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
        "--ro-bind", str(rootfs), "/",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
    ]
    for inside, host in binds.items():
        command += ["--bind", str(host), inside]
    return [*command, "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--", "python3", "-I", *argv]


def compile_tree(rootfs: Path, directory: Path, mount_at: str, below: str = "", checked: bool = True) -> list[CompileProblem]:
    """Byte-compiles every .py below `directory` (or its sub-folder `below`) with the image's
    Python, as if `directory` were at `mount_at` (a mount point of the root filesystem); the
    .pyc files land in __pycache__ beside the sources. Returns the files that do not compile
    (an empty list: all compiled), relative to what was compiled. `checked`: Python hashes
    the source at each import to check the .pyc (for code that an image FROM this one may
    replace); otherwise the .pyc is trusted as it is (third-party packages)."""
    root = f"{mount_at}/{below}" if below else mount_at
    mode = "CHECKED_HASH" if checked else "UNCHECKED_HASH"
    command = image_python_command(rootfs, {mount_at: directory}, ["-c", _COMPILE_SCRIPT, root, mode])
    result = subprocess.run(command, capture_output=True, timeout=600)
    if result.returncode != 0:
        raise ImagePythonError(f"the image's python3 could not byte-compile {directory}: "
                               f"{result.stderr.decode(errors='replace')[-2000:].strip()}")
    problems = []
    for line in result.stdout[:_MAX_OUTPUT].decode(errors="replace").splitlines():
        found = json.loads(line)
        problems.append(CompileProblem(str(found["file"]), found.get("line"), str(found["message"]), str(found.get("text") or "")))
    return problems


def image_python_version(rootfs: Path) -> str:
    """MAJOR.MINOR of the image's Python."""
    result = subprocess.run(image_python_command(rootfs, {}, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]),
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise ImagePythonError(f"the image's python3 did not start: {result.stderr.strip()[-2000:]}")
    return result.stdout.strip()
