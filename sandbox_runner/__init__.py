"""Sandbox side of the platform.

- `backend`          the interface every sandbox backend implements (spec in, result out)
- `docker_backend`   one locked-down Docker container per execution
- `images`           offline build of the base agent image and of agent images
- `watchdog`         runs INSIDE, as PID 1: ends the sandbox at its deadline on its own
- `entrypoint`       runs INSIDE the container: builds the AgentContext and calls the agent

This `__init__` imports nothing, because `entrypoint`, `watchdog` and `backend` (stdlib
only) are copied into agent images, which carry only the SDK and its few dependencies.
"""
