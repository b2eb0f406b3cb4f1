"""The orchestrator's Prometheus metrics: every series it exports, defined in one place.

Counters and histograms live in prometheus-client's process-wide registry, which the
`/metrics` endpoint (orchestrator/app/metrics_server.py) serves with the signer's decision
counts added at scrape time. Labels are bounded sets the platform itself chose (backends,
outcomes, method names, statuses, configured networks, breaker and rule names): never a
session, wallet, agent or anything an agent wrote, so a series cannot tell one user's activity
from another's and an agent cannot make the series grow.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Seconds, from a warm pool's few milliseconds to a gVisor cold start under load.
_START_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Seconds an SDK call takes on the orchestrator's side.
_CALL_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0)

EXECUTIONS = Counter(
    "corral_executions", "Executions finished, by outcome (succeeded, failed, interrupted), command (run, unwind) and sandbox backend.",
    ["outcome", "command", "backend"],
)
DUE_TO_RUN = Histogram(
    "corral_execution_due_to_run_seconds",
    "From an execution's due time until the agent's run() (or unwind()) was entered, as the sandbox reported it; by backend and "
    "whether a pre-started sandbox took it (start=warm) or one was started for it (start=cold).",
    ["backend", "start"], buckets=_START_BUCKETS,
)
SANDBOX_START = Histogram(
    "corral_sandbox_start_seconds", "Starting a sandbox (a cold start for an execution, or a pre-start for the warm pool), by backend and use.",
    ["backend", "use"], buckets=_START_BUCKETS,
)
SDK_CALLS = Counter(
    "corral_sdk_calls", "Calls agents made to the runtime API, by method and gRPC status code.", ["method", "code"],
)
SDK_CALL_SECONDS = Histogram(
    "corral_sdk_call_seconds", "Time the orchestrator spent answering an SDK call, by method.", ["method"], buckets=_CALL_BUCKETS,
)
TRANSACTIONS = Counter(
    "corral_transactions", "Transaction state changes, by network and the status entered (pending, signed, confirmed, reverted, "
    "rejected, expired).", ["network", "status"],
)
BREAKER_TRIPS = Counter(
    "corral_breaker_trips", "Circuit breakers that paused a session, by breaker (max_loss, signer_refusals, ...).", ["breaker"],
)
SCHEDULER_LAG = Histogram(
    "corral_scheduler_dispatch_lag_seconds", "From a session's due time until the scheduler handed its run to the runner (0 when it "
    "was handed over ahead of time, as the scheduler does a moment before the due time).", buckets=_START_BUCKETS,
)
EGRESS_BYTES = Counter(
    "corral_egress_bytes", "Bytes agents exchanged with the hosts their manifests allow, through the egress proxy, by direction "
    "(out: sent by the agent, in: received).", ["direction"],
)
EGRESS_CONNECTIONS = Counter(
    "corral_egress_connections", "Connections agents opened through the egress proxy, by outcome (allowed; refused: a host not "
    "allowed, a private address, a budget spent; failed: cut off by a limit or closed early).", ["outcome"],
)
