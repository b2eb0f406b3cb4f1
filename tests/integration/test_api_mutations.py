"""The frontend API's mutations (issue 18, item 3): UpdateSession changes a session's settings,
breakers and mode in place, checked as StartSession checks them, keeping its memory; and every
mutating call takes a request_id, so a retry returns the first answer instead of acting (or
failing) again."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import select

from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.api.idempotency import request_hash
from orchestrator.executions import memory
from orchestrator.store import EventRow, RequestIdRow, SessionRow, utcnow
from orchestrator.store.retention import Retention
from tests.integration.api_in_process import WALLET, serving
from tests.integration.test_api_error_details import native_refusal


@pytest.fixture
def api(tmp_path):
    with serving(tmp_path) as api:
        yield api


def update(paths: list[str], request_id: str = "", **session) -> pb.UpdateSessionRequest:
    return pb.UpdateSessionRequest(session=pb.Session(id=1, **session), update_mask=FieldMask(paths=paths), request_id=request_id)


def session_events(api, change: str) -> int:
    with api.db.session() as db:
        return len(db.scalars(select(EventRow).where(EventRow.kind == "session", EventRow.change == change)).all())


def test_update_changes_settings_breakers_and_mode_and_keeps_memory(api):
    with api.db.session() as db:
        memory.set_value(db, memory.session_namespace(1), "seen", "42")
        db.commit()
    code, _, reply = api.call("UpdateSession", update(
        ["settings", "breakers", "execution_mode"], settings={"note": "changed", "count": "7"},
        breakers=pb.SessionBreakers(max_transactions_per_hour=3), execution_mode=common_pb2.EXECUTION_MODE_MANUAL))
    assert code == grpc.StatusCode.OK
    assert dict(reply.session.settings) == {"note": "changed", "count": "7"}
    assert reply.session.breakers.max_transactions_per_hour == 3
    assert reply.session.execution_mode == common_pb2.EXECUTION_MODE_MANUAL
    assert reply.session.status == pb.SESSION_STATUS_RUNNING
    with api.db.session() as db:
        assert db.scalar(select(memory.MemoryRow.value).where(memory.MemoryRow.key == "seen")) == "42"
    assert session_events(api, "updated") == 1


def test_update_replaces_only_the_fields_in_the_mask(api):
    api.call("UpdateSession", update(["settings"], settings={"note": "kept"}))
    _, _, reply = api.call("UpdateSession", update(["execution_mode"], settings={"note": "ignored"},
                                                   execution_mode=common_pb2.EXECUTION_MODE_MANUAL))
    assert dict(reply.session.settings) == {"note": "kept"}
    assert reply.session.execution_mode == common_pb2.EXECUTION_MODE_MANUAL


@pytest.mark.parametrize(("request_", "field"), [
    (update([]), "update_mask"),
    (update(["wallet_address"], wallet_address="0x" + "11" * 20), "update_mask"),
    (update(["settings"], settings={"count": "many"}), "session.settings['count']"),
    (update(["settings"], settings={"nope": "1"}), "session.settings['nope']"),
    (update(["breakers"], breakers=pb.SessionBreakers(max_loss_window_seconds=2**63)), "session.breakers.max_loss_window_seconds"),
    (update(["settings"], settings={"note": "x" * 5000}), "session.settings['note']"),
])
def test_an_update_start_would_refuse_is_refused_naming_the_field_and_changes_nothing(api, request_, field):
    before = api.dump()
    code, message, violations = native_refusal(api, "UpdateSession", request_)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert violations == [(field, message)]
    assert api.dump() == before


def test_a_stopped_session_cannot_be_updated(api):
    api.call("StopSession", pb.StopSessionRequest(session_id=1))
    code, message, _ = api.call("UpdateSession", update(["settings"], settings={"note": "late"}))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "stopped" in message


def test_a_retried_call_returns_the_first_answer_and_acts_once(api):
    first = api.call("PauseSession", pb.PauseSessionRequest(session_id=1, request_id="pause-1"))
    again = api.call("PauseSession", pb.PauseSessionRequest(session_id=1, request_id="pause-1"))
    assert first[0] == grpc.StatusCode.OK and again == first
    assert session_events(api, "paused") == 1
    # Without a request_id a repeat is a new call, refused as before.
    assert api.call("PauseSession", pb.PauseSessionRequest(session_id=1))[0] == grpc.StatusCode.FAILED_PRECONDITION


def test_a_retried_start_returns_the_session_it_started(api):
    api.call("StopSession", pb.StopSessionRequest(session_id=1))  # the seeded session holds the agent's one slot on the wallet
    start = pb.StartSessionRequest(agent_id=1, wallet_address=WALLET, request_id="0b9d6c3e-start")
    first = api.call("StartSession", start)
    assert first[0] == grpc.StatusCode.OK
    assert api.call("StartSession", start) == first  # not "already runs on wallet ..."
    with api.db.session() as db:
        assert len(db.scalars(select(SessionRow).where(SessionRow.status == "running")).all()) == 1


def test_the_same_request_id_for_a_different_request_is_refused_naming_it(api):
    api.call("UpdateSession", update(["settings"], "u-1", settings={"note": "one"}))
    code, message, violations = native_refusal(api, "UpdateSession", update(["settings"], "u-1", settings={"note": "two"}))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and violations == [("request_id", message)]
    # The same id on another method is another key.
    assert api.call("PauseSession", pb.PauseSessionRequest(session_id=1, request_id="u-1"))[0] == grpc.StatusCode.OK


@pytest.mark.parametrize("request_id", ["x" * 65, "has space", "naïve", "a/b"])
def test_a_request_id_is_short_plain_ascii(api, request_id):
    code, _message, violations = native_refusal(api, "PauseSession", pb.PauseSessionRequest(session_id=1, request_id=request_id))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and [f for f, _ in violations] == ["request_id"]


def test_a_refused_call_leaves_its_request_id_free_for_a_retry(api):
    refused = api.call("ResumeSession", pb.ResumeSessionRequest(session_id=1, request_id="r-1"))  # running: not paused
    assert refused[0] == grpc.StatusCode.FAILED_PRECONDITION
    api.call("PauseSession", pb.PauseSessionRequest(session_id=1))
    assert api.call("ResumeSession", pb.ResumeSessionRequest(session_id=1, request_id="r-1"))[0] == grpc.StatusCode.OK


def test_concurrent_calls_with_one_request_id_act_once_and_get_the_same_answer(api):
    async def both():
        request = pb.PauseSessionRequest(session_id=1, request_id="race")
        return await asyncio.gather(*(api.stub.PauseSession(request, timeout=30) for _ in range(4)), return_exceptions=True)

    replies = api.loop.run(both())
    assert all(isinstance(r, pb.PauseSessionResponse) for r in replies), replies
    assert len({r.SerializeToString() for r in replies}) == 1
    assert session_events(api, "paused") == 1


def test_a_secret_is_not_stored_in_a_testable_form(api):
    with api.db.session() as db:
        db.get(SessionRow, 1).egress_hosts = ["api.example.com"]
        db.commit()
    request = pb.SetSessionSecretRequest(session_id=1, name="KEY", host="api.example.com", value="hunter2", request_id="s-1")
    code, _, first = api.call("SetSessionSecret", request)
    assert code == grpc.StatusCode.OK
    with api.db.session() as db:
        stored = db.scalar(select(RequestIdRow.request_hash).where(RequestIdRow.request_id == "s-1"))
    assert stored is not None and stored != request_hash(request)  # an HMAC under the installation's key
    assert api.call("SetSessionSecret", request)[2] == first


def test_request_ids_are_pruned_after_a_day(api):
    api.call("PauseSession", pb.PauseSessionRequest(session_id=1, request_id="old"))
    pruned = Retention(api.db, events_days=0, execution_logs_days=0).prune(now=utcnow() + timedelta(hours=25))
    assert pruned.request_ids == 1
    with api.db.session() as db:
        assert db.scalar(select(RequestIdRow)) is None
        assert db.get(SessionRow, 1).status == "paused"
