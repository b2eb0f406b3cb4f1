from orchestrator.store.db import Database, utcnow
from orchestrator.store.models import (
    AgentRow,
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
    "AgentRow", "Base", "Database", "EventRow", "ExecutionLogRow", "ExecutionRow", "MemoryRow", "SessionRow", "SuggestionRow", "TransactionRow", "utcnow",
]
