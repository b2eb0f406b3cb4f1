"""Per-session circuit breakers, set by the user when starting a session.

- `max_transactions_per_hour`: checked before each transaction is stored; the one that
  would exceed the limit is refused (never signed) and the session paused.
- `max_loss` / `max_loss_percent` (of the starting allocation) within
  `max_loss_window_seconds`: the session's holding of its starting asset at the window's
  start (or at its start, if later) less its holding now, from its own ledger and fees.
  Checked every cycle: before an execution runs the agent and after it ends.

Every session also has the platform's breaker on signing requests the signer refused
(`[breakers] max_signer_refusals_per_hour`, `SignerRefusals`).

A tripped breaker pauses the session (a running one) and says why in `status_reason`; the
user resumes it when they have looked.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from decimal import Decimal

import grpc
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from corral.limits import shortened
from corral.networks import address_key
from corral.v1 import orchestrator_pb2
from orchestrator.actions.positions import session_positions
from orchestrator.errors import Refused, invalid, precondition
from orchestrator.metrics import BREAKER_TRIPS
from orchestrator.store import Database, EventRow, SessionRow, TransactionRow, events, utcnow
from orchestrator.store.statuses import SessionStatus, TransactionStatus

log = logging.getLogger("corral.breakers")

# Transactions that were, or may have been, sent.
SENT = (TransactionStatus.PENDING, TransactionStatus.SIGNED, TransactionStatus.CONFIRMED, TransactionStatus.REVERTED)


# The longest loss window a session may ask for: ten years, which means "since the session
# started" for any session there will be, and stays far inside what a datetime can go back
# from now (to the year 1). Sessions stored before this bound are read as having it.
MAX_LOSS_WINDOW_SECONDS = 10 * 365 * 86400


class BreakerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_loss: int | None = Field(default=None, ge=1)
    max_loss_percent: Decimal | None = Field(default=None, gt=0, le=100)
    max_loss_window_seconds: int = Field(default=86400, ge=1)
    max_transactions_per_hour: int | None = Field(default=None, ge=1)

    @field_validator("max_loss", mode="before")
    @classmethod
    def _integer_string(cls, value):
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
            raise ValueError(f"{value!r} must be a positive integer string in the starting asset's smallest unit")
        return value

    @field_validator("max_loss_percent", mode="before")
    @classmethod
    def _percent(cls, value):
        try:
            return Decimal(value) if isinstance(value, str) else value
        except ArithmeticError:
            raise ValueError(f"{value!r} must be a percentage, e.g. \"10\" or \"2.5\"") from None


class RequestedBreakers(BreakerSettings):
    """Breakers as a request may set them: the window bounded, the percentage in plain
    digits (Decimal alone reads "٥", "5_0" and "1E-28"). Stored ones are not re-checked, so a
    session stored before these bounds still reads."""

    max_loss_window_seconds: int = Field(default=86400, ge=1, le=MAX_LOSS_WINDOW_SECONDS)

    @field_validator("max_loss_percent", mode="before")
    @classmethod
    def _plain_percent(cls, value):
        if isinstance(value, str) and not _PLAIN_PERCENT.fullmatch(value):
            raise ValueError(f'{shortened(value, 40)!r} must be a percentage in ASCII digits with at most 6 decimals, e.g. "10" or "2.5"')
        return value


_PLAIN_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,6})?")


def settings_from_request(message: orchestrator_pb2.SessionBreakers, path: str = "breakers") -> BreakerSettings:
    """The breakers a StartSession (or UpdateSession, at `path`) asked for, or INVALID_ARGUMENT
    naming what to fix."""
    given = {field.name: value for field, value in message.ListFields()}
    try:
        return RequestedBreakers.model_validate(given)
    except ValidationError as exc:
        paths = [".".join([path, *map(str, e["loc"])]) for e in exc.errors()]
        problems = "; ".join(f"{path}: {e['msg']}" for path, e in zip(paths, exc.errors(), strict=True))
        raise invalid(problems, field=paths[0]) from None


def settings_message(stored: dict) -> orchestrator_pb2.SessionBreakers:
    settings = BreakerSettings.model_validate(stored or {})
    message = orchestrator_pb2.SessionBreakers()
    if settings.max_loss is not None:
        message.max_loss = str(settings.max_loss)
    if settings.max_loss_percent is not None:
        message.max_loss_percent = str(settings.max_loss_percent)
    if settings.max_loss is not None or settings.max_loss_percent is not None:
        message.max_loss_window_seconds = settings.max_loss_window_seconds
    if settings.max_transactions_per_hour is not None:
        message.max_transactions_per_hour = settings.max_transactions_per_hour
    return message


def stored_settings(settings: BreakerSettings) -> dict:
    return settings.model_dump(mode="json", exclude_none=True)


class Breakers:
    def __init__(self, db: Database) -> None:
        self._db = db

    def before_sending(self, session: SessionRow) -> None:
        """Refuses (and pauses the session) when one more transaction would exceed the
        hourly limit."""
        limit = BreakerSettings.model_validate(session.breakers or {}).max_transactions_per_hour
        if limit is None:
            return
        with self._db.session() as db:
            sent = db.scalar(select(func.count()).select_from(TransactionRow).where(
                TransactionRow.session_id == session.id, TransactionRow.status.in_(SENT),
                TransactionRow.created_at >= utcnow() - timedelta(hours=1),
            ))
        if sent >= limit:
            reason = f"breaker max_transactions_per_hour tripped: {sent} transactions in the last hour, the limit is {limit}"
            trip(self._db, session.id, "max_transactions_per_hour", reason)
            raise precondition(f"{reason}; this one was not sent and the session is paused")

    def check_loss(self, session_id: int, known: SessionRow | None = None) -> str | None:
        """Pauses the session if it lost more than its breaker allows; returns the reason.
        `known`: the session as the caller just read it, which saves reading it again when it
        has no loss breaker (a session's breakers are set at its start and never change)."""
        if known is not None and not _limits_loss(BreakerSettings.model_validate(known.breakers or {})):
            return None
        with self._db.session() as db:
            session = db.scalar(select(SessionRow).options(joinedload(SessionRow.agent)).where(SessionRow.id == session_id))
            settings = BreakerSettings.model_validate(session.breakers or {})
            if session.status != SessionStatus.RUNNING or not _limits_loss(settings):
                return None
            now = utcnow()
            window = min(settings.max_loss_window_seconds, MAX_LOSS_WINDOW_SECONDS)
            since = max(now - timedelta(seconds=window), session.created_at)
            lost = _holding(db, session, since) - _holding(db, session, None)
        allocation = int(session.allocation_amount)
        limits = [settings.max_loss] if settings.max_loss is not None else []
        if settings.max_loss_percent is not None:
            limits.append(int(allocation * settings.max_loss_percent / 100))
        limit = min(limits)
        if lost <= limit:
            return None
        reason = (f"breaker max_loss tripped: the session lost {lost} of its starting asset in the last "
                  f"{window} s, the limit is {limit}")
        trip(self._db, session_id, "max_loss", reason)
        return reason

SIGNER_REFUSALS = "max_signer_refusals_per_hour"


def trip(database: Database, session_id: int, breaker: str, reason: str) -> None:
    """Pauses a running session, saying why in its status reason (`breaker`: which one, for
    /metrics)."""
    with database.session() as db:
        session = db.get(SessionRow, session_id)
        if session.status != SessionStatus.RUNNING:
            return
        session.status, session.status_reason = SessionStatus.PAUSED, reason
        events.record(db, "session", SessionStatus.PAUSED, session_id, session_id)
        db.commit()
    BREAKER_TRIPS.labels(breaker).inc()
    log.warning("session %s paused: %s", session_id, reason)


_LAST_RESUME = select(func.max(EventRow.occurred_at)).where(
    EventRow.session_id == bindparam("session_id"), EventRow.kind == "session", EventRow.change == SessionStatus.RUNNING,
).scalar_subquery()
_REFUSED_SINCE_RESUME = select(func.count()).select_from(EventRow).where(
    EventRow.session_id == bindparam("session_id"), EventRow.kind == "session", EventRow.change == "signing_refused",
    EventRow.occurred_at >= bindparam("hour_ago"), EventRow.occurred_at >= func.coalesce(_LAST_RESUME, bindparam("hour_ago")),
)


class SignerRefusals:
    """Counts, per session, the signing requests the signer refused, as `signing_refused`
    session events (so a console sees each one). Past the platform's limit in the hour
    (counted from the session's last resume, so a user who resumed it gets a fresh
    allowance) the session is paused and its further requests are refused here, before
    they reach the signer. Counted in the database, so replicas share one count.

    Requests still at the signer may each come back refused, so they count against the
    limit while in flight (in this process): concurrent requests cannot race past it.
    Near the limit, a request beyond it is turned away (RESOURCE_EXHAUSTED, retry later)
    without pausing the session, since those in flight may yet succeed."""

    def __init__(self, db: Database, per_hour: int) -> None:
        self._db = db
        self._limit = per_hour
        self._in_flight: dict[int, int] = {}

    def before_signing(self, session_id: int) -> None:
        """Raises Refused, or admits the request: call `done` when it has its answer."""
        if not session_id:
            return  # the platform's own requests (a venue login), not a session's
        with self._db.engine.connect() as connection:  # a read on every signing request: no ORM session for it
            refused = self._count(connection, session_id)
        if refused >= self._limit:
            reason = self._reason(refused)
            trip(self._db, session_id, SIGNER_REFUSALS, reason)
            raise Refused(grpc.StatusCode.PERMISSION_DENIED, f"{reason}; this request was not sent to the signer")
        in_flight = self._in_flight.get(session_id, 0)
        if refused + in_flight >= self._limit:
            raise Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, (
                f"{in_flight} of this session's signing requests are still at the signer and {refused} were refused in the "
                f"last hour (the limit is {self._limit}): retry once they are answered"))
        self._in_flight[session_id] = in_flight + 1

    def done(self, session_id: int) -> None:
        """An admitted request has its answer (whatever it was)."""
        if session_id and (left := self._in_flight.get(session_id, 0) - 1) > 0:
            self._in_flight[session_id] = left
        else:
            self._in_flight.pop(session_id, None)

    def refused(self, session_id: int) -> None:
        """The signer refused one of the session's requests."""
        if not session_id:
            return
        with self._db.session() as db:
            if db.get(SessionRow, session_id) is None:
                return
            events.record(db, "session", "signing_refused", session_id, session_id)
            db.commit()
            refused = self._count(db, session_id)
        if refused >= self._limit:
            trip(self._db, session_id, SIGNER_REFUSALS, self._reason(refused))

    def _count(self, db: Session | Connection, session_id: int) -> int:
        # One statement (asked before every signing request): since the later of an hour ago
        # and the session's last resume, both seeks on the events' (session, kind, change, time) index.
        return db.scalar(_REFUSED_SINCE_RESUME, {"session_id": session_id, "hour_ago": utcnow() - timedelta(hours=1)})

    def _reason(self, refused: int) -> str:
        return (f"breaker max_signer_refusals_per_hour tripped: the signer refused {refused} of this session's "
                f"requests in the last hour, the platform's limit is {self._limit}")


def _limits_loss(settings: BreakerSettings) -> bool:
    return settings.max_loss is not None or settings.max_loss_percent is not None


def _holding(db: Session, session: SessionRow, at) -> int:
    """The session's holding of its starting asset at `at` (None: now)."""
    if at is not None and at <= session.created_at:
        return int(session.allocation_amount)
    key = (session.allocation_network, address_key(session.allocation_network, session.allocation_asset))
    positions, _ = session_positions(db, session, until=at)
    return next(int(p.current_qty) for p in positions if (p.network, address_key(p.network, p.asset_address)) == key)

