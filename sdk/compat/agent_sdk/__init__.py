"""Circuit-compatible import name: `from agent_sdk import Agent, AgentContext`.

Both SDK eras work: an `Agent(run_function=..., unwind_function=...)` instance in
main.py (v1.x–2.8), or module-level `run`/`unwind` functions (v2.10).
"""

from __future__ import annotations

from typing import Callable

from sdk.context import AgentContext
from sdk.envelopes import CurrentPosition

__all__ = ["Agent", "AgentContext", "CurrentPosition"]

# The most recently constructed Agent; the entrypoint calls its functions.
registered_agent: "Agent | None" = None


class Agent:
    def __init__(
        self,
        run_function: Callable | None = None,
        unwind_function: Callable | None = None,
        *,
        execution_function: Callable | None = None,
        stop_function: Callable | None = None,
    ) -> None:
        global registered_agent
        self.run_function = run_function or execution_function
        self.unwind_function = unwind_function or stop_function
        if self.run_function is None:
            raise TypeError("Agent needs run_function")
        registered_agent = self

    def get_handler(self):
        """Circuit's Lambda handler; on Corral the platform's entrypoint calls the agent."""
        return None

    def run(self) -> None:
        """Circuit's local server; on Corral the platform's entrypoint calls the agent."""
        print("agent_sdk: on Corral, agents are started by the platform (`corral dev run`).")
