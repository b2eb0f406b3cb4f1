"""Shared fixtures. Everything here is real: a Docker engine, anvil, the signer and the
orchestrator as separate processes. `scripts/test` sets all of it up; a missing piece is
a test failure, not a skip."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from devtools.devstack import DevStack
from orchestrator.agents.images import build_agent_dir_image, build_agent_image
from sandbox_runner.host.images import ensure_base_image

TESTS_DIR = Path(__file__).resolve().parent
AGENTS_DIR = TESTS_DIR / "agents"
REPO_ROOT = TESTS_DIR.parent


def pytest_configure(config) -> None:
    """SIGTERM (a CI timeout, `kill`) ends the run like Ctrl-C, so fixtures tear down: the
    dev stacks' processes run in sessions of their own and would outlive pytest otherwise."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadscope` (scripts/test) with the heaviest modules handed out first."""
    if config.getoption("dist") != "loadscope":
        return None
    from tests.scheduling import HeaviestFirstScheduling

    config.option.loadscopereorder = False  # within a tier, pytest-randomly's order, not size
    return HeaviestFirstScheduling(config, log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A worker sends each report to the controller as UTF-8, and a lone surrogate in captured
    output (SDK tests log one on purpose) would end the worker: such characters are escaped."""
    outcome = yield
    report = outcome.get_result()
    report.sections = [(title, text.encode("utf-8", "backslashreplace").decode("utf-8")) for title, text in report.sections]


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    client = docker.from_env()
    client.ping()
    return client


@pytest.fixture(scope="session")
def base_image(docker_client) -> str:
    return ensure_base_image(docker_client)


@pytest.fixture(scope="session")
def agent_image(docker_client, base_image):
    """Builds (or reuses, by content hash) the image of an agent directory."""

    def build(path: Path) -> str:
        return build_agent_image(path, docker_client)

    return build


@pytest.fixture(scope="session")
def agent_dir_image():
    """Builds (or reuses) the directory image of an agent, for the bubblewrap backend."""

    def build(path: Path) -> str:
        return str(build_agent_dir_image(path))

    return build


@pytest.fixture(scope="session")
def stack(tmp_path_factory, base_image) -> DevStack:
    """One platform for the whole run; one runtimeIntervalMinutes minute lasts 1 s."""
    with DevStack(tmp_path_factory.mktemp("stack"), minute_seconds=1.0, deadline_seconds=60.0) as running:
        yield running


@contextlib.contextmanager
def processes_only(tmp_path_factory, *processes: str) -> Iterator[DevStack]:
    """A dev stack with only `processes` running ("anvil", "signer"; no orchestrator), closed after."""
    stack = DevStack(tmp_path_factory.mktemp("-".join(processes)))
    stack.home.mkdir(parents=True, exist_ok=True)
    try:
        for process in processes:
            getattr(stack, f"start_{process}")()
        yield stack
    finally:
        stack.close()


@pytest.fixture(scope="module")
def anvil_only(tmp_path_factory):
    """Just anvil, for tests of the chain clients. One per test module."""
    with processes_only(tmp_path_factory, "anvil") as stack:
        yield stack


@pytest.fixture(scope="module")
def signer_only(tmp_path_factory):
    """A dev stack with just the signer process running (no anvil, no orchestrator), for
    tests of the signer over its real socket. One per test module."""
    with processes_only(tmp_path_factory, "signer") as stack:
        yield stack
