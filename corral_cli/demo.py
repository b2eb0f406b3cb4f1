"""`corral demo`: the platform on embedded defaults, running the example agent.

Brings up anvil, the signer and the orchestrator as real processes, builds the example
agent image, creates and funds a wallet, starts a session and prints its executions,
logs and confirmed transactions as they happen.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from corral.v1 import orchestrator_pb2 as pb
from corral_cli.client import STATUS_NAMES, TX_NAMES, print_executions
from devtools.devstack import REPO_ROOT, DevStack
from orchestrator.agents.images import build_agent_image

EXAMPLE_AGENT = REPO_ROOT / "images" / "example-agent"
RECIPIENT = "0x000000000000000000000000000000000000dEaD"


def run_demo(home: Path, runs: int, minute_seconds: float) -> int:
    print("building the example agent image (the base image is built once, then cached)...", flush=True)
    image = build_agent_image(EXAMPLE_AGENT)
    print(f"image: {image}")
    # anvil starts empty every time, so the demo's database and keys do too.
    shutil.rmtree(home, ignore_errors=True)
    with DevStack(home, minute_seconds=minute_seconds, metrics=True, browser_origins=[]) as stack:
        print(f"anvil on {stack.rpc_url}, signer on {stack.signer_socket}, orchestrator on {stack.api_address}")
        print(f"web console on http://{stack.browser_address}/console/ (this demo's API is open on loopback: any key signs in)")
        print(f"Prometheus metrics on {stack.metrics_url}")
        if stack.orchestrator_user:
            print(f"the orchestrator runs as {stack.orchestrator_user} (no root, no keys); the launcher on {stack.launcher_socket} "
                  f"starts its sandboxes; the signer runs as {stack.signer_user}")
        wallet = stack.create_wallet(recipients=[RECIPIENT])
        stack.fund(wallet, 10**18)
        print(f"wallet {wallet} created by the signer and funded with 1 ETH on ethereum:31337; its policy pays only {RECIPIENT}, "
              "at most 0.01 ETH a transaction and 0.1 ETH a day with fees")
        agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent
        print(f"registered agent {agent.id}: {agent.name} {agent.version}")
        before = stack.web3.eth.get_balance(RECIPIENT)
        session = stack.api.StartSession(pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet)).session
        print(f"session {session.id} running; one run every {minute_seconds:g}s. Ctrl-C to stop.\n", flush=True)
        shown: set[int] = set()
        try:
            while runs == 0 or len(shown) < runs:
                time.sleep(0.5)
                executions = stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session.id, view=pb.RESOURCE_VIEW_FULL)).executions
                finished = [e for e in reversed(executions) if e.id not in shown and e.status != pb.EXECUTION_STATUS_RUNNING]
                if finished:
                    print_executions(finished)
                    shown.update(e.id for e in finished)
        except KeyboardInterrupt:
            pass
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
        print("\ntransactions:")
        for t in stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions:
            print(f"  {TX_NAMES[t.status]:<10} block {t.block_number}  {t.tx_hash}  {t.value} wei → {t.to_address}")
        after = stack.web3.eth.get_balance(RECIPIENT)
        print(f"\n{RECIPIENT} received {after - before} wei (read back from anvil with web3)")
        failed = [e for e in stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session.id)).executions if STATUS_NAMES[e.status] == "failed"]
        return 1 if failed else 0
