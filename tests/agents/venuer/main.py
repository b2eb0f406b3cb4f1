"""Makes the venue calls its `calls` setting lists, once, and keeps every envelope in
session memory (`call-0`, `call-1`, ...): the tests read what an agent would have seen.

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


def run(agent: AgentContext) -> None:
    if agent.memory.get("done").data.value:
        return
    results = []
    for index, (path, args) in enumerate(json.loads(agent.settings["calls"])):
        venue, method = path.split(".")
        envelope = getattr(getattr(agent.platforms, venue), method)(*resolve(args, results))
        results.append(envelope.model_dump(mode="json"))
        agent.memory.set(f"call-{index}", json.dumps(results[-1]))
    agent.memory.set("done", "yes")


agent = Agent(run_function=run)
