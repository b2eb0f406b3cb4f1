"""What an agent was last seen doing: its last SDK call and its last log line.

The runtime service sees every call the sandbox makes, so it notes the newest one here
(two assignments per call: cheap). When a deadline kills the sandbox, this is what its
author is told, instead of only "deadline exceeded".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from corral.limits import shortened

# The runtime API's methods by the SDK's names for them, as an author knows them.
SDK_METHODS = {
    "AppendLogs": "log",
    "SetMemory": "memory.set",
    "GetMemory": "memory.get",
    "DeleteMemory": "memory.delete",
    "ListMemory": "memory.list",
    "SignAndSend": "sign_and_send",
    "SignMessage": "sign_message",
    "SwapQuote": "swap.quote",
    "SwapExecute": "swap.execute",
    "ClearSuggestions": "clear_suggested_transactions",
    "ListAssetChanges": "transactions",
    "GetCurrentPositions": "get_current_positions",
    "HyperliquidPlaceOrder": "platforms.hyperliquid.place_order",
    "HyperliquidCancelOrder": "platforms.hyperliquid.delete_order",
    "HyperliquidTransfer": "platforms.hyperliquid.transfer",
    "HyperliquidRead": "platforms.hyperliquid (a read)",
    "PolymarketMarketOrder": "platforms.polymarket.market_order",
    "PolymarketRedeemPositions": "platforms.polymarket.redeem_positions",
    "PolymarketPositions": "platforms.polymarket.positions",
}
# Not noted: the calls the platform's own entrypoint makes around the agent's code
# (GetExecutionContext, CompleteExecution), which are not the agent's doing.
SERVICE_PATH = "/corral.v1.AgentRuntime/"
# The last log line as quoted in a deadline report.
QUOTED_LOG_MAX_CHARS = 120
# Control characters (a newline, an escape sequence's start) have no place in a one-line error.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass
class AgentProgress:
    last_call: str = ""
    last_call_at: datetime | None = None
    last_log_line: str = ""

    def called(self, full_method: str, at: datetime) -> None:
        """Notes a call by its gRPC path ("/corral.v1.AgentRuntime/SetMemory"). The sandbox
        chooses the path: only the SDK's own methods are noted (never its text otherwise)."""
        method = full_method.removeprefix(SERVICE_PATH)
        if full_method.startswith(SERVICE_PATH) and method in SDK_METHODS:
            self.last_call, self.last_call_at = method, at

    def logged(self, line: str) -> None:
        """Notes a log line, kept or not (the newest says the most, even past the limit)."""
        self.last_log_line = line

    def report(self, started_at: datetime) -> str:
        """One sentence for an execution's error: its last log line and last SDK call (when,
        counted from `started_at`, the execution's start)."""
        if self.last_log_line:
            line = CONTROL.sub(" ", shortened(self.last_log_line, QUOTED_LOG_MAX_CHARS))
            said = f"its last log line was '{line}'"
        else:
            said = "it logged nothing"
        if self.last_call and self.last_call_at is not None:
            seconds = max(0.0, (self.last_call_at - started_at).total_seconds())
            name = SDK_METHODS.get(self.last_call)
            call = f"{name} ({self.last_call})" if name else self.last_call
            did = f"its last SDK call was {call}, {seconds:.1f}s into the run"
        else:
            did = "it made no SDK call"
        return f"{said}; {did}"
