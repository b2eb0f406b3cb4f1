"""The agent-facing SDK. Runs inside the sandbox; reaches the platform only through
the execution's Unix socket, authenticated with the execution's token.

- `envelopes`  pydantic request/response models: every method returns `{success, data, error}`
- `transport`  the gRPC channel to the execution's socket
- `memory`     `agent.memory.set/get/delete/list`
- `context`    `AgentContext`, what `run(agent)` receives

Circuit-style agents import it as `agent_sdk` (see `sdk/compat/agent_sdk`).
"""

from sdk.context import AgentContext, CurrentPosition

__all__ = ["AgentContext", "CurrentPosition"]
