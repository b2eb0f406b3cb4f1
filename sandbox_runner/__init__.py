"""Sandbox side of the platform.

- `backend`          the interface every sandbox backend implements (spec in, result out)
- `docker_backend`   one locked-down Docker container per execution
- `images`           offline build of the base agent image and of agent images
- `entrypoint`       runs INSIDE the container: builds the AgentContext and calls the agent

This `__init__` imports nothing, because `entrypoint` is copied into agent images,
which carry only the SDK and its few dependencies.
"""
