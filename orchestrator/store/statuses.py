"""Every state a stored row can be in, as `StrEnum`s: compared and written by name in code,
stored as their text (the columns are strings, so rows written before read the same).

The frontend API's enums (protos/corral/v1/orchestrator.proto) are derived from these by
name in `api.service`, so a state added here and not there fails at import, not at run time.
"""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    UNWINDING = "unwinding"
    STOPPED = "stopped"


class ExecutionMode(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class ExecutionStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class TransactionStatus(StrEnum):
    PENDING = "pending"
    SIGNED = "signed"
    CONFIRMED = "confirmed"
    REVERTED = "reverted"
    REJECTED = "rejected"
    EXPIRED = "expired"


class SuggestionStatus(StrEnum):
    PENDING = "pending"
    APPROVING = "approving"
    EXECUTED = "executed"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CLEARED = "cleared"


class ActionKind(StrEnum):
    """What an agent asked for that moves value or signs; a suggestion's `kind`."""

    TRANSACTION = "transaction"
    SWAP = "swap"
    MESSAGE = "message"
    HYPERLIQUID_ORDER = "hl_order"
    HYPERLIQUID_CANCEL = "hl_cancel"
    HYPERLIQUID_TRANSFER = "hl_transfer"
    POLYMARKET_ORDER = "pm_order"
    POLYMARKET_REDEEM = "pm_redeem"

    @property
    def is_venue(self) -> bool:
        return self not in (ActionKind.TRANSACTION, ActionKind.SWAP, ActionKind.MESSAGE)


class EgressOutcome(StrEnum):
    """How a connection through the egress proxy ended (orchestrator/egress/proxy.py)."""

    ALLOWED = "allowed"  # the tunnel or request ran (what the far side answered is its business)
    REFUSED = "refused"  # the policy or a limit said no; nothing reached the host
    FAILED = "failed"  # allowed, but the host could not be reached or the transfer broke off


class DeliveryStatus(StrEnum):
    """A notification's delivery (notification_outbox.status)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after the attempts or the age allowed; listed as a dead letter


class ShadowOutcome(StrEnum):
    """How a shadow run compared (orchestrator/executions/shadows.py)."""

    SAME = "same"
    DIFFERENT = "different"
    PARTIAL = "partial"
    FAILED = "failed"
