from orchestrator.store.db import Database, utcnow
from orchestrator.store.models import (
    AgentRow,
    AssetChangeRow,
    Base,
    EventRow,
    ExecutionLogRow,
    ExecutionRow,
    MemoryRow,
    SessionRow,
    SuggestionRow,
    TransactionRow,
)

__all__ = [
    "AgentRow", "AssetChangeRow", "Base", "Database", "EventRow", "ExecutionLogRow", "ExecutionRow", "MemoryRow", "SessionRow", "SuggestionRow", "TransactionRow", "utcnow",
]
