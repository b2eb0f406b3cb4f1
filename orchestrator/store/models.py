"""The orchestrator's tables (SQLAlchemy 2.0 typed ORM).

Amounts are integer strings (wei, lamports) so no float ever touches a raw amount.
Times are naive UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Every constraint named the same way on every database, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s", "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[dict[str, str]]: JSON, list[str]: JSON}


class SettingRow(Base):
    """Facts about this installation, e.g. its id (labels its sandboxes)."""

    __tablename__ = "platform_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ReplicaRow(Base):
    """An orchestrator process working on this database, and when it last said it was alive.
    A replica whose heartbeat is older than the lease period is dead: another one recovers
    its work (orchestrator/sessions/recovery.py) and removes the row."""

    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    image: Mapped[str] = mapped_column(String(512))
    image_id: Mapped[str] = mapped_column(String(128))
    wallet_type: Mapped[str] = mapped_column(String(16))
    manifest_toml: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime]
    # The image's DESCRIPTION.md (sanitized, at most 64 KiB); "" for an image built before it was labelled.
    description: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (UniqueConstraint("image_id", name="uq_agents_image_id"),)


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    wallet_address: Mapped[str] = mapped_column(String(64))
    # created | running | paused | unwinding | stopped
    status: Mapped[str] = mapped_column(String(16))
    execution_mode: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    allocation_network: Mapped[str] = mapped_column(String(64))
    allocation_asset: Mapped[str] = mapped_column(String(128))
    allocation_amount: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    next_run_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    # While unwinding: [{"network", "asset_address"}] to unwind; None = all positions.
    unwind_positions: Mapped[list[dict[str, str]] | None]
    # The user's circuit breakers (orchestrator/actions/breakers.py BreakerSettings), {} for none.
    breakers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Why the platform put the session in its status (a tripped breaker, a drift); "" when the user did.
    status_reason: Mapped[str] = mapped_column(Text, default="")
    # Several orchestrators on one database: the replica running the session's due work
    # holds a lease on it until `lease_expires_at` (renewed while it runs, released after).
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # The hosts the agent declared (circuit.toml [network] allow) as the user saw them when
    # starting the session: the egress proxy lets its executions reach these and nothing else.
    egress_hosts: Mapped[list[str]] = mapped_column(default=list)
    # Plain environment variables for its agent's process (orchestrator/sessions/environment.py).
    environment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Its executions record their SDK calls (orchestrator/executions/recording.py).
    record_executions: Mapped[bool] = mapped_column(default=False)
    # A paper session (orchestrator/sessions/paper.py): the owner's real wallet it stands in
    # for (`wallet_address` is then the signer's throwaway paper wallet), the fork of the
    # allocation's chain it runs on, and the block that fork was taken at. None otherwise.
    paper_of_wallet: Mapped[str | None] = mapped_column(default=None)
    paper_fork_url: Mapped[str | None] = mapped_column(default=None)
    paper_fork_block: Mapped[int | None] = mapped_column(default=None)
    # The replica whose child process the fork is: only it starts the fork again.
    paper_fork_replica: Mapped[str | None] = mapped_column(String(64), default=None)
    # The native coin the paper wallet was given on its fork beyond its allocation, to pay fees
    # from (smallest unit): written back with its holdings when a fork is made again.
    paper_fee_money: Mapped[str | None] = mapped_column(String(80), default=None)
    # A backtest (a paper session whose fork moves from block to block; actions/backtests.py).
    backtest_from_block: Mapped[int | None] = mapped_column(default=None)
    backtest_to_block: Mapped[int | None] = mapped_column(default=None)
    backtest_every_blocks: Mapped[int | None] = mapped_column(default=None)
    # A backtest by time (on hypercore:*): the three above are then Unix seconds and seconds.
    backtest_by_time: Mapped[bool] = mapped_column(default=False)
    # Another version of its agent replayed on each of its executions' recordings
    # (orchestrator/executions/shadows.py); None: no shadow.
    # (No foreign key: SQLite adds no column with one; UpdateSession checks the agent exists.)
    shadow_agent_id: Mapped[int | None] = mapped_column(default=None)

    @property
    def paper(self) -> bool:
        return self.paper_of_wallet is not None

    @property
    def owner_wallet(self) -> str:
        """The wallet whose owner the session answers to: the real one, for a paper session too."""
        return self.paper_of_wallet or self.wallet_address

    agent: Mapped[AgentRow] = relationship()

    # Due sessions by status and time; leased ones by expiry (the scheduler's other due time).
    __table_args__ = (Index("ix_sessions_due", "status", "next_run_at"), Index("ix_sessions_lease", "lease_expires_at"))


# The wallet whose owner a session answers to, as a column expression (SessionRow.owner_wallet).
OWNER_WALLET = func.coalesce(SessionRow.paper_of_wallet, SessionRow.wallet_address)


class ExecutionRow(Base):
    __tablename__ = "executions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    # run | unwind
    command: Mapped[str] = mapped_column(String(16))
    # running | succeeded | failed | interrupted
    status: Mapped[str] = mapped_column(String(16))
    # The orchestrator replica that runs it (its work is recovered if that replica dies).
    replica_id: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    # The sandbox's stdout/stderr, bounded; `output_dropped_bytes` counts what was cut.
    output: Mapped[str] = mapped_column(Text, default="")
    output_dropped_bytes: Mapped[int] = mapped_column(default=0)
    # SDK calls the agent made, and log lines dropped past the per-execution cap.
    sdk_calls: Mapped[int] = mapped_column(default=0)
    # The sandbox it ran in: removed at start-up if the orchestrator died meanwhile.
    sandbox_id: Mapped[str] = mapped_column(String(32), default="")
    log_lines_dropped: Mapped[int] = mapped_column(default=0)
    # The agent's traceback when its code raised (corral.limits.TRACEBACK_MAX_CHARS at most).
    traceback: Mapped[str] = mapped_column(Text, default="")
    # The agent's last SDK call (the runtime method) and when it came: what it was doing.
    last_sdk_call: Mapped[str] = mapped_column(String(64), default="")
    last_sdk_call_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    logs: Mapped[list[ExecutionLogRow]] = relationship(order_by="ExecutionLogRow.id")
    egress_connections: Mapped[list[EgressConnectionRow]] = relationship(order_by="EgressConnectionRow.id")


class BacktestStepRow(Base):
    """One step of a backtest session (orchestrator/actions/backtests.py): the block its fork
    was moved to, what the session held there and its value in the starting asset."""

    __tablename__ = "backtest_steps"
    __table_args__ = (UniqueConstraint("session_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    step: Mapped[int]
    block: Mapped[int]
    block_time: Mapped[datetime]
    # [{"network", "asset_address", "current_qty"}], as the session's positions then.
    positions: Mapped[list[Any]] = mapped_column(JSON)
    equity: Mapped[str | None] = mapped_column(String(80))
    unvalued: Mapped[list[Any]] = mapped_column(JSON)
    after_last_run: Mapped[bool] = mapped_column(default=False)


class PaperVenueAccountRow(Base):
    """A paper session's account on a venue (orchestrator/actions/venues/paper_hyperliquid.py):
    balances, positions, orders and fills that exist only here, as the engine's JSON document;
    `version` goes up with every change (a change made from a stale read is refused)."""

    __tablename__ = "paper_venue_accounts"

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    venue: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]


class MarketSampleRow(Base):
    """One sample of a venue's public read (orchestrator/actions/venues/market_data.py): what
    the venue answered, as zlib-compressed JSON, and when it was asked."""

    __tablename__ = "market_samples"
    __table_args__ = (Index("ix_market_samples_series", "venue", "series", "sampled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    venue: Mapped[str] = mapped_column(String(32))
    # The read, e.g. "l2Book BTC" or "allMids".
    series: Mapped[str] = mapped_column(String(120))
    sampled_at: Mapped[datetime]
    answer: Mapped[bytes] = mapped_column(LargeBinary)


class ShadowRunRow(Base):
    """One execution of a session replayed with its shadow agent (orchestrator/executions/shadows.py):
    where the shadow's actions differ from what the execution did."""

    __tablename__ = "shadow_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    # same | different | partial | failed (ShadowOutcome)
    outcome: Mapped[str] = mapped_column(String(16))
    difference: Mapped[list[Any]] = mapped_column(JSON)
    missing_reads: Mapped[list[Any]] = mapped_column(JSON)
    recorded_actions: Mapped[int]
    replayed_actions: Mapped[int]
    error: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[datetime]


class ExecutionRecordingRow(Base):
    """What one execution saw through its runtime socket (orchestrator/executions/recording.py):
    a corral.v1.ExecutionRecording, serialized and zlib-compressed, written with the execution's
    outcome; pruned after [retention] recordings_days."""

    __tablename__ = "execution_recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id"), unique=True)
    recorded_at: Mapped[datetime]
    calls: Mapped[int]
    calls_not_recorded: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ExecutionLogRow(Base):
    __tablename__ = "execution_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id"), index=True)
    # info | error
    level: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(String(256))
    logged_at: Mapped[datetime]


class EgressConnectionRow(Base):
    """One connection an execution opened through the egress proxy, allowed or not."""

    __tablename__ = "egress_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    execution_id: Mapped[int] = mapped_column(ForeignKey("executions.id"), index=True)
    method: Mapped[str] = mapped_column(String(8))
    host: Mapped[str] = mapped_column(String(256))
    port: Mapped[int]
    # The address the proxy connected to (after its own resolution and checks), "" if none.
    address: Mapped[str] = mapped_column(String(64))
    bytes_out: Mapped[int]
    bytes_in: Mapped[int]
    duration_ms: Mapped[int]
    # allowed | refused | failed (orchestrator/egress/proxy.EgressOutcome)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(320))


class SessionSecretRow(Base):
    """A named secret of a session, sealed (AES-GCM, orchestrator/egress/secrets.py) and bound
    to one host the session declared. The value is never stored or returned in clear."""

    __tablename__ = "session_secrets"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # The host rule as written by corral.hosts.HostRule.__str__ (e.g. "api.example.com").
    host: Mapped[str] = mapped_column(String(280))
    # nonce + ciphertext + tag; the associated data is (session_id, name, host).
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    set_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("session_id", "name", name="uq_session_secrets_session_id_name"),)


class MemoryRow(Base):
    __tablename__ = "memory"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "session:<session id>" or "shared:<agent id>".
    namespace: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("namespace", "key", name="uq_memory_namespace_key"),)


class TransactionRow(Base):
    """One transaction intent, from before signing to its receipt."""

    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("executions.id"))
    # The SDK call's request id: a retried call finds its first result here.
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    # The orchestrator replica sending it (its work is recovered if that replica dies).
    replica_id: Mapped[str] = mapped_column(String(64), default="")
    network: Mapped[str] = mapped_column(String(64))
    from_address: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(80))
    data: Mapped[str] = mapped_column(Text, default="0x")
    message: Mapped[str] = mapped_column(String(256), default="")
    # EVM: the nonce it was signed with. Solana: None (the blockhash plays that part).
    nonce: Mapped[int | None]
    # Solana: the last block height at which the signed bytes can still land.
    valid_until_block: Mapped[int | None] = mapped_column(default=None)
    # pending | signed | confirmed | reverted | rejected | expired (Solana: never landed)
    status: Mapped[str] = mapped_column(String(16))
    signed_raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    tx_hash: Mapped[str] = mapped_column(String(80), default="")
    block_number: Mapped[int | None]
    gas_used: Mapped[int | None]
    effective_gas_price: Mapped[str | None] = mapped_column(String(80))
    error: Mapped[str] = mapped_column(Text, default="")
    # Sent on a paper session's fork: it exists there only (no explorer link).
    paper: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # `has_pending_txs` (a session's `signed` ones) and positions as they stood at a time
    # (what settled after it) read only the rows they need, however long the history.
    __table_args__ = (
        Index("ix_transactions_session_status", "session_id", "status"),
        Index("ix_transactions_session_updated", "session_id", "updated_at"),
    )


class SuggestionRow(Base):
    """A value- or signature-producing call made in manual mode, waiting for the user.

    Approving runs it through the auto path exactly once (the pending -> approving
    transition is a conditional update); rejecting, expiry and the next run's start
    discard it. Discarded suggestions are soft-deleted: kept, with `deleted_at` set."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    execution_id: Mapped[int | None] = mapped_column(ForeignKey("executions.id"))
    # transaction | swap | message; venue actions: hl_order | hl_cancel | hl_transfer | pm_order | pm_redeem
    kind: Mapped[str] = mapped_column(String(16))
    # The replica executing an approval (while `approving`).
    replica_id: Mapped[str] = mapped_column(String(64), default="")
    # The runtime request as the agent made it (serialized protobuf), replayed on approval.
    request: Mapped[bytes] = mapped_column(LargeBinary)
    # What the user is shown: network, recipient, value, a simulation preview, ...
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # pending | approving | executed | failed | rejected | expired | cleared
    status: Mapped[str] = mapped_column(String(16))
    # After approval: {"transaction_id", "tx_hash"} or the signature; or the error.
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    # When its coming expiry was announced (a `suggestion expiring` event), once.
    expiring_announced_at: Mapped[datetime | None] = mapped_column(default=None)

    # The sweep's question, "pending ones past or near their expiry", is an index seek.
    __table_args__ = (Index("ix_suggestions_status_expiry", "status", "expires_at"),)


class EventRow(Base):
    """Something a UI would show changed: a session's state, an execution, a log line, a
    suggestion, a transaction. Rows are appended in the same database transaction as the
    change they announce, so a watcher that reads them in id order misses nothing, even
    across orchestrator processes; `ref_id` names the changed row (read when streamed)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # session | execution | log | suggestion | transaction | drift | platform
    kind: Mapped[str] = mapped_column(String(16))
    # What happened, e.g. "paused", "started", "finished", "approved".
    change: Mapped[str] = mapped_column(String(32))
    # None for platform-wide events (the kill switch).
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    ref_id: Mapped[int]
    occurred_at: Mapped[datetime]
    # Who made the change through the API (a principal's name); "" when the platform did.
    actor: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (
        Index("ix_events_session", "session_id", "id"),
        # The breakers' questions ("when was it last resumed", "refusals in the last hour") are
        # index seeks, whatever the session's history.
        Index("ix_events_session_change", "session_id", "kind", "change", "occurred_at"),
    )


class AssetChangeRow(Base):
    """One movement of an asset in or out of a session's wallet, caused by one of the
    session's own confirmed transactions: its native value, or an ERC-20 Transfer event
    from its receipt. A session's positions are its allocation plus these."""

    __tablename__ = "asset_changes"
    # A session's ledger is read newest first, a page at a time (ListAssetChanges): an index
    # seek on PostgreSQL too, where an index on session_id alone would sort the whole ledger.
    __table_args__ = (Index("ix_asset_changes_session", "session_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"), index=True)
    network: Mapped[str] = mapped_column(String(64))
    tx_hash: Mapped[str] = mapped_column(String(80))
    from_address: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(String(64))
    # The token's address, lowercase; the native token is 0xeeee…eeee.
    token_address: Mapped[str] = mapped_column(String(64))
    # native | ERC20
    token_type: Mapped[str] = mapped_column(String(16))
    # Smallest unit, integer string.
    amount: Mapped[str] = mapped_column(String(80))
    # The block's time.
    occurred_at: Mapped[datetime]


class SessionBalanceRow(Base):
    """What a session's own settled transactions moved of one asset, net of the fees they
    paid (on the native coin's row): the ledger (`asset_changes`, fees on `transactions`)
    folded as it is written, in the same database transaction that settles each transaction
    (orchestrator/actions/balances.py), so positions are a read however long the history.
    The allocation is not in it (it stays on the session)."""

    __tablename__ = "session_balances"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    network: Mapped[str] = mapped_column(String(64))
    # The asset as its chain compares addresses (corral.networks.address_key).
    asset_key: Mapped[str] = mapped_column(String(128))
    # As the ledger first spelled it; "" while only fees have touched the row.
    asset_address: Mapped[str] = mapped_column(String(128), default="")
    # Smallest unit, a signed integer string: sums of 256-bit amounts outgrow any SQL integer
    # (and SQLite's NUMERIC is a float past 64 bits), so it is text, like every amount here.
    amount: Mapped[str] = mapped_column(Text, default="0")
    # Ledger entries that moved it in or out of the wallet: 0 means the session never held
    # it (a native row only fees touched), which positions do not show.
    entries: Mapped[int] = mapped_column(default=0)
    # The first of those entries: positions list assets in the order they were first held.
    first_entry_id: Mapped[int | None] = mapped_column(default=None)

    __table_args__ = (UniqueConstraint("session_id", "network", "asset_key", name="uq_session_balances_session_id_network_asset_key"),)


class DriftRow(Base):
    """A reconciliation finding: the chain holds less of an asset on a wallet than the
    sessions there are owed."""

    __tablename__ = "drifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_address: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64))
    asset_address: Mapped[str] = mapped_column(String(64))
    # What the sessions hold by their ledgers, and what the chain says; integer strings.
    expected: Mapped[str] = mapped_column(String(80))
    on_chain: Mapped[str] = mapped_column(String(80))
    paused_sessions: Mapped[bool]
    detected_at: Mapped[datetime]


class QuoteRow(Base):
    """A swap quote handed to an agent: executing it must hand it back unchanged, before
    `expires_at`, from the same session; each is executed at most once."""

    __tablename__ = "swap_quotes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    engine: Mapped[str] = mapped_column(String(32))
    # The quote as the agent got it (Circuit's SwapData shape), including its steps.
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # After execution: its result (status, txs); None while not executed.
    result: Mapped[dict[str, Any] | None]


class RequestIdRow(Base):
    """A mutating call made with a request_id (orchestrator/api/idempotency.py): a retry with
    the same id gets `response` back instead of acting again. Inserted before the call acts
    (the unique key makes two concurrent calls one), `response` filled when it answers; removed
    when it is refused, and by the retention job a day after."""

    __tablename__ = "request_ids"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Who called (the principal's name), the RPC, and the caller's id.
    principal: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(64))
    # SHA-256 (HMAC for requests carrying a secret) of the request without its request_id.
    request_hash: Mapped[str] = mapped_column(String(64))
    # The serialized response; None while the first call is still acting.
    response: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("principal", "method", "request_id"),)


class NotificationSubscriptionRow(Base):
    """Where events of some kinds are sent (orchestrator/notifications/): a webhook, or an
    apprise URL (chat, e-mail). The URL and the webhook's signing secret are sealed with the
    installation's secrets key; `destination` is what listing shows (no credentials)."""

    __tablename__ = "notification_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The principal that made it (its name): it alone lists, deletes and is sent it, and only
    # events of sessions on its wallets.
    owner: Mapped[str] = mapped_column(String(64))
    # Event types (orchestrator.store.notification_outbox.NotificationEvent values).
    events: Mapped[list[str]]
    # webhook | apprise
    target: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(Text)
    # Only this session's events; None: every session's (and platform-wide ones).
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class NotificationOutboxRow(Base):
    """One event to deliver to one subscription, written in the event's own transaction
    (at least once, never lost). Delivered in event order per (subscription, session): a
    row waits while an earlier one of its queue is pending. `lease_*`: the replica sending
    it now (one delivery per attempt across replicas)."""

    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Named: the convention's name is longer than PostgreSQL's 63 characters.
    subscription_id: Mapped[int] = mapped_column(ForeignKey("notification_subscriptions.id", name="fk_notification_outbox_subscription"))
    # The event's session, 0 for platform-wide events: the ordering queue within a subscription.
    queue: Mapped[int]
    event_id: Mapped[int]  # no foreign key: retention prunes events, not deliveries
    event_type: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    change: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[int | None]
    ref_id: Mapped[int]
    occurred_at: Mapped[datetime]
    # pending | delivered | dead (orchestrator.store.statuses.DeliveryStatus)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        # The heads of queues due now, and "is an earlier row of this queue pending".
        Index("ix_notification_outbox_due", "status", "next_attempt_at"),
        Index("ix_notification_outbox_queue", "subscription_id", "queue", "status", "event_id"),
    )


class TokenInfoRow(Base):
    """A token's decimals and symbol as its contract (or SPL mint) answered, read once per
    (network, token) and kept: a console shows amounts with them. NULL where the chain gave no
    usable answer (never a guess); such a row is read again after a while."""

    __tablename__ = "token_info"
    __table_args__ = (UniqueConstraint("network", "token_key", name="uq_token_info_network_token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(64))
    # corral.networks.address_key of the token's address (lowercase on EVM).
    token_key: Mapped[str] = mapped_column(String(128))
    decimals: Mapped[int | None]
    symbol: Mapped[str | None] = mapped_column(String(64))
    read_at: Mapped[datetime]


class PrincipalRow(Base):
    """Someone who calls the frontend API with a key of their own (`corral user add`): what
    they may do (`roles`) and on which wallets (PrincipalWalletRow). The key is stored as the
    SHA-256 of its secret part: it is 256 random bits, so the hash cannot be searched for it
    (orchestrator/store/principals.py)."""

    __tablename__ = "principals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # orchestrator.store.principals.Role values.
    roles: Mapped[list[str]]
    # The key's public part, which finds the row; the hash of its secret part.
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # A revoked principal's key is refused from the next call on; the row stays (events name it).
    revoked_at: Mapped[datetime | None]
    # Read only once the key's hash matched (a wrong key costs no more than an unknown one).
    wallets: Mapped[list[PrincipalWalletRow]] = relationship(cascade="all, delete-orphan")


class PrincipalWalletRow(Base):
    """A wallet a principal owns: it sees and acts on that wallet's sessions."""

    __tablename__ = "principal_wallets"

    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), primary_key=True)
    # As the sessions table holds it (orchestrator.store.principals.wallet_key: EVM addresses lowercased).
    wallet_address: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_principal_wallets_wallet", "wallet_address"),)
