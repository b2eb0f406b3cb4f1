"""Request ids: a mutating call made again with the request_id of an earlier one gets the
earlier call's answer back instead of acting twice (what a console retrying after a timeout
or a dropped connection needs).

Kept in the database (`request_ids`, one row per caller, method and id), so the answer holds
across restarts and for every orchestrator on the database:

- before the call acts, a row is inserted for its id with a hash of the request; the unique
  key makes two concurrent calls with one id one: the second finds the row, waits for the
  first to answer (ABORTED, retryable, if it takes past PENDING_WAIT_SECONDS) and returns
  the same answer;
- the answer is stored serialized when the call returns; a call that is refused (or fails)
  removes its row, so a retry acts again: a refusal is not an answer worth repeating (a
  session refused for want of funds starts once the wallet is funded);
- the same id with a different request is INVALID_ARGUMENT naming request_id;
- rows older than WINDOW are ignored, and removed by the retention job (store/retention.py).

A call whose client goes away keeps acting to its end and stores its answer (the retry that
follows a client's timeout is the case this is for). An orchestrator killed while a call acts
leaves a row without an answer: its retries get ABORTED until the row expires.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from corral.v1 import orchestrator_pb2
from orchestrator.api.access import caller
from orchestrator.errors import Refused, invalid
from orchestrator.store import Database, RequestIdRow, utcnow
from orchestrator.store.retention import REQUEST_IDS_KEPT as WINDOW
from orchestrator.tracing import tag_request

PENDING_WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.05

M = TypeVar("M", bound=Message)
_METHODS = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"].methods_by_name


def idempotent(handler):
    """Decorates an OrchestratorApi method whose request has a request_id: a retry with the
    same id gets the first answer (`RequestIds.once`), under the method's own name."""

    @functools.wraps(handler)
    async def once(self, request, context):
        return await self.request_ids.once(handler.__name__, request, lambda: handler(self, request, context))

    return once


def request_hash(request: Message) -> str:
    """SHA-256 of the request without its request_id (deterministic serialization)."""
    return hashlib.sha256(_without_request_id(request)).hexdigest()


def _without_request_id(request: Message) -> bytes:
    copy = type(request)()
    copy.CopyFrom(request)
    copy.ClearField("request_id")
    return copy.SerializeToString(deterministic=True)


class RequestIds:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._acting: set[asyncio.Task] = set()

    async def once(self, method: str, request: Message, act: Callable[[], Awaitable[M]],
                   fingerprint: Callable[[bytes], str] | None = None) -> M:
        """`act()`'s answer, or the answer of the earlier call with `request.request_id`.
        `fingerprint`: how the request is hashed (an HMAC for one that carries a secret)."""
        request_id = request.request_id  # type: ignore[attr-defined]
        tag_request(request_id)
        if not request_id:
            return await act()
        digest = fingerprint(_without_request_id(request)) if fingerprint else request_hash(request)
        key = (caller().name, method, request_id)  # ids are the caller's own: another's cannot collide
        deadline = asyncio.get_running_loop().time() + PENDING_WAIT_SECONDS
        while True:
            claimed, earlier = await self._db.run(lambda db: _claim(db, key, digest))
            if claimed:
                break  # this call acts
            if earlier is None:
                continue  # the call that held the id was refused meanwhile: claim it again
            if earlier.request_hash != digest:
                raise invalid(f"request_id {request_id!r} was used for a different {method} request in the last 24 hours; "
                              "give each distinct request an id of its own", field="request_id")
            if earlier.response is not None:
                return getattr(orchestrator_pb2, _METHODS[method].output_type.name).FromString(earlier.response)  # type: ignore[no-any-return]
            if asyncio.get_running_loop().time() > deadline:
                raise Refused(grpc.StatusCode.ABORTED, f"the {method} call with request_id {request_id!r} is still being answered; "
                                                       "retry it in a moment")
            await asyncio.sleep(_POLL_SECONDS)
        # Shielded: a client gone (its deadline passed) does not cut the work between acting and
        # storing the answer its retry will ask for.
        task = asyncio.ensure_future(self._act_and_store(key, act))
        self._acting.add(task)
        task.add_done_callback(self._acting.discard)
        task.add_done_callback(_retrieved)  # its caller may have gone: its refusal is not an unhandled error
        return await asyncio.shield(task)

    async def _act_and_store(self, key: tuple[str, str, str], act: Callable[[], Awaitable[M]]) -> M:
        try:
            response = await act()
        except BaseException:
            await self._db.run(lambda db: _forget(db, key))
            raise
        answer = response.SerializeToString()
        await self._db.run(lambda db: _answer(db, key, answer))
        return response

    async def drain(self) -> None:
        """Waits for the calls still acting (at shutdown)."""
        if self._acting:
            await asyncio.gather(*self._acting, return_exceptions=True)


def _retrieved(task: asyncio.Task) -> None:
    if not task.cancelled():
        task.exception()


def _where(key: tuple[str, str, str]):
    principal, method, request_id = key
    return (RequestIdRow.principal == principal, RequestIdRow.method == method, RequestIdRow.request_id == request_id)


def _claim(db: Session, key: tuple[str, str, str], digest: str) -> tuple[bool, RequestIdRow | None]:
    """(True, None) when this call now holds the id; else (False, the earlier call's row or
    None when it went away in between)."""
    principal, method, request_id = key
    earlier = db.scalar(select(RequestIdRow).where(*_where(key)))
    if earlier is not None and earlier.created_at < utcnow() - WINDOW:
        db.execute(delete(RequestIdRow).where(RequestIdRow.id == earlier.id))  # expired, not yet pruned
        db.commit()
        earlier = None
    if earlier is not None:
        return False, earlier
    db.add(RequestIdRow(principal=principal, method=method, request_id=request_id, request_hash=digest, response=None, created_at=utcnow()))
    try:
        db.commit()
    except IntegrityError:  # a concurrent call with the same id inserted first
        db.rollback()
        return False, db.scalar(select(RequestIdRow).where(*_where(key)))
    return True, None


def _answer(db: Session, key: tuple[str, str, str], answer: bytes) -> None:
    db.execute(update(RequestIdRow).where(*_where(key)).values(response=answer))
    db.commit()


def _forget(db: Session, key: tuple[str, str, str]) -> None:
    db.execute(delete(RequestIdRow).where(*_where(key)))
    db.commit()
