"""The SDK's small writes of every execution, grouped per commit: while one group's commit
runs on a database thread, the writes that arrive meanwhile queue up and commit together
next. N sandboxes writing at once share a commit (and its fsync) instead of taking turns for
one each, and a call still returns only once its own write is committed. A group the
database refuses is retried write by write, so one bad write fails only itself.

Two queues per database (and event loop), one group in flight in each, so each queue's writes
commit in the order they arrived:
- `log_lines`: log lines and their events, in an ORM session, committed durably (`Database.run`);
- `memory_writes`: memory sets and deletes on a plain connection of their own, committed
  without waiting for the disk (`Database.run_memory_write`; the argument for it is in
  docs/operators.md, "Agent memory and crashes").
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import grpc
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from orchestrator.errors import Refused
from orchestrator.store import Database

log = logging.getLogger("corral.runtime")
T = TypeVar("T")


class _Transaction(Protocol):
    """What a group is staged in: an ORM session or a plain connection."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


Tx = TypeVar("Tx", bound=_Transaction)
# Runs a group's work on a database thread with a transaction of its own (Database.run, run_memory_write).
RunOnDatabase = Callable[[Callable[[Tx], list[Any]]], Awaitable[list[Any]]]


@dataclass
class _Write(Generic[Tx]):
    # Stages one write in the group's transaction (no commit); a `Refused` raised before it
    # writes anything refuses that write alone.
    stage: Callable[[Tx], Any]
    done: asyncio.Future


class GroupCommit(Generic[Tx]):
    def __init__(self, run: RunOnDatabase[Tx]) -> None:
        self._run = run
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queued: list[_Write[Tx]] = []
        self._committer: asyncio.Task | None = None

    async def write(self, stage: Callable[[Tx], T]) -> T:
        """Stages `stage` in the next group's transaction and returns what it returned once
        that transaction is committed. Raises what `stage` refused with, or `Refused`
        (UNAVAILABLE) when the group's commit failed: then nothing of the group was stored."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests run several): the old one's queue died with it
            self._loop, self._queued, self._committer = loop, [], None
        write = _Write(stage, loop.create_future())
        self._queued.append(write)
        if self._committer is None or self._committer.done():
            self._committer = loop.create_task(self._commit_queued(), name="SDK group commit")
        return await write.done

    async def _commit_queued(self) -> None:
        while self._queued:
            group, self._queued = self._queued, []
            try:
                outcomes = await self._run(functools.partial(_commit_together, group=group))
            except Exception as exc:
                # The group's transaction rolled back. One write the database refuses (PostgreSQL
                # takes no NUL in text, say) must not fail other sandboxes' writes: each is
                # retried in a transaction of its own, and only those that fail alone fail.
                log.warning("a group of %d SDK writes failed to commit (%s); retrying each alone", len(group), exc)
                try:
                    outcomes = await self._run(functools.partial(_commit_each, group=group))
                except Exception as again:  # not even a rollback went through: no caller may wait forever
                    log.warning("SDK writes failed to commit one by one too: %s", again)
                    outcomes = [_not_stored(again) for _ in group]
            for write, outcome in zip(group, outcomes, strict=True):
                if write.done.done():  # its caller went away (cancelled); the write stood or fell on its own
                    continue
                if isinstance(outcome, Refused):
                    write.done.set_exception(outcome)
                else:
                    write.done.set_result(outcome)


def _commit_together(db: _Transaction, *, group: list[_Write[Any]]) -> list[Any]:
    """On a database thread: every write of the group staged in one transaction, then one commit."""
    outcomes: list[Any] = []
    for write in group:
        try:
            outcomes.append(write.stage(db))
        except Refused as refused:
            outcomes.append(refused)
    db.commit()
    return outcomes


def _commit_each(db: _Transaction, *, group: list[_Write[Any]]) -> list[Any]:
    """On a database thread: each write in a transaction of its own (after a group failed)."""
    outcomes: list[Any] = []
    for write in group:
        try:
            outcomes.append(write.stage(db))
            db.commit()
        except Refused as refused:
            db.rollback()
            outcomes.append(refused)
        except Exception as exc:
            db.rollback()
            log.warning("an SDK write failed to commit: %s", exc)
            outcomes.append(_not_stored(exc))
    return outcomes


def _not_stored(exc: Exception) -> Refused:
    return Refused(grpc.StatusCode.UNAVAILABLE,
                   f"the write was not stored: the database refused it ({type(exc).__name__}); nothing of it was stored, try again")


_LOG_LINES: weakref.WeakKeyDictionary[Database, GroupCommit[Session]] = weakref.WeakKeyDictionary()
_MEMORY_WRITES: weakref.WeakKeyDictionary[Database, GroupCommit[Connection]] = weakref.WeakKeyDictionary()


def log_lines(db: Database) -> GroupCommit[Session]:
    """The process's one queue of log lines for `db`: every execution's runtime server shares it."""
    queue = _LOG_LINES.get(db)
    if queue is None:
        queue = _LOG_LINES[db] = GroupCommit(db.run)
    return queue


def memory_writes(db: Database) -> GroupCommit[Connection]:
    """The process's one queue of memory writes for `db`: every execution's runtime server shares it."""
    queue = _MEMORY_WRITES.get(db)
    if queue is None:
        queue = _MEMORY_WRITES[db] = GroupCommit(db.run_memory_write)
    return queue
