"""Build cost: a cold `corral build` of an agent that declares one dependency, against a
plain `pip install --target DIR` of that dependency measured in the same run.

    .venv/bin/python -m bench.agent_build [--runs 3] [--package humanize]

Cold: each build's agent differs (a fresh comment in main.py), so nothing of the agent is
cached; pip's own download cache is warm for both sides alike. Figures are ratios against
the pip install's p50; absolute numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import percentile, summary

NOOP_AGENT = Path(__file__).resolve().parent / "agents" / "noop"


def pip_installs(package: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as target:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", target, package],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times


def cold_builds(package: str, runs: int, kind: list[str]) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            agent = Path(tmp) / "agent"
            shutil.copytree(NOOP_AGENT, agent)
            (agent / "main.py").write_text((agent / "main.py").read_text() + f"\n# {uuid.uuid4()}\n")
            (agent / "requirements.txt").write_text(package + "\n")
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "corral_cli.main", "build", *kind, str(agent)], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--package", default="humanize")
    args = parser.parse_args()
    # Warm what both sides share (pip's cache) and what is built once per host (the base).
    pip_installs(args.package, 1)
    cold_builds(args.package, 1, [])
    baseline = pip_installs(args.package, args.runs)
    print(f"one dependency ({args.package}), {args.runs} runs each")
    print(summary(f"pip install --target DIR {args.package}", baseline))
    p50 = percentile(baseline, 50)
    print(summary("corral build --dir (bubblewrap image), cold", cold_builds(args.package, args.runs, ["--dir"]), p50))
    print(summary("corral build (Docker image), cold", cold_builds(args.package, args.runs, []), p50))


if __name__ == "__main__":
    main()
