"""One execution of an agent.

- `runner`           socket, token, runtime server, sandbox, outcome
- `runtime_service`  the AgentRuntime API the sandbox calls on its socket
- `warm_pool`        pre-started sandboxes
- `schedule`         when a session runs next (rolling or fixed)
- `memory`           agent memory, with its quotas
- `recording`        what an execution saw through its socket, for a replay
- `replay`           answering a replayed agent from a recording; the difference in actions
- `replay_sandbox`   a replay's sandbox and socket (`corral replay`, shadow runs)
- `shadows`          a session's shadow version replayed on each of its executions
"""
