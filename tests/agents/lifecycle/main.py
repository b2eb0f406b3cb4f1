"""Circuit v2.10 style: module-level run and unwind. Counts its runs in session memory,
and says which positions it was asked to unwind."""

from agent_sdk import AgentContext


def run(agent: AgentContext) -> None:
    runs = agent.memory.get("runs")
    count = int(runs.data.value or 0) + 1 if runs.success else 1
    agent.memory.set("runs", str(count))
    agent.log(f"run {count}")


def unwind(agent: AgentContext, positions) -> None:
    runs = agent.memory.get("runs")
    held = sorted(f"{p.network}/{p.assetAddress}" for p in positions)
    agent.log(f"unwinding {held} after {runs.data.value} runs")
