"""Sandboxes, in two halves that never share code in the wrong direction.

- `inside/`  runs INSIDE every sandbox and is copied into agent images: the entrypoint,
             the watchdog (PID 1) and the contract both halves agree on. It imports only
             `sdk` and `corral`.
- `host/`    runs on the host: the backend interface, the Docker and bubblewrap backends,
             cgroups, seccomp, the root launcher and its client, socket directories and
             the base image. It never imports the orchestrator.

This `__init__` imports nothing: it is copied into agent images too.
"""
