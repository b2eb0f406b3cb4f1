"""The agent-facing SDK. Runs inside the sandbox; reaches the platform only through
the execution's Unix socket, authenticated with the execution's token.

- `envelopes`  pydantic request/response models: every method returns `{success, data, error}`
- `transport`  the gRPC channel to the execution's socket
- `memory`     `agent.memory.set/get/delete/list`
- `portfolio`  `agent.portfolio` (Circuit 2.10) built from the session's positions
- `platforms`  `agent.swap`/`swidge` and `agent.platforms.*`: present, "not available yet"
- `context`    `AgentContext`, what `run(agent)` receives
- `swap`       `agent.swap.quote/execute`
- `testing`    `MockRuntime` and `mock_context`: unit-test an agent without a platform

Circuit-style agents import it as `agent_sdk` (or `circuit_sdk`; see `sdk/compat`).
"""

from sdk.context import AgentContext
from sdk.envelopes import CurrentPosition, SessionPortfolio

__all__ = ["AgentContext", "CurrentPosition", "SessionPortfolio"]
