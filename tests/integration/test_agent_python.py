"""The author's Python: agents run on the sandbox's Python 3.13 (Circuit's floor is 3.12),
`corral build` byte-compiles them with that interpreter and refuses code that does not
compile, and filesToInclude / filesToExclude decide what of the author's files goes in."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from sandbox_runner.host.images import base_dir
from tests.conftest import AGENTS_DIR
from tests.helpers import finished, log_lines, start_session, wait_for

CORRAL = [sys.executable, "-P", "-m", "corral_cli.main"]


def modern_agent(tmp_path):
    """tests/agents/modern beside a copy of the shared code it includes as ../shared_lib."""
    shutil.copytree(AGENTS_DIR / "modern", tmp_path / "modern")
    shutil.copytree(AGENTS_DIR / "shared_lib", tmp_path / "shared_lib")
    return tmp_path / "modern"


@pytest.mark.parametrize("backend", ["runc", "bubblewrap"])
def test_an_agent_written_for_python_3_12_runs(tmp_path, tmp_path_factory, agent_image, agent_dir_image, backend):
    """PEP 701 f-strings, PEP 695 generics and itertools.batched, with code from ../shared_lib;
    the excluded files are not in the image."""
    sandbox: dict[str, object] = {}
    build = agent_image
    if backend == "bubblewrap":
        sandbox["backend"] = "bubblewrap"
        build = agent_dir_image
    image = build(modern_agent(tmp_path))
    with DevStack(tmp_path_factory.mktemp(f"python-{backend}"), minute_seconds=1.0, deadline_seconds=60.0, sandbox=sandbox) as stack:
        wallet = stack.create_wallet(31337)
        stack.fund(wallet, 10**18)
        _, session = start_session(stack, image, wallet)
        run = wait_for(lambda: finished(stack, session.id), what="the modern agent's first run")[0]
    assert run.status == pb.EXECUTION_STATUS_SUCCEEDED, (run.error, log_lines(run))
    lines = log_lines(run)
    assert "pairs [(1, 2), (3, 4)] first 1 mean 2.5 price 3,000" in lines
    assert "python 3.13" in lines
    assert "excluded present: []" in lines


def test_build_compiles_with_the_images_python_at_the_sandbox_path(tmp_path, agent_dir_image):
    """The .pyc files are the image's Python's (cpython-313), made for /agent: nothing is
    compiled again at a cold start (the root filesystem is read-only anyway)."""
    from pathlib import Path

    image = Path(agent_dir_image(modern_agent(tmp_path)))
    assert sorted(p.name for p in (image / "agent" / "__pycache__").iterdir()) == ["main.cpython-313.pyc"]
    assert (image / "agent" / "shared_lib" / "__pycache__" / "stats.cpython-313.pyc").exists()
    assert not (image / "agent" / "notes").exists() and not (image / "agent" / "plan.draft").exists()
    # The code object records where it will run, not the host's build folder.
    rootfs = Path(__import__("json").loads((image / "image.json").read_text())["rootfs"])
    shown = subprocess.run(
        ["bwrap", "--ro-bind", str(rootfs), "/", "--ro-bind", str(image / "agent"), "/agent", "--proc", "/proc", "--dev", "/dev",
         "--", "python3", "-I", "-c",
         "import marshal; f = open('/agent/__pycache__/main.cpython-313.pyc', 'rb'); f.read(16); print(marshal.load(f).co_filename)"],
        capture_output=True, text=True, check=True,
    )
    assert shown.stdout.strip() == "/agent/main.py"
    base = base_dir()
    assert not list(base.rglob("*.cpython-311.pyc"))
    assert (base / "lib" / "sdk" / "__pycache__" / "context.cpython-313.pyc").exists()


@pytest.mark.parametrize("kind", ["--dir", "docker"])
def test_build_refuses_a_syntax_error_naming_the_file_and_line(tmp_path, kind):
    agent = modern_agent(tmp_path)
    (agent / "helpers.py").write_text("def ok() -> int:\n    return 1\n\n\ndef broken(:\n    pass\n")
    result = subprocess.run([*CORRAL, "build", *([kind] if kind == "--dir" else []), str(agent)], capture_output=True, text=True)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "helpers.py, line 5: invalid syntax" in result.stderr, result.stderr
    assert "Python 3.13" in result.stderr
    assert "Traceback" not in result.stderr
