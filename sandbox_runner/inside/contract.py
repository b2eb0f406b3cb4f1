"""What the host and the inside of a sandbox agree on: how it is started, where its socket
appears, and the environment the host may set. The host imports these; nothing here
imports host code (this file is copied into every agent image)."""

from __future__ import annotations

# Where the execution's socket directory appears inside the sandbox.
SANDBOX_SOCKET_DIR = "/run/corral"
SOCKET_NAME = "runtime.sock"
# Present when the execution may reach declared hosts: the egress proxy (orchestrator/egress),
# and the operator's extra CA certificates for the sandbox's HTTPS clients, if any.
EGRESS_SOCKET_NAME = "egress.sock"
EGRESS_CA_NAME = "egress-ca.pem"
# The in-image entrypoint every agent image runs (the base image's ENTRYPOINT).
ENTRYPOINT = ["python3", "-m", "sandbox_runner.inside.entrypoint"]
# PID 1 of every sandbox: ends it past the deadline even if nobody is watching (the
# orchestrator crashed). Run as a script in isolated mode (-I: no PYTHON* variables, no
# working directory or script directory on the path), so neither the agent's files in
# /agent nor anything in the environment can stand in for it.
WATCHDOG = ["python3", "-I", "/opt/corral/lib/sandbox_runner/inside/watchdog.py"]
# Set for a pre-started (warm pool) sandbox: how long its entrypoint waits for the
# execution's socket to appear before giving up unused.
WAIT_FOR_SOCKET_ENV = "CORRAL_WAIT_FOR_SOCKET_SECONDS"
