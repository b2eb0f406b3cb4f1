"""The orchestrator's reaper runs in a thread beside pool refills and executions; it must
remove what no one owns and never what is being set up (a socket directory or container
whose id is claimed but not yet handed to an execution or the pool)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from orchestrator.config import OrchestratorConfig
from orchestrator.executions.runner import ExecutionRunner
from orchestrator.store import Database
from sandbox_runner.host.backend import SANDBOX_ID_LABEL, SandboxLimits
from sandbox_runner.host.docker_backend import DockerBackend


def test_reaper_spares_claimed_sandboxes_and_removes_released_ones(docker_client, base_image, tmp_path):
    socket_root = Path(tempfile.mkdtemp(prefix="corral-reaper-"))
    config = OrchestratorConfig(database_url=f"sqlite:///{tmp_path}/o.db", socket_root=socket_root)
    backend = DockerBackend(docker_client)
    runner = ExecutionRunner(config, Database(config.database_url), backend, gateway=None)

    # What a pool refill does in its thread: claim an id, make its directory, create its container.
    socket_dir = runner.new_socket_dir("0123456789abcdef")
    spec = runner.sandbox_spec(base_image, SandboxLimits(), socket_dir, token="t", idle_seconds=0.0)
    container = docker_client.containers.create(**backend.container_options(spec))
    try:
        # A reaper pass in the middle of that set-up leaves everything in place.
        assert runner.remove_orphans() == 0
        assert socket_dir.is_dir()
        container.reload()
        assert container.labels[SANDBOX_ID_LABEL] == "0123456789abcdef"

        # Once released, whatever is left of it (here: the container) is an orphan.
        runner.release_socket_dir(socket_dir)
        assert runner.remove_orphans() == 1
        assert not docker_client.containers.list(all=True, filters={"id": container.id})
        # An unclaimed directory (a crashed run's leftover) goes too.
        (socket_root / "sbx-feedfacefeedface").mkdir()
        assert runner.remove_orphans() == 1
        assert not (socket_root / "sbx-feedfacefeedface").exists()
    finally:
        if docker_client.containers.list(all=True, filters={"id": container.id}):
            container.remove(force=True)
