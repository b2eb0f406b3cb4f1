"""Runs inside the sandbox (copied into every agent image; imports only `sdk` and `corral`).

- `contract`    what host and inside agree on: entrypoint, watchdog, socket path, environment
- `entrypoint`  builds the AgentContext and calls the agent's `run` / `unwind`
- `watchdog`    PID 1: ends the sandbox at its deadline even if nobody is watching
"""
