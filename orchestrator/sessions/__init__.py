"""Sessions over time.

- `lifecycle`    start, pause, resume, unwind, stop (every refusal a clear status)
- `scheduler`    finds due sessions and dispatches their executions
- `kill_switch`  the platform-wide halt
- `replicas`     the orchestrators sharing one database, and which are alive
- `recovery`     closing or finishing what a crashed replica left half-done
- `reconcile`    do the wallets hold what their sessions are owed?
- `paper`        paper sessions: their forks opened and kept running
- `backtest_report`  a backtest's figures from its steps
"""
