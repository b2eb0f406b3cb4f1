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
from dataclasses import dataclass
from datetime import datetime

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
    return Halt(stored["reason"], datetime.fromisoformat(stored["at"]))


class KillSwitch:
    def __init__(self, db: Database, signer: SignerClient, runner: ExecutionRunner) -> None:
        self._db = db
        self._signer = signer
        self._runner = runner
        # The last state read or set; refreshed from the database every scheduler pass.
        self.current: Halt | None = self.read()

    def read(self) -> Halt | None:
        with self._db.session() as db:
            return stored_halt(db)

    async def enforce(self) -> Halt | None:
        """Each scheduler pass: reads the switch (another orchestrator may have thrown it)
        and, while halted, kills whatever this process still runs."""
        self.current = self.read()
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

    async def halt(self, reason: str) -> HaltOutcome:
        reason = reason.strip() or "no reason given"
        halt = self.current or Halt(reason, utcnow())
        if self.current is None:
            with self._db.session() as db:
                db.merge(SettingRow(key=HALT_KEY, value=json.dumps({"reason": reason, "at": halt.at.isoformat()})))
                events.record(db, "platform", "halted", None, 0)
                db.commit()
            self.current = halt
        log.warning("platform halted: %s", halt.reason)
        stopped = await self._runner.kill_running(f"halted by the kill switch: {halt.reason}")
        try:
            await self._signer.halt_signing(halt.reason)
            signer_error = ""
        except grpc.aio.AioRpcError as exc:
            signer_error = f"the signer did not confirm its halt: {exc.details()}; this orchestrator refuses all signing regardless"
            log.error(signer_error)
        return HaltOutcome(halt, stopped, signer_error)

    async def resume(self) -> ResumeOutcome:
        with self._db.session() as db:
            row = db.get(SettingRow, HALT_KEY)
            if row is not None:
                db.delete(row)
                events.record(db, "platform", "resumed", None, 0)
            db.commit()
        self.current = None
        self._runner.lift_halt()
        log.warning("platform resumed")
        try:
            return ResumeOutcome((await self._signer.resume_signing()).halted_by_owner, "")
        except grpc.aio.AioRpcError as exc:
            return ResumeOutcome(False, f"the signer did not confirm: {exc.details()}")
