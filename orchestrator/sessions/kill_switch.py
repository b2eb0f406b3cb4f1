"""The platform-wide kill switch (`corral halt` / `corral resume`, the HaltPlatform and
ResumePlatform calls).

Halting reaches running work at once: the halt is written to the database (so it holds
across restarts, and every orchestrator on that database sees it when it commits: its event
wakes their schedulers, by NOTIFY on PostgreSQL, at worst after `[scheduler] recheck_seconds`),
this process refuses every new signing request before it reaches the signer, kills the
sandboxes it runs, and asks the signer to halt as well (the signer then refuses on its own,
whatever any orchestrator does). Resuming lifts the database flag and the
signer's halt that this placed; a halt the wallet owner placed on the signer stays.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import grpc
from sqlalchemy.orm import Session

from orchestrator.actions.signer_client import SignerClient
from orchestrator.errors import Refused
from orchestrator.executions.runner import ExecutionRunner
from orchestrator.store import Database, SettingRow, events, utcnow

log = logging.getLogger("corral.kill_switch")

HALT_KEY = "halt"


@dataclass(frozen=True)
class Halt:
    reason: str
    at: datetime
    by: str = ""  # the principal that halted (events name it)


@dataclass(frozen=True)
class HaltOutcome:
    halt: Halt
    sandboxes_stopped: int
    signer_error: str  # "" when the signer confirmed


@dataclass(frozen=True)
class ResumeOutcome:
    signer_halted_by_owner: bool
    signer_error: str


def stored_halt(db: Session) -> Halt | None:
    """The halt as the database holds it (None: not halted)."""
    row = db.get(SettingRow, HALT_KEY)
    if row is None:
        return None
    stored = json.loads(row.value)
    return Halt(stored["reason"], datetime.fromisoformat(stored["at"]), stored.get("by", ""))


class KillSwitch:
    def __init__(self, db: Database, signer: SignerClient, runner: ExecutionRunner) -> None:
        self._db = db
        self._signer = signer
        self._runner = runner
        # The last state read or set; refreshed from the database every scheduler pass.
        self.current: Halt | None = self.read()
        # Moves when a write of the switch made here ends. A scheduler pass notes it before its
        # read; a read from before or during such a write may be older than `current` and is
        # not applied (it would lift a halt thrown while the pass was reading, and run what
        # the pass claimed).
        self.changes = 0
        self._writing = 0
        # A halt thrown here whose write has not landed (the database refused or timed out):
        # held here regardless, and written again at every scheduler pass until it lands.
        self._unstored: Halt | None = None

    def read(self) -> Halt | None:
        with self._db.session() as db:
            return stored_halt(db)

    async def apply(self, halt: Halt | None, changes_before_read: int) -> Halt | None:
        """Each scheduler pass, with the switch as the pass's transaction read it (another
        orchestrator may have thrown it), unless it was thrown or lifted here since the read
        began: while halted, kills whatever this process still runs."""
        if self._unstored is not None:  # never lifted by a read that cannot have seen it
            if halt is not None:
                self._unstored = None  # the database holds a halt now
            elif not self._writing:  # not while its first write is still under way
                await self._store(self._unstored)
        elif changes_before_read == self.changes and not self._writing:
            self.current = halt
        if self.current is not None:
            await self._runner.kill_running(f"halted by the kill switch: {self.current.reason}")
        else:
            self._runner.lift_halt()
        return self.current

    def refusal(self) -> Refused | None:
        """What a signing request is refused with while halted (checked before the signer
        is asked)."""
        if self.current is None:
            return None
        return Refused(grpc.StatusCode.FAILED_PRECONDITION,
                       f"the platform is halted (kill switch: {self.current.reason}); nothing is signed until `corral resume`")

    async def _write(self, change: Callable[[Session], None]) -> None:
        """Writes a change of the switch on a database thread (see `changes`)."""
        self._writing += 1
        try:
            await self._db.run(change)
        finally:
            self._writing -= 1
            self.changes += 1

    async def _store(self, halt: Halt) -> bool:
        """Writes the halt; False (logged) when the database did not take it."""
        try:
            await self._write(partial(_store_halt, halt))
        except Exception:
            log.exception("the halt could not be recorded in the database; this orchestrator holds it and writes it again")
            return False
        self._unstored = None
        return True

    async def halt(self, reason: str, by: str = "") -> HaltOutcome:
        """Halts: refuses signing here and kills what runs here at once, records the halt and
        halts the signer. The kill and the signer's halt happen even when the database does
        not take the write (an emergency stop must not depend on it); the caller is then told so."""
        reason = reason.strip() or "no reason given"
        needs_storing = self.current is None or self._unstored is not None
        halt = self.current or Halt(reason, utcnow(), by)
        # Refusing and killing at once, before the write's round trip (a scheduler pass that
        # reads the stored halt meanwhile finds nothing left to kill, so the count is whole).
        self.current = halt
        stopped = await self._runner.kill_running(f"halted by the kill switch: {halt.reason}")
        stored = True
        if needs_storing:
            self._unstored = halt
            stored = await self._store(halt)
        log.warning("platform halted: %s", halt.reason)
        try:
            await self._signer.halt_signing(halt.reason)
            signer_error = ""
        except grpc.aio.AioRpcError as exc:
            signer_error = f"the signer did not confirm its halt: {exc.details()}; this orchestrator refuses all signing regardless"
            log.error(signer_error)
        if not stored:
            confirmed = "the signer halted" if not signer_error else signer_error
            raise Refused(grpc.StatusCode.UNAVAILABLE,
                          f"halted here ({stopped} sandboxes killed; {confirmed}) but the database did not take the halt, so other "
                          "orchestrators have not seen it; this one writes it again at every scheduler pass: run `corral halt` again")
        return HaltOutcome(halt, stopped, signer_error)

    async def resume(self, by: str = "") -> ResumeOutcome:
        await self._write(partial(_remove_halt, by))
        self.current = self._unstored = None  # only once the database no longer holds it
        self._runner.lift_halt()
        log.warning("platform resumed")
        try:
            return ResumeOutcome((await self._signer.resume_signing()).halted_by_owner, "")
        except grpc.aio.AioRpcError as exc:
            return ResumeOutcome(False, f"the signer did not confirm: {exc.details()}")


def _store_halt(halt: Halt, db: Session) -> None:
    db.merge(SettingRow(key=HALT_KEY, value=json.dumps({"reason": halt.reason, "at": halt.at.isoformat(), "by": halt.by})))
    events.record(db, "platform", "halted", None, 0, halt.by)
    db.commit()


def _remove_halt(by: str, db: Session) -> None:
    row = db.get(SettingRow, HALT_KEY)
    if row is not None:
        db.delete(row)
        events.record(db, "platform", "resumed", None, 0, by)
    db.commit()
