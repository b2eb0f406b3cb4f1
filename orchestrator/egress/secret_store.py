"""Sessions' secrets in the database: set (replacing), list (names, hosts, times: never
values), delete, and open for one execution. Values are sealed and opened by
`secrets.SecretBox`; nothing here logs or returns a value except `for_execution`, which
hands them to the execution's egress proxy only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from corral.hosts import HostRule, HostRuleError, parse_rules
from orchestrator.egress.secrets import BoundSecret, SecretBox, SecretError, bind_host, check_name, check_value
from orchestrator.store import SessionRow, SessionSecretRow, utcnow

MAX_SECRETS_PER_SESSION = 32
log = logging.getLogger("corral.egress.secrets")


@dataclass(frozen=True)
class SecretInfo:
    name: str
    host: str
    set_at: datetime


def _declared(session: SessionRow) -> tuple[HostRule, ...]:
    try:
        return parse_rules(list(session.egress_hosts), "the session's egress hosts")
    except HostRuleError:
        return ()


def set_secret(db: Session, box: SecretBox, session: SessionRow, name: str, host: str, value: str) -> SecretInfo:
    """Seals `value` for (session, name, host), replacing a secret of that name."""
    check_name(name)
    check_value(value)
    rule = bind_host(host, _declared(session))
    row = db.scalars(select(SessionSecretRow).where(SessionSecretRow.session_id == session.id, SessionSecretRow.name == name)).first()
    if row is None:
        count = len(db.scalars(select(SessionSecretRow.id).where(SessionSecretRow.session_id == session.id)).all())
        if count >= MAX_SECRETS_PER_SESSION:
            raise SecretError(f"name: this session has {count} secrets, the most it may have; delete one first")
        row = SessionSecretRow(session_id=session.id, name=name)
        db.add(row)
    row.host, row.set_at = str(rule), utcnow()
    row.sealed = box.seal(session.id, name, row.host, value)
    db.commit()
    return SecretInfo(row.name, row.host, row.set_at)


def delete_secret(db: Session, session_id: int, name: str) -> bool:
    deleted = db.execute(delete(SessionSecretRow).where(SessionSecretRow.session_id == session_id, SessionSecretRow.name == name))
    db.commit()
    return bool(getattr(deleted, "rowcount", 0))


def for_execution(db: Session, box: SecretBox | None, session: SessionRow) -> tuple[BoundSecret, ...]:
    """The session's secrets whose host it still declares, opened; a row that does not open
    (another key, or copied from elsewhere) is skipped and said so by name."""
    rows = db.scalars(select(SessionSecretRow).where(SessionSecretRow.session_id == session.id)).all()
    if not rows:
        return ()
    if box is None:
        log.warning("session %s has secrets but [egress] secrets_key_file is not set: its executions get none", session.id)
        return ()
    declared = _declared(session)
    bound: list[BoundSecret] = []
    for row in rows:
        value = box.open(session.id, row.name, row.host, row.sealed)
        try:
            rule = bind_host(row.host, declared)
        except SecretError:
            continue  # no longer declared (the session's hosts are fixed, but be safe)
        if value is None:
            log.warning("secret %s of session %s does not open with this installation's key; set it again", row.name, session.id)
            continue
        bound.append(BoundSecret(row.name, rule, value))
    return tuple(bound)
