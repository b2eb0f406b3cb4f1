"""Makes the venue calls its `calls` setting lists, once, and keeps every envelope in
session memory (`call-0`, `call-1`, ...): the tests read what an agent would have seen.
`calls` may instead be {"runs": [[calls of run 0], [calls of run 1], ...]}: a list per run,
kept as `run-0-call-0`, ... (a backtest's steps).

An argument "$<n>.<field>" stands for that field of call n's data (e.g. an order id)."""

import json

from agent_sdk import Agent, AgentContext


def resolve(value, results):
    if isinstance(value, str) and value.startswith("$"):
        index, field = value[1:].split(".", 1)
        return results[int(index)]["data"][field]
    if isinstance(value, dict):
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, results) for v in value]
    return value


def make(agent: AgentContext, calls: list, prefix: str) -> None:
    results = []
    for index, (path, args) in enumerate(calls):
        venue, method = path.split(".")
        envelope = getattr(getattr(agent.platforms, venue), method)(*resolve(args, results))
        results.append(envelope.model_dump(mode="json"))
        agent.memory.set(f"{prefix}call-{index}", json.dumps(results[-1]))


def run(agent: AgentContext) -> None:
    plan = json.loads(agent.settings["calls"])
    if isinstance(plan, dict):
        done = int(agent.memory.get("runs").data.value or 0)
        if done < len(plan["runs"]):
            make(agent, plan["runs"][done], f"run-{done}-")
        agent.memory.set("runs", str(done + 1))
        return
    if agent.memory.get("done").data.value:
        return
    make(agent, plan, "")
    agent.memory.set("done", "yes")


agent = Agent(run_function=run)
