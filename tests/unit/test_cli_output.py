"""What the `corral` command prints survives being pasted and being piped: the commands
`corral new` suggests run in a POSIX shell whatever the directory is called, and a reader
that goes away (`corral ... | head -1`) ends the command quietly."""

from __future__ import annotations

import os
import subprocess

import pytest

from corral_cli.main import SIGPIPE_EXIT
from devtools.devstack import CORRAL_COMMAND


def corral_into_closed_pipe(*args: str, cwd) -> subprocess.CompletedProcess:
    """Runs `corral ARGS` with its stdout a real pipe whose reader has already gone, as
    after `| head -1` read its line: every write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([*CORRAL_COMMAND, *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)


def test_a_closed_pipe_ends_the_command_quietly(tmp_path):
    done = corral_into_closed_pipe("new", "Piped Agent", cwd=tmp_path)
    assert done.returncode == SIGPIPE_EXIT, done.stderr
    assert done.stderr == ""  # no traceback, no "Exception ignored ... BrokenPipeError"
    assert (tmp_path / "Piped Agent" / "circuit.toml").is_file()  # the work was done; only the message was lost


def test_help_into_a_closed_pipe_is_quiet_too(tmp_path):
    """argparse drops its own write errors and exits 0; nothing else may be said either."""
    done = corral_into_closed_pipe("dev", "run", "--help", cwd=tmp_path)
    assert done.returncode in (0, SIGPIPE_EXIT) and done.stderr == ""


def test_a_pipe_read_to_its_end_is_untouched(tmp_path):
    """The handler changes nothing when the reader reads everything."""
    done = subprocess.run(["sh", "-c", " ".join(CORRAL_COMMAND) + " new 'Whole Agent' | cat"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("created Whole Agent/"), done.stderr


@pytest.mark.parametrize("parent", ["plain", "it's $HOME; `id` & (more) #x", "-dash"])
def test_the_next_commands_paste_into_a_posix_shell(tmp_path, parent):
    """Each suggested `corral ...` line, pasted whole (comment and all) into `sh -c` with
    `corral` standing for a function that prints its arguments one a line, hands the
    directory over as one argument."""
    target = f"{parent}/My Agent"  # relative, as a user types it
    done = subprocess.run([*CORRAL_COMMAND, "new", "--", target], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    commands = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("corral ")]
    assert [c.split()[:2] for c in commands] == [["corral", "dev"], ["corral", "build"]]
    for command in commands:
        shown = subprocess.run(["sh", "-c", 'corral() { printf "%s\\n" "$@"; }; ' + command], cwd=tmp_path,
                               capture_output=True, text=True, timeout=30)
        assert shown.returncode == 0, shown.stderr
        argv = shown.stdout.splitlines()
        assert (tmp_path / argv[-1]).resolve() == (tmp_path / target).resolve()
        assert (tmp_path / argv[-1] / "circuit.toml").is_file()
