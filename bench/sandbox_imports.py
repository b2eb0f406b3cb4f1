"""CPU a cold sandbox spends in its own Python before the agent's `run()`, and through the
agent's first SDK call, against a bare `python3 -c pass` of the same image, measured in the same run:

    .venv/bin/python -m bench.sandbox_imports [--runs 15]

Each figure runs the image's python3 under bubblewrap over the base image's files (as the
bubblewrap backend does, without the CPU quota) and takes the process's CPU time (user +
system) up to the figure's end, leaving out the interpreter's exit; the median over the runs.
With valgrind on the host it also counts instructions to the same point (callgrind, one run
each), which a busy machine does not blur.

- entrypoint: `python3 -m sandbox_runner.inside.entrypoint run` as the sandbox runs it, with
  nothing behind its socket: its imports, then main() until its first call is refused and it
  reports (everything before the agent's code but the platform's answers);
- SDK first calls: the entrypoint imported as a module, the AgentContext an execution gets, a
  logged line and a memory read (against a refusing stand-in transport): what the SDK leaves
  for the agent's first calls shows here.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
from pathlib import Path

from sandbox_runner.host.images import base_dir, rootfs_dir

# Ends every figure: its CPU so far on stderr, then out without the interpreter's exit.
_REPORT = """
import os as _os, resource as _resource, sys as _sys
_usage = _resource.getrusage(_resource.RUSAGE_SELF)
_sys.stderr.write(f"CPU {(_usage.ru_utime + _usage.ru_stime) * 1000}\\n")
_sys.stderr.flush()
_os._exit(0)
"""
ENTRYPOINT = """
import runpy, sys
sys.argv = ["entrypoint", "run"]
try:
    runpy.run_module("sandbox_runner.inside.entrypoint", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
"""
FIRST_CALL = """
import sandbox_runner.inside.entrypoint
from sdk.context import AgentContext

class Refusing:
    def call(self, method, request):
        raise RuntimeError("no platform here")

agent = AgentContext(sessionId=1, sessionWalletAddress="0x" + "1" * 40, settings={"a": 1.0}, currentPositions=[], transport=Refusing())
agent.log("entered")
agent.memory.get("first-call")
"""
FIGURES = {
    "python3 -c pass": "pass",
    "entrypoint, to its first call": ENTRYPOINT,
    "SDK imported, to its first calls returned": FIRST_CALL,
}
VALGRIND_LIB = Path("/usr/libexec/valgrind")


def sandboxed(code: str, *, callgrind: bool = False) -> list[str]:
    rootfs, base = rootfs_dir(), base_dir()
    command = [
        "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
        "--ro-bind", str(rootfs), "/", "--ro-bind", str(base), "/opt/corral",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "PYTHONPATH", "/opt/corral/lib:/opt/corral/lib/sdk/compat:/opt/corral/deps",
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "PYTHONHASHSEED", "0",
        "--setenv", "CORRAL_SOCKET", "/run/corral/runtime.sock",
    ]
    code += _REPORT
    python = ["python3", "-c", code]
    if callgrind:
        valgrind = Path(shutil.which("valgrind.bin") or "/usr/bin/valgrind.bin")
        command += ["--ro-bind", str(valgrind), "/tmp/vg/valgrind", "--ro-bind", str(VALGRIND_LIB), "/tmp/vg/lib",
                    "--setenv", "VALGRIND_LIB", "/tmp/vg/lib"]
        python = ["/tmp/vg/valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", "/usr/bin/python3", "-c", code]
    return [*command, "--", *python]


def cpu_ms(code: str) -> float:
    result = subprocess.run(sandboxed(code), capture_output=True, text=True, timeout=120)
    found = re.search(r"^CPU ([0-9.]+)$", result.stderr, re.M)
    if found is None:
        raise SystemExit(f"the sandboxed python failed: {result.stderr[-2000:]}")
    return float(found.group(1))


def instructions(code: str) -> int | None:
    if not VALGRIND_LIB.is_dir() or not (shutil.which("valgrind.bin") or Path("/usr/bin/valgrind.bin").exists()):
        return None
    result = subprocess.run(sandboxed(code, callgrind=True), capture_output=True, text=True, timeout=600)
    found = re.search(r"Collected : (\d+)", result.stderr)
    return int(found.group(1)) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="runs per figure (interleaved)")
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in FIGURES}
    for _ in range(args.runs):
        for name, code in FIGURES.items():
            times[name].append(cpu_ms(code))
    counts = {name: instructions(code) for name, code in FIGURES.items()}
    baseline = statistics.median(times["python3 -c pass"])
    for name in FIGURES:
        median = statistics.median(times[name])
        count = counts[name]
        shown = f"  {count / 1e6:8.1f}M instructions" if count is not None else ""
        print(f"{name:<40} CPU p50 {median:6.1f} ms  {median / baseline:5.2f}x{shown}")


if __name__ == "__main__":
    main()
