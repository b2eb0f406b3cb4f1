"""With a warm pool, executions run in pre-started sandboxes: each used once, each with
its own token, all removed when the orchestrator stops."""

from __future__ import annotations

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
    return docker_client.containers.list(all=True, filters={"label": f"org.corral.installation={installation}"})


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
        ids_seen = {c.labels["org.corral.sandbox-id"] for c in idle}
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
        wait_for(lambda: all(e.status != pb.EXECUTION_STATUS_RUNNING for e in executions(stack, session.id)))

        assert [e.status for e in runs[:3]] == [pb.EXECUTION_STATUS_SUCCEEDED] * 3, [e.error for e in runs]
        assert [log_lines(e)[0].split(" for ")[0] for e in runs[:3]] == ["run 1", "run 2", "run 3"]
        txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
        assert stack.web3.eth.get_balance(recipient) == 1_000_000_000_000 * len(txs)
        assert len(ids_seen) == 2
    # Stopping the orchestrator drains its pool.
    assert installation_containers(docker_client, installation) == []
