"""The third-party packages an agent declares: `[project] dependencies` of its
pyproject.toml (what Circuit's Python agents carry) or a requirements.txt. Read and bounded
here; resolved, pinned and installed by `sandbox_runner.host.agent_deps` at build time.

Only plain requirements are taken (`name[extras] specifier ; marker`): no options
(`--index-url`, `-r`, `-e`), no URLs or paths, since the build must resolve from the index
the operator's pip is configured with, and nothing the author points at on the host.
"""

from __future__ import annotations

import re
from pathlib import Path

import tomli
from pydantic import BaseModel, Field

from orchestrator.agents.manifest import ManifestError

MAX_FILE_BYTES = 64 * 1024
MAX_REQUIREMENTS = 100
MAX_REQUIREMENT_LENGTH = 300
# Circuit's SDK as authors declare it: provided by the image (agent_sdk), never installed.
PROVIDED_BY_THE_PLATFORM = {"circuit-agent-sdk", "agent-sdk", "circuit-sdk"}
_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[A-Za-z0-9._,\s-]*\])?\s*(.*)$")
# What may follow a name: version clauses and an environment marker; no "@" (a direct URL).
_REST = re.compile(r"""[\sA-Za-z0-9.*,<>=!~;()'"_+-]*""")


class DeclaredDependencies(BaseModel):
    """The requirements an agent declares and the file they come from ("" if none)."""

    source: str = ""
    requirements: list[str] = Field(default_factory=list)
    provided: list[str] = Field(default_factory=list)  # Circuit's SDK, dropped: the image has it


def normalized_name(name: str) -> str:
    """PEP 503: the name pip and the index compare."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_dependencies(agent_dir: Path) -> DeclaredDependencies:
    """The agent's requirements; every problem names the file, the line and the fix."""
    pyproject, requirements_txt = agent_dir / "pyproject.toml", agent_dir / "requirements.txt"
    declared = [p for p in (pyproject, requirements_txt) if p.is_file() and (p is not pyproject or _project_dependencies(p) is not None)]
    if len(declared) == 2:
        raise ManifestError(f"{agent_dir}: dependencies are declared in both pyproject.toml and requirements.txt; "
                            "keep one list (Circuit's agents use pyproject.toml's [project] dependencies)")
    if not declared:
        return DeclaredDependencies()
    path = declared[0]
    if path is pyproject:
        entries = [(f"{path.name} [project] dependencies[{i}]", value) for i, value in enumerate(_project_dependencies(path) or [])]
    else:
        entries = _requirement_lines(path)
    if len(entries) > MAX_REQUIREMENTS:
        raise ManifestError(f"{path}: {len(entries)} requirements; at most {MAX_REQUIREMENTS}")
    requirements, provided, problems = [], [], []
    for where, value in entries:
        problem = _requirement_problem(value)
        if problem:
            problems.append(f"{where}: {value!r} {problem}")
            continue
        name = normalized_name(_NAME.match(value).group(1))  # type: ignore[union-attr]
        (provided if name in PROVIDED_BY_THE_PLATFORM else requirements).append(value.strip())
    if problems:
        raise ManifestError(f"{agent_dir}: " + "\n".join(problems))
    return DeclaredDependencies(source=path.name, requirements=requirements, provided=provided)


def _read_bounded(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ManifestError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB; an agent's dependency list is short")
    try:
        return path.read_text()
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not UTF-8 text") from None


def _project_dependencies(path: Path) -> list[str] | None:
    """pyproject.toml's [project] dependencies, or None when it declares none."""
    try:
        data = tomli.loads(_read_bounded(path))
    except tomli.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML ({exc})") from None
    project = data.get("project")
    if not isinstance(project, dict) or "dependencies" not in project:
        return None
    dependencies = project["dependencies"]
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise ManifestError(f'{path}: [project] dependencies must be an array of strings, e.g. dependencies = ["requests>=2.31"]')
    return dependencies


def _requirement_lines(path: Path) -> list[tuple[str, str]]:
    entries = []
    for number, line in enumerate(_read_bounded(path).splitlines(), 1):
        text = line.split(" #", 1)[0].strip()
        if text and not text.startswith("#"):
            entries.append((f"{path.name} line {number}", text))
    return entries


def _requirement_problem(value: str) -> str | None:
    if len(value) > MAX_REQUIREMENT_LENGTH:
        return f"is longer than {MAX_REQUIREMENT_LENGTH} characters"
    if value.lstrip().startswith("-"):
        return "is a pip option; only requirements are read (the build uses the operator's package index), e.g. requests>=2.31"
    match = _NAME.match(value)
    if not match:
        return "is not a requirement; write NAME[extras] VERSION, e.g. requests>=2.31"
    if "@" in value or "://" in value or not _REST.fullmatch(match.group(3)):
        return "is a URL, a path or not a requirement; name a package from the index, e.g. requests>=2.31"
    return None
