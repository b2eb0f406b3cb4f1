from orchestrator.store.db import Database, utcnow
from orchestrator.store.models import (
    AgentRow,
    AssetChangeRow,
    Base,
    DriftRow,
    EventRow,
    ExecutionLogRow,
    ExecutionRow,
    MemoryRow,
    QuoteRow,
    ReplicaRow,
    SessionRow,
    SettingRow,
    SuggestionRow,
    TransactionRow,
)

__all__ = [
    "AgentRow", "AssetChangeRow", "Base", "Database", "DriftRow", "EventRow", "ExecutionLogRow", "ExecutionRow", "MemoryRow", "QuoteRow", "ReplicaRow", "SessionRow", "SettingRow", "SuggestionRow", "TransactionRow", "utcnow",
]
