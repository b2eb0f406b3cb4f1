"""The frontend API's reads as resources: each List* selects a filtered keyset page (see
orchestrator.store.pages) and each Get* one row, NOT_FOUND naming the id. Runs on a database
thread; turning rows into messages is the service's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from corral.v1 import orchestrator_pb2 as pb
from orchestrator.actions.suggestions import DISCARDED
from orchestrator.egress.secret_store import SecretInfo
from orchestrator.errors import invalid, not_found
from orchestrator.store import (
    OWNER_WALLET,
    AgentRow,
    ExecutionLogRow,
    ExecutionRow,
    MemoryRow,
    SessionRow,
    SessionSecretRow,
    ShadowRunRow,
    SuggestionRow,
    TransactionRow,
    pages,
)
from orchestrator.store.principals import Principal
from orchestrator.store.statuses import SessionStatus, SuggestionStatus, TransactionStatus

# (default, maximum) page sizes. Sessions carry positions read per session, so their pages are smaller.
AGENTS = (100, 1000)
SESSIONS = (50, 200)
EXECUTIONS = (50, 1000)
TRANSACTIONS = (100, 1000)
SUGGESTIONS = (100, 1000)
MEMORY = (100, 1000)
SECRETS = (100, 1000)
SHADOW_RUNS = (50, 1000)
# What a Get of an id that does not exist answers (access.py answers the same for one that is
# not the caller's, so the two cannot be told apart).
MISSING = {
    "session": "session {} does not exist",
    "execution": "execution {} does not exist; ListExecutions (`corral executions SESSION_ID`) lists a session's",
    "transaction": "transaction {} does not exist; ListTransactions (`corral transactions SESSION_ID`) lists a session's",
    "suggestion": "suggestion {} does not exist; ListSuggestions (`corral suggestions SESSION_ID`) lists a session's",
    "subscription": "there is no subscription {}; ListSubscriptions shows them",
}
# The FULL view of an execution carries its last log lines, not all (up to 1,000 of 250 characters).
LOG_TAIL = 100
E = TypeVar("E", bound=StrEnum)


def is_full(view: int, default: int = pb.RESOURCE_VIEW_BASIC) -> bool:
    return (view or default) == pb.RESOURCE_VIEW_FULL


def _statuses(field: str, values: Iterable[int], wire: Any, prefix: str, store: type[E]) -> list[E]:
    """A status filter in the store's terms; UNSPECIFIED is no status."""
    chosen = []
    for value in values:
        if value == 0:
            raise invalid(f"{field} holds {prefix}UNSPECIFIED: name the statuses to list, or leave {field} empty")
        chosen.append(store[wire.Name(value).removeprefix(prefix)])
    return sorted(set(chosen))


def _instant(request: Message, field: str) -> datetime | None:
    if not request.HasField(field):
        return None
    stamp: Timestamp = getattr(request, field)
    try:
        return stamp.ToDatetime(tzinfo=UTC).replace(tzinfo=None)  # the store keeps naive UTC
    except (ValueError, OverflowError):
        raise invalid(f"{field} is not a representable instant (years 1 to 9999)") from None


def _size(request: Message, sizes: tuple[int, int]) -> int:
    return pages.page_size(request.page_size, *sizes)  # type: ignore[attr-defined]


def agents(db: Session, request: pb.ListAgentsRequest) -> pages.Page:
    return pages.read(db, select(AgentRow), AgentRow.id, pages.Query("agents"), _size(request, AGENTS), request.page_token,
                      newest_first=False)


def sessions(db: Session, request: pb.ListSessionsRequest, wallets: frozenset[str] | None = None) -> pages.Page:
    """`wallets`: only sessions on these (principals.wallet_key()s, the caller's); None: on any."""
    statuses = _statuses("statuses", request.statuses, pb.SessionStatus, "SESSION_STATUS_", SessionStatus)
    query = select(SessionRow)
    if wallets is not None:
        query = query.where(on_wallets(OWNER_WALLET, wallets))
    query = query.where(SessionRow.status.in_(statuses)) if statuses else query.where(SessionRow.status != SessionStatus.STOPPED)
    if request.agent_id:
        query = query.where(SessionRow.agent_id == request.agent_id)
    if request.wallet_address:
        # A paper session is listed under its real wallet too.
        query = query.where(or_(SessionRow.wallet_address == request.wallet_address, SessionRow.paper_of_wallet == request.wallet_address))
    filters = (statuses, request.agent_id, request.wallet_address)  # not the view: it changes what a page shows, not which
    return pages.read(db, query, SessionRow.id, pages.Query("sessions", filters), _size(request, SESSIONS), request.page_token)


def on_wallets(column, wallets: frozenset[str]):
    """`column` (a wallet address) is one of `wallets` (wallet_key()s: hex ones lowercased)."""
    hex_wallets = [w for w in wallets if w.startswith("0x")]
    return or_(func.lower(column).in_(hex_wallets), column.in_([w for w in wallets if not w.startswith("0x")]))


def owns_every_session_of(db: Session, principal: Principal, agent_id: int) -> bool:
    """Whether every session the agent ever had is on the principal's wallets."""
    if principal.wallets is None:
        return True
    wallets = db.scalars(select(OWNER_WALLET).where(SessionRow.agent_id == agent_id).distinct())
    return all(principal.owns(wallet) for wallet in wallets)


def executions(db: Session, request: pb.ListExecutionsRequest) -> pages.Page:
    full = is_full(request.view)
    query = select(ExecutionRow).where(ExecutionRow.session_id == request.session_id)
    if full:
        query = query.options(selectinload(ExecutionRow.egress_connections))
    return pages.read(db, query, ExecutionRow.id, pages.Query("executions", (request.session_id,)), _size(request, EXECUTIONS), request.page_token)


def log_lines(db: Session, execution_ids: list[int], tail: int) -> dict[int, tuple[list[ExecutionLogRow], int]]:
    """Each execution's last `tail` log lines (oldest first; none for 0) and how many it kept in all."""
    if not execution_ids:
        return {}
    counted = db.execute(select(ExecutionLogRow.execution_id, func.count())
                         .where(ExecutionLogRow.execution_id.in_(execution_ids)).group_by(ExecutionLogRow.execution_id))
    kept = {execution_id: count for execution_id, count in counted}
    found: dict[int, tuple[list[ExecutionLogRow], int]] = {i: ([], kept.get(i, 0)) for i in execution_ids}
    if tail:
        ranked = (select(ExecutionLogRow.id, func.row_number().over(partition_by=ExecutionLogRow.execution_id,
                                                                    order_by=ExecutionLogRow.id.desc()).label("back"))
                  .where(ExecutionLogRow.execution_id.in_(execution_ids)).subquery())
        for line in db.scalars(select(ExecutionLogRow).join(ranked, ranked.c.id == ExecutionLogRow.id)
                               .where(ranked.c.back <= tail).order_by(ExecutionLogRow.id)):
            found[line.execution_id][0].append(line)
    return found


def transactions(db: Session, request: pb.ListTransactionsRequest) -> pages.Page:
    statuses = _statuses("statuses", request.statuses, pb.TransactionStatus, "TRANSACTION_STATUS_", TransactionStatus)
    query = select(TransactionRow).where(TransactionRow.session_id == request.session_id)
    if statuses:
        query = query.where(TransactionRow.status.in_(statuses))
    after, before = _created_window(request)
    query = _in_window(query, TransactionRow.created_at, after, before)
    filters = (request.session_id, statuses, after, before)
    return pages.read(db, query, TransactionRow.id, pages.Query("transactions", filters), _size(request, TRANSACTIONS),
                      request.page_token, newest_first=False)


def shadow_runs(db: Session, request: pb.ListShadowRunsRequest) -> pages.Page:
    query = select(ShadowRunRow).where(ShadowRunRow.session_id == request.session_id)
    return pages.read(db, query, ShadowRunRow.id, pages.Query("shadow_runs", (request.session_id,)), _size(request, SHADOW_RUNS),
                      request.page_token)


def suggestions(db: Session, request: pb.ListSuggestionsRequest) -> pages.Page:
    statuses = _statuses("statuses", request.statuses, pb.SuggestionStatus, "SUGGESTION_STATUS_", SuggestionStatus)
    query = select(SuggestionRow).where(SuggestionRow.session_id == request.session_id)
    if statuses:
        query = query.where(SuggestionRow.status.in_(statuses))
    elif not request.include_discarded:
        query = query.where(SuggestionRow.status.not_in(DISCARDED))
    after, before = _created_window(request)
    query = _in_window(query, SuggestionRow.created_at, after, before)
    filters = (request.session_id, statuses, request.include_discarded, after, before)
    return pages.read(db, query, SuggestionRow.id, pages.Query("suggestions", filters), _size(request, SUGGESTIONS), request.page_token)


def _created_window(request: Message) -> tuple[datetime | None, datetime | None]:
    return _instant(request, "created_after"), _instant(request, "created_before")


def _in_window(query, column, after: datetime | None, before: datetime | None):
    if after is not None:
        query = query.where(column >= after)
    if before is not None:
        query = query.where(column < before)
    return query


def memory(db: Session, namespace: str, request: pb.ListSessionMemoryRequest) -> pages.Page:
    return pages.read(db, select(MemoryRow).where(MemoryRow.namespace == namespace), MemoryRow.key,
                      pages.Query("memory", (namespace,)), _size(request, MEMORY), request.page_token, newest_first=False)


def secrets(db: Session, request: pb.ListSessionSecretsRequest) -> tuple[list[SecretInfo], pages.Page]:
    found = pages.read(db, select(SessionSecretRow).where(SessionSecretRow.session_id == request.session_id), SessionSecretRow.name,
                       pages.Query("secrets", (request.session_id,)), _size(request, SECRETS), request.page_token, newest_first=False)
    return [SecretInfo(r.name, r.host, r.set_at) for r in found.rows], found


def agent(db: Session, agent_id: int) -> AgentRow:
    return _one(db.get(AgentRow, agent_id), f"agent {agent_id} does not exist; ListAgents (`corral agents`) lists them")


def execution(db: Session, execution_id: int) -> ExecutionRow:
    row = db.scalar(select(ExecutionRow).options(selectinload(ExecutionRow.egress_connections)).where(ExecutionRow.id == execution_id))
    return _one(row, MISSING["execution"].format(execution_id))


def transaction(db: Session, transaction_id: int) -> TransactionRow:
    return _one(db.get(TransactionRow, transaction_id), MISSING["transaction"].format(transaction_id))


def suggestion(db: Session, suggestion_id: int) -> SuggestionRow:
    return _one(db.get(SuggestionRow, suggestion_id), MISSING["suggestion"].format(suggestion_id))


R = TypeVar("R")


def _one(row: R | None, missing: str) -> R:
    if row is None:
        raise not_found(missing)
    return row
