"""Declared dependencies: an agent's pyproject.toml or requirements.txt is resolved and
pinned on the host for the sandbox's Python, installed into the image (the sandbox has no
index), the SDK's own pins win, and an unchanged agent is not resolved again."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from orchestrator.agents.images import build_agent_dir_image
from orchestrator.agents.manifest import ManifestError
from sandbox_runner.host import agent_deps
from tests.conftest import AGENTS_DIR
from tests.helpers import finished, log_lines, start_session, wait_for

CORRAL = [sys.executable, "-P", "-m", "corral_cli.main"]
RUNS_HUMANIZE = '''
import humanize
from agent_sdk import AgentContext


def run(agent: AgentContext) -> None:
    agent.log(f"humanized {humanize.intcomma(1234567)} from {humanize.__file__}")


def unwind(agent: AgentContext, positions: list) -> None:
    pass
'''


def agent_with(tmp_path, pyproject: str | None = None, requirements: str | None = None, main: str = RUNS_HUMANIZE):
    agent = tmp_path / "deps-agent"
    shutil.copytree(AGENTS_DIR / "lifecycle", agent)
    (agent / "main.py").write_text(main)
    if pyproject is not None:
        (agent / "pyproject.toml").write_text(pyproject)
    if requirements is not None:
        (agent / "requirements.txt").write_text(requirements)
    return agent


PYPROJECT = '[project]\nname = "deps-agent"\nversion = "0.1.0"\ndependencies = ["circuit-agent-sdk>=2.10", "humanize>=4"]\n'


@pytest.mark.parametrize("backend", ["runc", "bubblewrap"])
def test_a_declared_dependency_is_importable_at_run_time(tmp_path, tmp_path_factory, agent_image, agent_dir_image, backend):
    sandbox: dict[str, object] = {"backend": "bubblewrap"} if backend == "bubblewrap" else {}
    build = agent_dir_image if backend == "bubblewrap" else agent_image
    image = build(agent_with(tmp_path, pyproject=PYPROJECT))
    with DevStack(tmp_path_factory.mktemp(f"deps-{backend}"), minute_seconds=1.0, deadline_seconds=60.0, sandbox=sandbox) as stack:
        wallet = stack.create_wallet(31337)
        stack.fund(wallet, 10**18)
        _, session = start_session(stack, image, wallet)
        run = wait_for(lambda: finished(stack, session.id), what="the agent's first run")[0]
    assert run.status == pb.EXECUTION_STATUS_SUCCEEDED, (run.error, log_lines(run))
    assert "humanized 1,234,567 from /agent/.corral/deps/humanize/__init__.py" in log_lines(run)


def test_the_lock_records_pins_with_hashes_and_the_sdk_is_not_installed_again(tmp_path):
    image = build_agent_dir_image(agent_with(tmp_path, requirements="# prices\nhumanize>=4  # formatting\npydantic>=2\n"))
    lock = (image / "agent" / ".corral" / "requirements.lock").read_text()
    assert "from requirements.txt" in lock
    pinned = [line for line in lock.splitlines() if not line.startswith("#")]
    assert len(pinned) == 1 and pinned[0].startswith("humanize==") and "--hash=sha256:" in pinned[0]
    deps = image / "agent" / ".corral" / "deps"
    assert (deps / "humanize" / "__pycache__").is_dir()  # byte-compiled by the image's Python
    assert not (deps / "pydantic").exists()  # the image's, the SDK's, is used


def test_a_conflict_with_the_sdks_pins_names_both_versions(tmp_path):
    from sandbox_runner.host.images import _pinned_dependencies

    sdk_pydantic = next(pin for pin in _pinned_dependencies() if pin.startswith("pydantic=="))
    result = subprocess.run([*CORRAL, "build", "--dir", str(agent_with(tmp_path, requirements="pydantic<2\n"))],
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "pydantic<2" in result.stderr and sdk_pydantic in result.stderr, result.stderr
    assert "the SDK pins" in result.stderr and "Traceback" not in result.stderr


def test_a_source_distribution_is_refused_unless_allowed(tmp_path, monkeypatch):
    """No wheel: the build would run the package's own code here; the message says how to allow it."""
    agent = agent_with(tmp_path, requirements="corral-no-such-package-for-tests==1.0\n")
    with pytest.raises(ManifestError) as refused:
        build_agent_dir_image(agent)
    message = str(refused.value)
    assert "no wheel of corral-no-such-package-for-tests==1.0 for CPython 3.13" in message
    assert 'allowSdists = ["corral-no-such-package-for-tests"]' in message and "--allow-sdist" in message


@pytest.mark.parametrize("requirements, fragment", [
    ("--index-url https://evil.example/simple\nhumanize\n", "requirements.txt line 1: '--index-url https://evil.example/simple' is a pip option"),
    ("humanize @ https://evil.example/h.whl\n", "is a URL, a path"),
    ("../local/package\n", "not a requirement"),
])
def test_requirements_are_plain_requirements(tmp_path, requirements, fragment):
    with pytest.raises(ManifestError, match="requirements.txt") as refused:
        build_agent_dir_image(agent_with(tmp_path, requirements=requirements))
    assert fragment in str(refused.value)


def test_both_files_declaring_is_refused(tmp_path):
    with pytest.raises(ManifestError, match="both pyproject.toml and requirements.txt"):
        build_agent_dir_image(agent_with(tmp_path, pyproject=PYPROJECT, requirements="humanize\n"))


def test_an_unchanged_agent_is_not_resolved_again(tmp_path, monkeypatch):
    agent = agent_with(tmp_path, pyproject=PYPROJECT)
    first = build_agent_dir_image(agent)

    def no_resolution(*args, **kwargs):
        raise AssertionError("resolved again")

    monkeypatch.setattr(agent_deps, "resolve", no_resolution)
    shown: list[str] = []
    assert build_agent_dir_image(agent, progress=shown.append) == first
    assert shown[-1] == f"{first} is up to date"
    # A changed requirement is resolved again.
    (agent / "pyproject.toml").write_text(PYPROJECT.replace("humanize>=4", "humanize>=4.1"))
    with pytest.raises(AssertionError, match="resolved again"):
        build_agent_dir_image(agent)
