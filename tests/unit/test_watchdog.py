"""The sandbox's PID 1 (`sandbox_runner/inside/watchdog.py`): one interpreter for the watchdog
and the entrypoint (the entrypoint runs in a fork of it, with the path `python3 -m` would
have had), the deadline still ends everything, and exit codes pass through. Run here with
the host's Python; the isolation suite checks the same PID 1 inside every backend."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

WATCHDOG = REPO_ROOT / "sandbox_runner" / "inside" / "watchdog.py"
PROBE = """
import json, os, sys
print(json.dumps({
    "cmdline": open("/proc/self/cmdline", "rb").read().decode().split("\\0"),
    "pid": os.getpid(), "ppid": os.getppid(), "path": sys.path[:3], "argv": sys.argv,
    "dont_write_bytecode": sys.dont_write_bytecode, "name": __name__,
}))
sys.exit(int(os.environ.get("PROBE_EXIT", "0")))
"""


def run(tmp_path: Path, seconds: str, *command: str, exit_code: str = "0") -> subprocess.CompletedProcess:
    (tmp_path / "probe.py").write_text(PROBE)
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{tmp_path}/deps:{tmp_path}", "PYTHONDONTWRITEBYTECODE": "1",
                   "PYTHONUNBUFFERED": "1", "PROBE_EXIT": exit_code}
    return subprocess.run([sys.executable, "-I", str(WATCHDOG), seconds, "--", *command], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_the_entrypoint_runs_in_a_fork_of_the_watchdog_with_the_path_python_m_would_give(tmp_path):
    done = run(tmp_path, "60", "python3", "-m", "probe", "run")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    # No second interpreter: the child is the watchdog's own process image, forked.
    assert seen["cmdline"][:3] == [sys.executable, "-I", str(WATCHDOG)]
    assert seen["path"] == [str(tmp_path), f"{tmp_path}/deps", str(tmp_path)]
    assert seen["argv"] == [str(tmp_path / "probe.py"), "run"] and seen["name"] == "__main__"
    assert seen["dont_write_bytecode"] is True


def test_exit_codes_pass_through(tmp_path):
    assert run(tmp_path, "60", "python3", "-m", "probe", exit_code="3").returncode == 3
    assert run(tmp_path, "60", "sh", "-c", "kill -9 $$").returncode == 137  # executed, killed: 128 + SIGKILL
    assert run(tmp_path, "60", "no-such-command").returncode == 127


def test_past_the_deadline_the_watchdog_ends_with_137_whatever_the_child_does(tmp_path):
    # Outside a PID namespace of its own the child outlives PID 1's exit (in a sandbox the
    # kernel ends it with its namespace), so its output goes to a file and its group is killed.
    stderr = tmp_path / "stderr"
    with stderr.open("w") as err:
        watchdog = subprocess.Popen(
            [sys.executable, "-I", str(WATCHDOG), "1", "--", "python3", "-c",
             "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"],
            stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
        )
        try:
            assert watchdog.wait(timeout=120) == 137
        finally:
            os.killpg(watchdog.pid, signal.SIGKILL)
    assert "deadline of 1s passed" in stderr.read_text()


def test_a_malformed_command_line_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-I", str(WATCHDOG), "5", "python3"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage" in done.stderr


def test_what_the_entrypoint_printed_before_it_was_killed_is_not_lost(tmp_path):
    """PYTHONUNBUFFERED as `python3 -u` has it (the watchdog's -I ignored it): a line printed
    just before a SIGKILL reaches the output (the deadline kill's last words)."""
    (tmp_path / "dies.py").write_text("import os\nprint('sleeping until the market opens')\nos.kill(os.getpid(), 9)\n")
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, "-I", str(WATCHDOG), "60", "--", "python3", "-m", "dies"], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=120)
    assert "sleeping until the market opens\n" in done.stdout, (done.returncode, done.stdout, done.stderr)
