"""Who may call what, on whose wallets: the frontend API's access rules as data.

Two questions, asked of every call of OrchestratorService:

1. **May this principal call this method?** `METHOD_ROLES` names the role each method needs;
   the guard (app/api_guard.py) answers PERMISSION_DENIED before the request is even read.
   Every role may read (VIEWER). A method missing from the table is refused (a test checks
   the table covers the service), so a new RPC is closed until someone decides.
2. **Is what it names on the principal's wallets?** `TARGETS` says which request field names
   a session, execution, transaction, suggestion, wallet or subscription; `Access.check`
   reads the wallet behind it (one indexed read) before the handler runs. Something that is
   not the caller's is NOT_FOUND with the very message of something that does not exist,
   so ids cannot be probed for whose they are. Lists the principal may call are filtered by
   their handlers (`visible_wallets`): ListSessions, ListWallets, WatchEvents, the
   subscription calls. Admins and the built-in principals see every subscription.

The caller reaches the handlers in `CALLER`, set by the guard for the call's own task. Its
default is NOBODY (no role, no wallet): a call that somehow skipped the guard may do nothing.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.api.resources import MISSING  # what a caller is told of what it may not see: as of what does not exist
from orchestrator.errors import Refused, not_found
from orchestrator.store import OWNER_WALLET, Database, ExecutionRow, SessionRow, SuggestionRow, TransactionRow
from orchestrator.store.models import NotificationSubscriptionRow
from orchestrator.store.principals import Principal, Role

NOBODY = Principal("nobody", frozenset(), frozenset())
CALLER: contextvars.ContextVar[Principal] = contextvars.ContextVar("corral_api_caller", default=NOBODY)

V, O, A, ADMIN = Role.VIEWER, Role.OPERATOR, Role.APPROVER, Role.ADMIN
# The role each method of OrchestratorService needs. ResumePlatform is not here: it takes the
# separate resume credential (app/api_guard.py), whatever the caller's roles.
METHOD_ROLES: dict[str, Role] = {
    "RegisterAgent": ADMIN, "HaltPlatform": ADMIN,
    "StartSession": O, "PromoteSession": O, "StopSession": O, "PauseSession": O, "ResumeSession": O, "UnwindSession": O, "UpdateSession": O,
    "SetSessionSecret": O, "DeleteSessionSecret": O,
    "ApproveSuggestion": A, "RejectSuggestion": A,
    "ListAgents": V, "GetAgent": V, "ListWallets": V, "GetSession": V, "ListSessions": V, "ListExecutions": V,
    "GetExecution": V, "GetExecutionLogs": V, "ListTransactions": V, "GetTransaction": V, "ListSuggestions": V,
    "GetSuggestion": V, "ListSessionMemory": V, "ListSessionSecrets": V, "WatchEvents": V, "GetPlatformStatus": V,
    "ExportSession": V, "GetSessionSummary": V, "GetPositionHistory": V, "GetBacktestReport": V, "ListShadowRuns": V, "GetExecutionRecording": V, "GetCaller": V,
    "ListMarketData": V,  # public venue data the platform recorded: no wallet's
    # A principal's own notification subscriptions, for sessions on its wallets. Making one
    # makes the platform connect somewhere: not a read.
    "CreateSubscription": O, "DeleteSubscription": O, "ListSubscriptions": V, "ListDeliveries": V,
}
RESUME_METHOD = "ResumePlatform"


def may_call(principal: Principal, method: str) -> bool:
    role = METHOD_ROLES.get(method)
    if role is None:
        return False
    return bool(principal.roles) if role is Role.VIEWER else principal.may(role)


def refusal_for_role(principal: Principal, method: str) -> Refused:
    role = METHOD_ROLES.get(method)
    if role is None:
        return Refused(grpc.StatusCode.PERMISSION_DENIED, f"{method} is not open to API callers")
    held = ", ".join(sorted(principal.roles)) or "no role"
    return Refused(grpc.StatusCode.PERMISSION_DENIED, (
        f"{method} needs the {role} role; {principal.name} has {held} (an admin gives roles with `corral user add`)"))


@dataclass(frozen=True)
class Target:
    """A request field that names something on a wallet: `kind` is what it names."""

    kind: str  # session | execution | transaction | suggestion | wallet | subscription
    field: str  # a field of the request, "session.id" for a nested one
    optional: bool = False  # unset (proto3 `optional`): the call names nothing, its handler filters


TARGETS: dict[str, Target] = {
    **{method: Target("session", "session_id") for method in (
        "GetSession", "StopSession", "PauseSession", "ResumeSession", "UnwindSession", "ListExecutions", "ListTransactions",
        "ListSuggestions", "ListSessionMemory", "SetSessionSecret", "ListSessionSecrets", "DeleteSessionSecret",
        "ExportSession", "GetSessionSummary", "GetPositionHistory", "PromoteSession", "GetBacktestReport", "ListShadowRuns")},
    "UpdateSession": Target("session", "session.id"),
    "WatchEvents": Target("session", "session_id", optional=True),
    "CreateSubscription": Target("session", "session_id", optional=True),
    "GetExecution": Target("execution", "execution_id"),
    "GetExecutionLogs": Target("execution", "execution_id"),
    "GetExecutionRecording": Target("execution", "execution_id"),
    "GetTransaction": Target("transaction", "transaction_id"),
    "GetSuggestion": Target("suggestion", "suggestion_id"),
    "ApproveSuggestion": Target("suggestion", "suggestion_id"),
    "RejectSuggestion": Target("suggestion", "suggestion_id"),
    "StartSession": Target("wallet", "wallet_address"),
    "DeleteSubscription": Target("subscription", "subscription_id"),
    "ListDeliveries": Target("subscription", "subscription_id", optional=True),
}

# The wallet behind each kind of id: its session's owner's (a paper session's real wallet).
_WALLET_OF = {
    "session": lambda id_: select(OWNER_WALLET).where(SessionRow.id == id_),
    "execution": lambda id_: select(OWNER_WALLET).join(ExecutionRow, ExecutionRow.session_id == SessionRow.id)
    .where(ExecutionRow.id == id_),
    "transaction": lambda id_: select(OWNER_WALLET).join(TransactionRow, TransactionRow.session_id == SessionRow.id)
    .where(TransactionRow.id == id_),
    "suggestion": lambda id_: select(OWNER_WALLET).join(SuggestionRow, SuggestionRow.session_id == SessionRow.id)
    .where(SuggestionRow.id == id_),
}


def caller() -> Principal:
    return CALLER.get()


def sees_every_subscription(principal: Principal) -> bool:
    """Admins manage every subscription (those made before API keys were on too); the rest their own."""
    return principal.wallets is None or principal.may(Role.ADMIN)


def visible_wallets() -> frozenset[str] | None:
    """The wallet_key()s the caller's lists are cut to; None: every wallet."""
    return CALLER.get().wallets


def _field(request: Message, path: str) -> tuple[bool, object]:
    """(is set, value) of a possibly nested field."""
    *parents, name = path.split(".")
    for parent in parents:
        request = getattr(request, parent)
    has = request.HasField(name) if request.DESCRIPTOR.fields_by_name[name].has_presence else True
    return has, getattr(request, name)


class Access:
    """Checks that what a call names is on its caller's wallets (see the module's docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def check(self, method: str, request: Message) -> None:
        principal = CALLER.get()
        if not may_call(principal, method) and method != RESUME_METHOD:
            raise refusal_for_role(principal, method)  # the guard said so already; this is the boundary's own word
        target = TARGETS.get(method)
        if target is None:
            return
        has, value = _field(request, target.field)
        if not has and target.optional:
            return
        if target.kind == "wallet":
            if not principal.owns(str(value)):
                raise Refused(grpc.StatusCode.PERMISSION_DENIED, (
                    f"{principal.name} does not own wallet {str(value)[:64]!r}; an admin gives a user its wallets "
                    "(`corral user add NAME --wallet ADDRESS`)"))
            return
        if target.kind == "subscription":
            if sees_every_subscription(principal):
                return  # the handler answers for a missing id itself
            owner = await self._db.run(lambda db: db.scalar(
                select(NotificationSubscriptionRow.owner).where(NotificationSubscriptionRow.id == value)))
            if owner != principal.name:
                raise not_found(MISSING["subscription"].format(value))
            return
        if principal.wallets is None:
            return  # every wallet is the caller's; the handler answers for a missing id itself
        wallet = await self._db.run(lambda db: _wallet_of(db, target.kind, value))
        if wallet is None or not principal.owns(wallet):
            raise not_found(MISSING[target.kind].format(value))


def _wallet_of(db: Session, kind: str, id_: object) -> str | None:
    return db.scalar(_WALLET_OF[kind](id_))
