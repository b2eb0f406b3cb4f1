"""The console's own unit tests (console/tests/*.test.ts: escaping agent text, writing
amounts, links), compiled by esbuild and run by node's test runner."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import REPO_ROOT

CONSOLE = REPO_ROOT / "console"
ESBUILD = CONSOLE / "node_modules" / ".bin" / "esbuild"


@pytest.mark.parametrize("source", sorted(p.name for p in (CONSOLE / "tests").glob("*.test.ts")))
def test_console_unit_tests_pass(source, tmp_path):
    if not ESBUILD.is_file():
        pytest.fail("the console's npm packages are installed by scripts/setup (console/node_modules)")
    compiled = tmp_path / source.replace(".ts", ".mjs")
    subprocess.run([str(ESBUILD), str(CONSOLE / "tests" / source), "--bundle", "--platform=node", "--format=esm",
                    f"--outfile={compiled}", "--log-level=warning"], check=True, cwd=CONSOLE, timeout=120)
    ran = subprocess.run(["node", "--test", str(compiled)], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "# fail 0" in ran.stdout and "# pass 0" not in ran.stdout, ran.stdout
