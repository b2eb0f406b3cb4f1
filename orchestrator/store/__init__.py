"""The orchestrator's database (SQLAlchemy 2.0, typed ORM), the lowest layer.

- `db`           the engine, sessions and migrations (Alembic, `migrations/`)
- `models`       the tables, one row class each
- `statuses`     every state a row can be in, as StrEnums
- `events`       the ordered change log `WatchEvents` streams
- `audit_heads`  the signer's audit-chain heads the platform holds
"""

from orchestrator.store.db import Database, utcnow
from orchestrator.store.models import (
    OWNER_WALLET,
    AgentRow,
    AssetChangeRow,
    BacktestStepRow,
    Base,
    DriftRow,
    EgressConnectionRow,
    EventRow,
    ExecutionLogRow,
    ExecutionRecordingRow,
    ExecutionRow,
    MarketSampleRow,
    MemoryRow,
    PaperVenueAccountRow,
    PrincipalRow,
    PrincipalWalletRow,
    QuoteRow,
    ReplicaRow,
    RequestIdRow,
    SessionBalanceRow,
    SessionRow,
    SessionSecretRow,
    SettingRow,
    ShadowRunRow,
    SuggestionRow,
    TokenInfoRow,
    TransactionRow,
)

__all__ = [
    "OWNER_WALLET", "AgentRow", "BacktestStepRow", "AssetChangeRow", "Base", "Database", "DriftRow", "EgressConnectionRow", "EventRow", "ExecutionLogRow", "ExecutionRecordingRow", "ExecutionRow", "MarketSampleRow", "MemoryRow", "PaperVenueAccountRow", "PrincipalRow", "PrincipalWalletRow", "QuoteRow", "ReplicaRow", "RequestIdRow", "SessionBalanceRow", "SessionRow", "SessionSecretRow", "ShadowRunRow", "SettingRow", "SuggestionRow", "TokenInfoRow", "TransactionRow", "utcnow",
]
