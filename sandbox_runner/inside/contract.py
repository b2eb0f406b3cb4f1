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
# Set for a pre-started (warm pool) sandbox: how long its entrypoint waits to be given an
# execution before giving up unused.
WAIT_FOR_SOCKET_ENV = "CORRAL_WAIT_FOR_SOCKET_SECONDS"
# A pre-started sandbox's doorbell: a Unix socket the host binds in the socket directory
# before the sandbox starts. The sandbox connects and blocks reading it (no polling, no CPU
# while it waits); the host writes DOORBELL_RING once the execution's runtime socket is in
# place, or closes the connection to send it away unused. A Unix socket because it is what
# crosses the bind mount under runc, gVisor (runsc --host-uds=open) and bubblewrap alike;
# inotify and FIFOs do not under gVisor.
DOORBELL_NAME = "doorbell.sock"
DOORBELL_RING = b"\x01"
# The ring may carry the execution's context, so that the sandbox enters `run()` without
# asking for it first: after DOORBELL_RING, the length of the serialized
# GetExecutionContextResponse (4 bytes, big-endian), then the message, then end of file. End
# of file right after DOORBELL_RING means "ask GetExecutionContext" (a context over the bound;
# an entrypoint that reads one byte only, as images built before this did, asks anyway).
DOORBELL_CONTEXT_LENGTH_BYTES = 4
# As gRPC's default limit on a message the sandbox receives, which GetExecutionContext is held to.
DOORBELL_CONTEXT_MAX_BYTES = 4 << 20
