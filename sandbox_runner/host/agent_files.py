"""What of an agent's files goes into its image: the agent directory's regular files, plus
what circuit.toml's `filesToInclude` names outside it, minus what `filesToExclude` matches
(Circuit's semantics: included paths are relative to the agent directory, for code shared
between agents, e.g. "../lib"; excluded ones are patterns over the agent's files).

Everything is read without following links: a symlink, hard link, device, socket or pipe
is refused naming its path, since copied as it points it would put a host file (a key,
/etc/shadow) into the image and the shared cache.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Files of an agent directory that never go into its image.
AGENT_EXCLUDES = {".git", "__pycache__", ".venv", "venv", ".env", "node_modules", ".pytest_cache"}
# Where the build puts what it adds to /agent (dependencies, their lock): not the author's.
RESERVED_DIR = ".corral"
# An agent is code, not a data set: bounded before anything is read into memory.
MAX_FILES = 5_000
MAX_TOTAL_BYTES = 64 * 2**20


@dataclass(frozen=True)
class AgentFile:
    """One regular file of an agent: its path in /agent, its bytes and whether it runs."""

    path: str  # relative to /agent, "/"-separated
    data: bytes
    executable: bool

    @property
    def mode(self) -> int:
        # Normalised: never setuid/setgid, never group- or world-writable.
        return 0o755 if self.executable else 0o644


class AgentFilesError(ValueError):
    """The agent's files cannot go into an image as they are; names each path and the fix."""


def agent_files(agent_dir: Path, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[AgentFile]:
    """The files of an agent's image: the directory's regular files; each `include` path
    (relative to the agent directory) copied to /agent/<its last name> with what it holds;
    none that an `exclude` pattern matches."""
    problems: list[str] = []
    budget = _Budget()
    found = _walk(agent_dir, PurePosixPath(), budget, problems, agent_root=True)
    placed = {file.path: str(agent_dir) for file in found}
    for entry in include:
        source, destination = _included(agent_dir, entry, problems)
        if source is None:
            continue
        if source.is_dir():
            files = _walk(source, destination, budget, problems, agent_root=False)
        else:
            files = [_read_or_note(source, destination, budget, problems, str(source))]
        for file in files:
            if file is None:
                continue
            if file.path in placed:
                problems.append(f"filesToInclude: {entry!r} puts {file.path} where {placed[file.path]} already has it; "
                                "rename one of them")
                continue
            placed[file.path] = entry
            found.append(file)
    matchers = [(_exclude_pattern(p, problems), p) for p in exclude]
    kept = [f for f in found if not any(m is not None and m(f.path) for m, _ in matchers)]
    for required in ("main.py",):
        if any(f.path == required for f in found) and not any(f.path == required for f in kept):
            pattern = next(p for m, p in matchers if m is not None and m(required))
            problems.append(f"filesToExclude: {pattern!r} excludes {required}, which the agent cannot run without; narrow the pattern")
    if problems:
        raise AgentFilesError(f"{agent_dir}: " + "\n".join(problems))
    return sorted(kept, key=lambda f: f.path)


@dataclass
class _Budget:
    files: int = 0
    size: int = 0

    def take(self, size: int) -> str | None:
        self.files += 1
        self.size += size
        if self.files > MAX_FILES:
            return f"more than {MAX_FILES} files"
        if self.size > MAX_TOTAL_BYTES:
            return f"more than {MAX_TOTAL_BYTES // 2**20} MiB"
        return None


class _TooLarge(Exception):
    pass


def _included(agent_dir: Path, entry: str, problems: list[str]) -> tuple[Path | None, PurePosixPath]:
    """The host path an include names and where it lands in /agent, or (None, _) noted."""
    if not entry.strip() or os.path.isabs(entry):
        problems.append(f"filesToInclude: {entry!r} must be a path relative to the agent directory, e.g. \"../lib\"")
        return None, PurePosixPath()
    source = Path(os.path.normpath(agent_dir.absolute() / entry))
    agent = agent_dir.absolute()
    if source == agent or source in agent.parents:
        problems.append(f"filesToInclude: {entry!r} is the agent directory or holds it; name the shared files or folder itself, "
                        "e.g. \"../lib\"")
        return None, PurePosixPath()
    if agent in source.parents:
        # Inside the agent directory: already part of it (Circuit includes such paths anyway).
        return None, PurePosixPath()
    if source.is_symlink():
        problems.append(f"filesToInclude: {entry!r} is a symbolic link (to {os.readlink(source)}); name the folder or file it "
                        "points to, or copy it")
        return None, PurePosixPath()
    if not source.exists():
        problems.append(f"filesToInclude: {entry!r} does not exist (looked for {source})")
        return None, PurePosixPath()
    return source, PurePosixPath(source.name)


def _walk(root: Path, prefix: PurePosixPath, budget: _Budget, problems: list[str], agent_root: bool) -> list[AgentFile]:
    found: list[AgentFile] = []
    shown = Path() if agent_root else root
    for directory, subdirs, names in os.walk(root):
        relative_dir = Path(directory).relative_to(root)
        if agent_root and relative_dir == Path() and RESERVED_DIR in subdirs + names:
            problems.append(f"{RESERVED_DIR} is where the build puts the agent's dependencies; rename yours")
        for name in [d for d in subdirs if d in AGENT_EXCLUDES or d == RESERVED_DIR or (Path(directory) / d).is_symlink()]:
            subdirs.remove(name)
            if name not in AGENT_EXCLUDES and name != RESERVED_DIR:
                problems.append(f"{shown / relative_dir / name} is a symbolic link to a directory; copy what it holds instead")
        for name in sorted(names):
            if name in AGENT_EXCLUDES:
                continue
            shown_as = (relative_dir / name).as_posix() if agent_root else str(Path(directory) / name)
            file = _read_or_note(Path(directory) / name, prefix / relative_dir.as_posix() / name, budget, problems, shown_as)
            if file is not None:
                found.append(file)
        subdirs.sort()
    return found


def _read_or_note(path: Path, destination: PurePosixPath, budget: _Budget, problems: list[str], shown: str) -> AgentFile | None:
    try:
        return _read_regular(path, destination.as_posix(), budget)
    except _NotRegular as problem:
        problems.append(f"{shown} {problem}; agents are made of regular files only")
    except _TooLarge as problem:
        problems.append(f"the agent's files add up to {problem}; leave data out with filesToExclude")
        raise AgentFilesError("\n".join(problems)) from None
    return None


class _NotRegular(Exception):
    pass


def _read_regular(path: Path, relative: str, budget: _Budget) -> AgentFile:
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
        over = budget.take(info.st_size)
        if over:
            raise _TooLarge(over)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(info.st_size + 1)
        if len(data) > info.st_size:
            raise _NotRegular("grew while it was read")
    finally:
        os.close(fd)
    return AgentFile(relative, data, bool(info.st_mode & stat.S_IXUSR))


def _exclude_pattern(pattern: str, problems: list[str]):  # type: ignore[no-untyped-def]
    """A predicate over /agent-relative paths for one filesToExclude pattern:
    - "notebooks/" or "notebooks/**": that folder (anywhere, if the name has no "/") and all it holds;
    - a pattern without "/" ("*.ipynb", "scratch"): any file or folder of that name, at any depth;
    - a pattern with "/" ("data/*.csv", "tests/**/fixtures"): from the agent root; "*" stays within
      one folder, "**" spans any number of them."""
    text = pattern.strip().removeprefix("./").lstrip("/")
    if not text or ".." in PurePosixPath(text).parts:
        problems.append(f"filesToExclude: {pattern!r} must be a pattern inside the agent directory, e.g. \"notebooks/\" or \"*.csv\"")
        return None
    folder = text.endswith("/") or text.endswith("/**")
    text = text.removesuffix("/**").rstrip("/")
    regex = re.compile(_glob_to_regex(text))
    anchored = "/" in text

    def matches(path: str) -> bool:
        parts = path.split("/")
        # Candidates: each folder on the path (a folder pattern excludes what it holds), and
        # the file itself unless the pattern names folders only.
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts) - (1 if folder else 0))]
        if anchored:
            return any(regex.fullmatch(p) for p in prefixes)
        names = parts[: len(parts) - (1 if folder else 0)]
        return any(regex.fullmatch(n) for n in names)

    return matches


def _glob_to_regex(glob: str) -> str:
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)
