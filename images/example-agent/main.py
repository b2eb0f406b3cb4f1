"""The example agent: written exactly as for Circuit's Python SDK (v2.10 style)."""

from agent_sdk import AgentContext


def run(agent: AgentContext) -> None:
    seen = agent.memory.get("runs")
    runs = int(seen.data.value) if seen.success and seen.data.value is not None else 0
    agent.log(f"run {runs + 1} for session {agent.sessionId} on {agent.sessionWalletAddress}")

    stored = agent.memory.set("runs", str(runs + 1))
    if not stored.success:
        agent.log(f"could not store the run counter: {stored.error}", error=True)

    network = agent.currentPositions[0].network if agent.currentPositions else "ethereum:31337"
    sent = agent.sign_and_send(
        {
            "network": network,
            "message": "example tip",
            "request": {
                "to_address": agent.settings["recipient"],
                "data": "0x",
                "value": str(agent.settings["tip_wei"]),
            },
        }
    )
    if sent.success:
        agent.log(f"tip sent: {sent.data.tx_hash}")
    else:
        agent.log(f"tip failed: {sent.error}", error=True)


def unwind(agent: AgentContext, positions) -> None:
    agent.log(f"unwinding {len(positions)} positions: nothing to close")
