"""A paper session's account on a venue, kept in the orchestrator's database
(`PaperVenueAccountRow`): one JSON document per session and venue, validated by the venue's
pydantic model on every read.

A change is a pure function of the account (and of what was read from the venue before it);
it is stored only if nobody changed the account since it was read (`version`), and run again
on the fresh account otherwise. So an execution and an approved suggestion of the same
session, even on two replicas, never both fill from the same balance, on SQLite as on
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import grpc
from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.errors import Refused
from orchestrator.store import Database, PaperVenueAccountRow, utcnow

Account = TypeVar("Account", bound=BaseModel)
Result = TypeVar("Result")
# Changes of one account that raced another (a busy session and its approvals): tried again.
ATTEMPTS = 5


class PaperAccounts(Generic[Account]):
    def __init__(self, db: Database, venue: str, model: type[Account]) -> None:
        self._db = db
        self._venue = venue
        self._model = model

    async def read(self, session_id: int, opening: Callable[[], Account]) -> Account:
        """The session's account as stored (`opening()` when it has none yet)."""
        stored = await self._db.run(lambda db: self._stored(db, session_id))
        return opening() if stored is None else stored[1]

    async def change(self, session_id: int, opening: Callable[[], Account], change: Callable[[Account], Result]) -> Result:
        """Runs `change` on the session's account and stores what it left, unless the account
        changed meanwhile (then again, on the new one). What `change` raises stores nothing."""
        for _ in range(ATTEMPTS):
            outcome = await self._db.run(lambda db: self._change_once(db, session_id, opening, change))
            if outcome is not None:
                return outcome[0]
        raise Refused(grpc.StatusCode.ABORTED, f"the paper {self._venue} account of session {session_id} is changing too often; try again")

    def _stored(self, db: Session, session_id: int) -> tuple[int, Account] | None:
        row = db.get(PaperVenueAccountRow, (session_id, self._venue))
        return None if row is None else (row.version, self._model.model_validate(row.state))

    def _change_once(self, db: Session, session_id: int, opening: Callable[[], Account],
                     change: Callable[[Account], Result]) -> tuple[Result] | None:
        """(what `change` returned), or None when another change came first."""
        stored = self._stored(db, session_id)
        account = opening() if stored is None else stored[1]
        before = None if stored is None else stored[1].model_dump(mode="json")
        result = change(account)
        state = account.model_dump(mode="json")
        if state == before:  # a read that found nothing to settle: nothing to write
            return (result,)
        if stored is None:
            db.add(PaperVenueAccountRow(session_id=session_id, venue=self._venue, state=state, version=1, updated_at=utcnow()))
            try:
                db.commit()
            except IntegrityError:  # another change made the account first
                db.rollback()
                return None
            return (result,)
        moved = db.execute(update(PaperVenueAccountRow)
                           .where(PaperVenueAccountRow.session_id == session_id, PaperVenueAccountRow.venue == self._venue,
                                  PaperVenueAccountRow.version == stored[0])
                           .values(state=state, version=stored[0] + 1, updated_at=utcnow()))
        db.commit()
        return (result,) if moved.rowcount == 1 else None

