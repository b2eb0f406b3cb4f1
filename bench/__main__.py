"""Every row of the benchmark table, each against its baseline measured in the same run.

    .venv/bin/python -m bench [--quick] [--only NAME ...]

Runs each benchmark below as its own process (one after the other: they would disturb each
other), collects the rows they emit (`bench.common.emit`) and prints them as the Markdown
table that docs/benchmarks.md carries, dated. `--quick` runs each with fewer repetitions, to
check the harness rather than to publish figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime

from bench.common import ROW_PREFIX, Row

# name -> (full arguments, quick arguments), in the order of the table.
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "sandbox_overhead": (["--runs", "10"], ["--runs", "3", "--sandbox", "runc", "bubblewrap", "--idle", "0", "--parallel", "0"]),
    "sdk_roundtrip": ([], []),
    "tx_path": (["--count", "200"], ["--count", "20"]),
    "sustained": (["--sessions", "16", "--seconds", "120", "--interval", "0", "--parallel", "8", "--warm-pool", "8"],
                  ["--sessions", "8", "--seconds", "20", "--interval", "0", "--parallel", "4", "--warm-pool", "4"]),
    "signer_throughput": (["--count", "3000"], ["--count", "300"]),
    "scheduler_load": (["--sessions", "100000", "--seconds", "90", "--only", "postgres-3"],
                       ["--sessions", "2000", "--seconds", "20", "--only", "postgres-3"]),
    "positions_history": ([], ["--sizes", "0,2000", "--repeat", "30", "--fold-repeat", "1"]),
    "signer_history": ([], ["--sizes", "0,2000", "--repeat", "30", "--startup-lines", "2000"]),
    "idle_cpu": ([], ["--seconds", "10", "--sessions", "10", "--streams", "2"]),
    "egress": (["--runs", "300"], ["--runs", "30"]),
    "notifications": (["--count", "200"], ["--count", "20", "--backend", "sqlite"]),
    "backtest_throughput": (["--runs", "100"], ["--runs", "10"]),
}


def run(name: str, arguments: list[str]) -> list[Row]:
    print(f"== bench.{name} {' '.join(arguments)}", file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", f"bench.{name}", *arguments], capture_output=True, text=True)
    sys.stderr.write(done.stdout)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        return [Row(f"bench.{name}", f"failed (exit {done.returncode})", "", None, "")]
    return [Row(**json.loads(line[len(ROW_PREFIX):])) for line in done.stdout.splitlines() if line.startswith(ROW_PREFIX)]


def table(rows: list[Row]) -> str:
    lines = ["| figure | measured | baseline, same run | ratio | goal |", "|---|---|---|---|---|"]
    lines += [f"| {r.figure} | {r.value} | {r.baseline} | {'' if r.ratio is None else f'{r.ratio:.2f}x'} | {r.goal} |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS))
    args = parser.parse_args()
    rows: list[Row] = []
    for name, (full, quick) in BENCHMARKS.items():
        if not args.only or name in args.only:
            rows += run(name, quick if args.quick else full)
    print(f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python -m bench{' --quick' if args.quick else ''}`:\n")
    print(table(rows))


if __name__ == "__main__":
    main()
