"""One execution of an agent.

- `runner`           socket, token, runtime server, sandbox, outcome
- `runtime_service`  the AgentRuntime API the sandbox calls on its socket
- `warm_pool`        pre-started sandboxes
- `schedule`         when a session runs next (rolling or fixed)
- `memory`           agent memory, with its quotas
"""
