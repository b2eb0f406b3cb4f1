"""Scheduler load: 10,000 sessions due once a minute, driven through the real Scheduler
(leases, kill-switch check, take-over check, release) with a stand-in runner that records
each run in the database as a real one does (an execution row, the next run time) but
starts no container: sandbox start is measured separately (bench/sandbox_overhead.py).

    .venv/bin/python -m bench.scheduler_load [--sessions 10000] [--seconds 90] [--only sqlite|postgres|postgres-3]

For SQLite, PostgreSQL with one replica and PostgreSQL with three replicas (processes) it
prints runs dispatched per second, the delay between a run's due time and its dispatch
(p50/p99; goal: p99 under 1 s) and the memory of each replica process. The baseline, in the
same run on the same database: a bare loop of the claim statement alone (one due session
leased and released per round trip), so the ratio is the scheduler's own cost per run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, update

from bench.common import Row, emit, percentile
from devtools.devpostgres import PostgresServer
from orchestrator.config import SchedulerConfig
from orchestrator.sessions.kill_switch import KillSwitch
from orchestrator.sessions.recovery import Recovery
from orchestrator.sessions.scheduler import Scheduler
from orchestrator.store import AgentRow, Database, ExecutionRow, SessionRow, utcnow

INTERVAL_SECONDS = 60.0
# The first runs fall due this long after every replica process is ready (imported, connected),
# so start-up is not counted as delay.
LEAD_SECONDS = 2.0
MANIFEST = 'name = "Noop"\ntagline = "Does nothing"\nwalletType = "ethereum"\nruntimeIntervalMinutes = 1\nversion = "0.0.1"\n'


class RecordingRunner:
    """Stands in for ExecutionRunner: one database transaction per run, as a real run's
    bookkeeping (no sandbox, no gRPC). Records (due, dispatched) per run."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.samples: list[float] = []
        self.cpu = 0.0  # spent recording runs, so the scheduler's own share can be told apart

    async def execute(self, session_id: int, command: str = "run", due_at: datetime | None = None) -> int:
        # As the real runner: a session claimed ahead of its due time is handed over at that time.
        if due_at is not None and (ahead := (due_at - utcnow()).total_seconds()) > 0:
            await asyncio.sleep(ahead)
        cpu_before = time.process_time()
        dispatched = utcnow()
        with self._db.session() as db:
            session = db.get(SessionRow, session_id)
            self.samples.append((dispatched - session.next_run_at).total_seconds())
            db.add(ExecutionRow(session_id=session_id, command=command, status="succeeded", started_at=dispatched,
                                finished_at=dispatched, replica_id=self._db.replica_id))
            session.next_run_at = session.next_run_at + timedelta(seconds=INTERVAL_SECONDS)
            db.commit()
        self.cpu += time.process_time() - cpu_before
        return 0

    async def kill_running(self, reason: str) -> int:
        return 0

    def lift_halt(self) -> None:
        pass

    def remove_sandbox(self, sandbox_id: str) -> None:
        pass


def populate(url: str, sessions: int) -> None:
    """`sessions` running sessions, their first runs spread evenly over one interval."""
    db = Database(url, "populate")
    now = utcnow()
    with db.session() as s:
        s.add(AgentRow(id=1, name="Noop", version="0.0.1", image="noop", image_id="sha256:noop", wallet_type="ethereum",
                       manifest_toml=MANIFEST, registered_at=now))
        s.commit()
        s.execute(insert(SessionRow), [
            {"agent_id": 1, "wallet_address": "0x" + f"{i:040x}", "status": "running", "execution_mode": "auto", "settings": {},
             "allocation_network": "ethereum:31337", "allocation_asset": "0x" + "ee" * 20, "allocation_amount": "0",
             "created_at": now, "next_run_at": now + timedelta(seconds=LEAD_SECONDS + INTERVAL_SECONDS * i / sessions), "stopped_at": None,
             "breakers": {}, "status_reason": ""}
            for i in range(sessions)
        ])
        s.commit()


def populate_due_times(url: str, sessions: int) -> None:
    """Spreads the sessions' first runs over one interval, starting LEAD_SECONDS from now."""
    db = Database(url, "populate")
    now = utcnow()
    with db.session() as s:
        s.execute(update(SessionRow), [
            {"id": i + 1, "next_run_at": now + timedelta(seconds=LEAD_SECONDS + INTERVAL_SECONDS * i / sessions), "lease_owner": None}
            for i in range(sessions)
        ])
        s.commit()


def replica(url: str, replica_id: str, seconds: float, out: str, ready, go) -> None:  # noqa: ANN001 - multiprocessing events
    """One orchestrator's scheduler for `seconds` from `go`; writes its samples and memory to `out`."""

    async def main() -> RecordingRunner:
        db = Database(url, replica_id)
        runner = RecordingRunner(db)
        config = SchedulerConfig(max_parallel_executions=64)
        # The kill switch needs no signer unless thrown; recovery only its runner and database.
        scheduler = Scheduler(db, runner, KillSwitch(db, None, runner), Recovery(db, runner, None, None, INTERVAL_SECONDS), config)
        db.installation_id()  # connected
        ready.set()
        await asyncio.to_thread(go.wait)
        task = asyncio.create_task(scheduler.run_forever())
        await asyncio.sleep(seconds)
        task.cancel()
        await scheduler.shutdown()
        return runner

    cpu_before = time.process_time()
    runner = asyncio.run(main())
    cpu = time.process_time() - cpu_before
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out).write_text(json.dumps({"samples": runner.samples, "rss_mb": rss_mb, "cpu": cpu, "runner_cpu": runner.cpu}))


def claim_baseline(url: str, rounds: int = 2000) -> float:
    """Claim statements per second: lease one due session and release it, nothing else."""
    db = Database(url, "baseline")
    start = time.perf_counter()
    for _ in range(rounds):
        with db.session() as s:
            row = s.execute(select(SessionRow.id).where(SessionRow.status == "running").order_by(SessionRow.next_run_at)
                            .limit(1).with_for_update(skip_locked=True)).first()
            s.execute(update(SessionRow).where(SessionRow.id == row[0]).values(lease_owner="baseline"))
            s.commit()
        with db.session() as s:
            s.execute(update(SessionRow).where(SessionRow.id == row[0]).values(lease_owner=None))
            s.commit()
    return rounds / (time.perf_counter() - start)


def measure(name: str, url: str, replicas: int, sessions: int, seconds: float) -> None:
    populate(url, sessions)
    baseline = claim_baseline(url)
    with tempfile.TemporaryDirectory() as tmp:
        outs = [str(Path(tmp) / f"{i}.json") for i in range(replicas)]
        context = multiprocessing.get_context("spawn")
        ready, go = [context.Event() for _ in range(replicas)], context.Event()
        processes = [context.Process(target=replica, args=(url, f"r{i}", seconds, outs[i], ready[i], go)) for i in range(replicas)]
        for p in processes:
            p.start()
        for event in ready:
            event.wait()
        populate_due_times(url, sessions)
        go.set()
        for p in processes:
            p.join()
        results = [json.loads(Path(o).read_text()) for o in outs]
    samples = [d for r in results for d in r["samples"]]
    rate = len(samples) / (seconds - LEAD_SECONDS)
    memory = ", ".join(f"{r['rss_mb']:.0f}" for r in results)
    # CPU per run is steadier than throughput on a shared machine: it does not depend on how
    # much of the cores the replicas got.
    runs = max(len(samples), 1)
    cpu_per_run = sum(r["cpu"] for r in results) / runs
    scheduler_cpu_per_run = sum(r["cpu"] - r["runner_cpu"] for r in results) / runs
    print(f"{name:<24} {len(samples):>7} runs  {rate:7.1f} runs/s (needed {sessions / INTERVAL_SECONDS:.0f}/s; "
          f"{rate / baseline:.2f}x the bare claim loop's {baseline:.0f}/s)  due→dispatch p50 {percentile(samples, 50) * 1000:6.1f} ms  "
          f"p99 {percentile(samples, 99) * 1000:7.1f} ms  max {max(samples) * 1000:7.1f} ms  replica CPU per run {cpu_per_run * 1000:.2f} ms "
          f"(the scheduler's own {scheduler_cpu_per_run * 1000:.2f} ms)  "
          f"memory {memory} MB")
    emit(Row(f"scheduler due → dispatch p99, {sessions:,} sessions due each minute, {name}",
             f"p99 {percentile(samples, 99) * 1000:,.0f} ms at {rate:,.0f} runs/s (needed {sessions / INTERVAL_SECONDS:,.0f}/s); "
             f"scheduler CPU {scheduler_cpu_per_run * 1000:.2f} ms per run", f"bare claim loop {baseline:,.0f}/s", rate / baseline,
             "p99 < 1 s at 100k sessions, PostgreSQL, 3 replicas"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--only", choices=["sqlite", "postgres", "postgres-3"])
    args = parser.parse_args()
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            measure("SQLite, 1 replica", f"sqlite:///{tmp}/o.db", 1, args.sessions, args.seconds)
    if args.only in (None, "postgres", "postgres-3"):
        with PostgresServer() as server:
            if args.only in (None, "postgres"):
                measure("PostgreSQL, 1 replica", server.create_database("bench1"), 1, args.sessions, args.seconds)
            if args.only in (None, "postgres-3"):
                measure("PostgreSQL, 3 replicas", server.create_database("bench3"), 3, args.sessions, args.seconds)


if __name__ == "__main__":
    main()
