"""An agent's declared dependencies, resolved, pinned and installed on the build host.

The sandbox has no package index and never will: `corral build` resolves the requirements
with the host's pip for the image's interpreter (CPython 3.13, manylinux x86_64), wheels
only unless a package is allowed to build from source, with the SDK's own pins as
constraints (the image holds one copy of each SDK dependency, the SDK's, so those pins win
and a requirement that contradicts one is refused naming both versions). The result is a
lock (name==version --hash=sha256:...) that pip then installs with --require-hashes into
/agent/.corral/deps, where the sandbox's PYTHONPATH finds it after the SDK's packages.

Installing a wheel only unpacks it; a source distribution runs its build code on this
host, which is why each one must be named by the author (circuit.toml [dependencies]
allowSdists, or `corral build --allow-sdist NAME`), and why it must build a wheel any
Python 3.13 can use (pure Python), since the host's Python is not the image's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Where the build puts the dependencies and their lock inside /agent (see agent_files.RESERVED_DIR).
DEPS_DIR = ".corral/deps"
LOCK_FILE = ".corral/requirements.lock"
# Each source distribution built needs a new resolution: bounded.
MAX_SOURCE_BUILDS = 10
_PIP_TIMEOUT_SECONDS = 900


def wheel_target(python: str) -> list[str]:
    """pip options that pick wheels for the image's interpreter, not the host's."""
    platforms = ["manylinux_2_39_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    return [arg for p in platforms for arg in ("--platform", p)] + ["--python-version", python, "--implementation", "cp"]


@dataclass(frozen=True)
class Pin:
    """One distribution the agent's requirements resolve to, as installed."""

    name: str
    version: str
    sha256: str
    built_from_source: bool = False

    def lock_line(self) -> str:
        return f"{self.name}=={self.version} --hash=sha256:{self.sha256}"


class DependencyError(ValueError):
    """The declared dependencies cannot be installed as they are; says why and what to change."""


def normalized_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(requirements: Sequence[str], sdk_pins: Sequence[str], python: str, allow_sdists: frozenset[str], workdir: Path,
            progress: Callable[[str], None]) -> list[Pin]:
    """The pinned distributions `requirements` need beyond the SDK's (which the image has)."""
    (workdir / "requirements.in").write_text("\n".join(requirements) + "\n")
    (workdir / "sdk-constraints.txt").write_text("\n".join(sdk_pins) + "\n")
    wheelhouse = workdir / "built"
    wheelhouse.mkdir(exist_ok=True)
    allowed = {normalized_name(n) for n in allow_sdists}
    built: set[str] = set()
    for _ in range(MAX_SOURCE_BUILDS + 1):
        report = workdir / "report.json"
        result = _pip("install", "--dry-run", "--ignore-installed", "--report", str(report), "--only-binary=:all:",
                      *wheel_target(python), "--find-links", str(wheelhouse),
                      "-c", str(workdir / "sdk-constraints.txt"), "-r", str(workdir / "requirements.in"))
        if result.returncode == 0:
            return _pins(json.loads(report.read_text()), sdk_pins, built)
        output = result.stdout + result.stderr
        missing = re.search(r"No matching distribution found for (\S+)", output)
        if missing and normalized_name(_requirement_name(missing.group(1))) in allowed - built:
            requirement = missing.group(1)
            progress(f"building {requirement} from its source distribution (allowed by allowSdists)...")
            _build_from_source(requirement, wheelhouse, python)
            built.add(normalized_name(_requirement_name(requirement)))
            continue
        raise DependencyError(_explain(output, sdk_pins, python, missing.group(1) if missing else None))
    raise DependencyError(f"more than {MAX_SOURCE_BUILDS} source distributions to build; list fewer in allowSdists")


def install(pins: Sequence[Pin], target: Path, python: str, workdir: Path) -> None:
    """Downloads each pinned wheel (checked against its hash) and unpacks it into `target`."""
    lock = workdir / "install.lock"
    lock.write_text("".join(pin.lock_line() + "\n" for pin in pins))
    result = _pip("install", "--target", str(target), "--no-deps", "--no-compile", "--only-binary=:all:", "--require-hashes",
                  *wheel_target(python), "--find-links", str(workdir / "built"), "-r", str(lock))
    if result.returncode != 0:
        raise DependencyError("installing the pinned wheels failed: " + _last_errors(result.stdout + result.stderr))


def lock_text(pins: Sequence[Pin], sdk_pins: Sequence[str], source: str, python: str) -> str:
    """What the image records (/agent/.corral/requirements.lock) and `corral build` shows."""
    lines = [f"# Resolved by `corral build` from {source} for CPython {python} (manylinux x86_64);",
             f"# installed in /agent/{DEPS_DIR}. Provided by the image, whose SDK pins win: {', '.join(sdk_pins)}."]
    for pin in pins:
        lines.append(pin.lock_line() + ("  # built from its source distribution" if pin.built_from_source else ""))
    return "\n".join(lines) + "\n"


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input", "--progress-bar", "off"],
                          capture_output=True, text=True, timeout=_PIP_TIMEOUT_SECONDS)


def _pins(report: dict, sdk_pins: Sequence[str], built: set[str]) -> list[Pin]:
    sdk = {normalized_name(pin.split("==")[0]) for pin in sdk_pins}
    pins = []
    for item in report.get("install", []):
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        if normalized_name(name) in sdk:
            continue  # the image's copy, at the SDK's version (a constraint of the resolution)
        hashes = item.get("download_info", {}).get("archive_info", {}).get("hashes", {})
        if "sha256" not in hashes:
            raise DependencyError(f"{name} {version} came without a sha256 from the index; it cannot be pinned")
        pins.append(Pin(name, version, hashes["sha256"], normalized_name(name) in built))
    return sorted(pins, key=lambda p: normalized_name(p.name))


def _build_from_source(requirement: str, wheelhouse: Path, python: str) -> None:
    result = _pip("wheel", "--no-deps", "--no-binary", _requirement_name(requirement), "-w", str(wheelhouse), requirement)
    if result.returncode != 0:
        raise DependencyError(f"{requirement}: its source distribution did not build: {_last_errors(result.stdout + result.stderr)}")
    for wheel in wheelhouse.glob("*.whl"):
        tags = wheel.name.removesuffix(".whl").split("-")[-3:]
        if tags[2] != "any" or not (tags[0].startswith("py3") or tags[0] == f"cp{python.replace('.', '')}"):
            wheel.unlink()
            raise DependencyError(f"{requirement}: its source distribution builds a compiled wheel for this host ({'-'.join(tags)}), "
                                  f"not for the image's CPython {python}; use a version that publishes manylinux wheels")


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    return match.group(0) if match else requirement


def _explain(output: str, sdk_pins: Sequence[str], python: str, missing: str | None) -> str:
    caused = re.search(r"The conflict is caused by:\n((?:[ \t]+.+\n?)+)", output)
    if caused:
        reasons = [line.strip() for line in caused.group(1).splitlines() if line.strip()]
        for pin in sdk_pins:
            name = pin.split("==")[0]
            if any(f"(constraint) {pin}" in r for r in reasons):
                theirs = [r for r in reasons if "(constraint)" not in r and re.search(rf"\b{re.escape(name)}\b", r, re.I)]
                return (f"the agent's dependencies need {'; '.join(theirs) or 'another version of ' + name}, but the SDK pins "
                        f"{pin} and its pin wins (the image holds one {name}, the SDK's): allow {name} {pin.split('==')[1]} "
                        "in your requirements, or pick versions of your packages that do")
        return "the declared dependencies conflict with each other: " + "; ".join(reasons)
    if missing:
        return (f"no wheel of {missing} for CPython {python} on manylinux x86_64 (or no such package on the index). Only wheels "
                "are installed by default: a source distribution runs its own build code on this host. If you trust it, allow it "
                f"in circuit.toml ([dependencies] allowSdists = [\"{_requirement_name(missing)}\"]) or with "
                f"`corral build --allow-sdist {_requirement_name(missing)}`")
    return "resolving the declared dependencies failed: " + _last_errors(output)


def _last_errors(output: str) -> str:
    errors = [line.removeprefix("ERROR: ") for line in output.splitlines() if line.startswith("ERROR:")]
    return " ".join(errors[-3:]) or output.strip()[-500:]
