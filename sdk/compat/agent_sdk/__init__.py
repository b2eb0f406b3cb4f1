"""Circuit-compatible import name: `from agent_sdk import Agent, AgentContext`.

Both SDK eras work: an `Agent(run_function=..., unwind_function=...)` instance in
main.py (v1.x–2.8; v0.3's `execution_function`/`stop_function` names too), or
module-level `run`/`unwind` functions (v2.10, with `SessionPortfolio`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from sdk.context import LOCAL_SESSION_SENTINEL, AgentContext
from sdk.envelopes import (
    CurrentPosition,
    CurrentPositionsData,
    EnrichedPosition,
    Envelope,
    EthereumSignRequest,
    EvmMessageSignRequest,
    LogResponse,
    SessionBalance,
    SessionPortfolio,
    SessionPosition,
    SignAndSendRequest,
    SolanaSignRequest,
)

__all__ = [
    "LOCAL_SESSION_SENTINEL",
    "Agent",
    "AgentContext",
    "BaseResponse",
    "CurrentPosition",
    "CurrentPositionsData",
    "EnrichedPosition",
    "EthereumSignRequest",
    "EvmMessageSignRequest",
    "LogResponse",
    "SessionBalance",
    "SessionPortfolio",
    "SessionPosition",
    "SignAndSendRequest",
    "SolanaSignRequest",
    "get_chain_id_from_network",
    "is_ethereum_network",
    "is_solana_network",
]

# Circuit's name for the `{success, data, error}` envelope.
BaseResponse = Envelope

# The most recently constructed Agent; the entrypoint calls its functions.
registered_agent: Agent | None = None

_CORRAL_NOTE = "agent_sdk: on Corral, agents are started by the platform (`corral dev run`)."


def is_ethereum_network(network: str) -> bool:
    return isinstance(network, str) and network.startswith("ethereum:")


def is_solana_network(network: str) -> bool:
    return network == "solana"


def get_chain_id_from_network(network: str) -> int:
    """`ethereum:137` -> 137; raises ValueError for anything else (as Circuit's helper does)."""
    if not is_ethereum_network(network):
        raise ValueError(f"Not an ethereum network: {network!r}")
    try:
        return int(network.split(":", 1)[1])
    except ValueError:
        raise ValueError(f"Invalid chain id in network: {network!r}") from None


class Agent:
    """Circuit v0.3–2.8's wrapper around the agent's functions. On Corral the platform's
    entrypoint calls `run_function` / `unwind_function` of the last Agent constructed."""

    def __init__(
        self,
        run_function: Callable[..., Any] | None = None,
        unwind_function: Callable[..., Any] | None = None,
        *,
        execution_function: Callable[..., Any] | None = None,
        stop_function: Callable[..., Any] | None = None,
        **_ignored: Any,
    ) -> None:
        global registered_agent
        self.run_function = run_function or execution_function
        self.unwind_function = unwind_function or stop_function
        if self.run_function is None:
            raise TypeError("Agent needs run_function")
        registered_agent = self

    # v0.3's names for the same functions.
    @property
    def execution_function(self) -> Callable[..., Any]:
        return cast(Callable[..., Any], self.run_function)  # __init__ refuses an Agent without one

    @property
    def stop_function(self) -> Callable[..., Any] | None:
        return self.unwind_function

    def get_handler(self) -> Callable[..., dict[str, Any]]:
        """Circuit's AWS Lambda handler. On Corral nothing calls it: the platform's
        entrypoint runs the agent. Calling it answers a 501 in Circuit's HandlerResponse shape."""

        def handler(event: Any = None, context: Any = None) -> dict[str, Any]:
            body = {"success": False, "error": "agents on Corral are started by the platform, not through a handler"}
            return {"statusCode": 501, "body": json.dumps(body), "headers": {"Content-Type": "application/json"}}

        return handler

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Circuit's local server (`if __name__ == "__main__": agent.run()`). On Corral the
        platform's entrypoint calls the agent; this only says so."""
        print(_CORRAL_NOTE)
