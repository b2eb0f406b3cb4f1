"""With a warm pool, executions run in pre-started sandboxes: each used once, each with
its own token, all removed when the orchestrator stops."""

from __future__ import annotations

import pytest
from eth_account import Account

from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import executions, finished, log_lines, start_session, wait_for

EXAMPLE_AGENT = REPO_ROOT / "images" / "example-agent"


def installation_of(stack: DevStack) -> str:
    import sqlite3

    with sqlite3.connect(stack.database_path) as db:
        return db.execute("SELECT value FROM platform_settings WHERE key = 'installation_id'").fetchone()[0]


def installation_containers(docker_client, installation: str) -> list:
    """The installation's containers as the engine lists them (sparse: not inspected one by
    one, which fails for a container the pool removes between the list and the inspect)."""
    return docker_client.containers.list(all=True, sparse=True, filters={"label": f"org.corral.installation={installation}"})


def test_warm_pool_runs_each_execution_in_a_fresh_pre_started_sandbox(tmp_path, agent_image, docker_client):
    with DevStack(tmp_path / "pool", minute_seconds=1.0, sandbox={"warm_pool_size": 2}) as stack:
        wallet = stack.create_wallet()
        stack.fund(wallet, 10**18)
        recipient = Account.create().address
        _, session = start_session(stack, agent_image(EXAMPLE_AGENT), wallet, {"recipient": recipient})
        runs = wait_for(lambda: (r := finished(stack, session.id)) and len(r) >= 3 and r, what="three executions")
        installation = installation_of(stack)
        # Once warm, the pool holds its size in idle, running sandboxes.
        idle = wait_for(lambda: len(installation_containers(docker_client, installation)) >= 2
                        and installation_containers(docker_client, installation))
        ids_seen = {c.attrs["Labels"]["org.corral.sandbox-id"] for c in idle}
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
        wait_for(lambda: all(e.status != pb.EXECUTION_STATUS_RUNNING for e in executions(stack, session.id)))

        assert [e.status for e in runs[:3]] == [pb.EXECUTION_STATUS_SUCCEEDED] * 3, [e.error for e in runs]
        assert [log_lines(e)[0].split(" for ")[0] for e in runs[:3]] == ["run 1", "run 2", "run 3"]
        txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
        assert stack.web3.eth.get_balance(recipient) == 1_000_000_000_000 * len(txs)
        assert len(ids_seen) == 2
    # Stopping the orchestrator drains its pool.
    assert installation_containers(docker_client, installation) == []


@pytest.mark.parametrize("runtime", ["runc", "gvisor", "bubblewrap"])
def test_a_pre_started_sandbox_is_rung_and_runs_its_execution_under_every_backend(runtime, tmp_path, agent_image, agent_dir_image):
    """A pooled sandbox waits on its doorbell (a Unix socket in its socket directory, the one
    kind of file that crosses the bind mount under runc, gVisor and bubblewrap alike), and
    the execution that takes it rings it: the execution then runs in that very sandbox."""
    sandbox: dict[str, object] = {"warm_pool_size": 1}
    image_of = agent_image
    if runtime == "gvisor":
        sandbox["runtime"] = "runsc"
    if runtime == "bubblewrap":
        sandbox["backend"] = "bubblewrap"
        image_of = agent_dir_image
    with DevStack(tmp_path / "pool", minute_seconds=1.0, sandbox=sandbox) as stack:
        wallet = stack.create_wallet()
        stack.fund(wallet, 10**18)
        _, session = start_session(stack, image_of(EXAMPLE_AGENT), wallet, {"recipient": Account.create().address})
        wait_for(lambda: finished(stack, session.id), what="the first (cold) execution")
        # A sandbox the pool started: its socket directory holds the doorbell and nothing else yet.
        pooled = wait_for(lambda: [p.name.removeprefix("sbx-") for p in stack.socket_root.iterdir()
                                   if sorted(f.name for f in p.iterdir()) == ["doorbell.sock"]], what="a pre-started sandbox")[0]

        def ran_in_it():
            import sqlite3

            with sqlite3.connect(stack.database_path) as db:
                row = db.execute("SELECT id FROM executions WHERE sandbox_id = ? AND status != 'running'", (pooled,)).fetchone()
            return row and [e for e in finished(stack, session.id) if e.id == row[0]]

        taken = wait_for(ran_in_it, what=f"an execution in the pre-started sandbox {pooled}")[0]
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    assert taken.status == pb.EXECUTION_STATUS_SUCCEEDED, taken.error
    assert log_lines(taken)[0].startswith("run ")
