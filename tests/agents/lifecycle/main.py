"""Circuit v2.10 style: module-level run and unwind. Counts its runs in session memory,
and says which positions it was asked to unwind."""

from agent_sdk import AgentContext


def run(agent: AgentContext) -> None:
    runs = agent.memory.get("runs")
    count = int(runs.data.value or 0) + 1 if runs.success else 1
    agent.memory.set("runs", str(count))
    agent.log(f"run {count}")
    # Shared memory: every session of this agent leaves its mark where the others see it.
    agent.memory.set(f"session-{agent.sessionId}", str(count), shared=True)
    marks = agent.memory.list(shared=True)
    agent.log(f"sessions seen: {len(marks.data.items) if marks.success else marks.error}")


def unwind(agent: AgentContext, positions) -> None:
    runs = agent.memory.get("runs")
    held = sorted(f"{p.network}/{p.assetAddress}" for p in positions)
    agent.log(f"unwinding {held} after {runs.data.value} runs")
