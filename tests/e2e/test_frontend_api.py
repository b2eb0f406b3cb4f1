"""The frontend's view: a Node gRPC client built from the .proto files alone (as a UI
developer would write it) drives a whole session and watches it through WatchEvents;
and the Python stubs stream the same events, resumably."""

from __future__ import annotations

import json
import shutil
import subprocess

import grpc
import pytest

from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import finished, start_session, wait_for

EXAMPLE_AGENT = REPO_ROOT / "images" / "example-agent"
FRONTEND_MODULES = REPO_ROOT / ".tools" / "frontend" / "node_modules"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with DevStack(tmp_path_factory.mktemp("frontend"), minute_seconds=1.0) as stack:
        yield stack


def test_a_node_frontend_drives_a_session_from_the_protos_alone(stack, agent_image):
    if shutil.which("node") is None or not (FRONTEND_MODULES / "@grpc" / "proto-loader").is_dir():
        pytest.fail("node and .tools/frontend are installed by scripts/setup")
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    done = subprocess.run(
        ["node", str(REPO_ROOT / "tests" / "frontend" / "drive_session.mjs"), stack.api_address, str(REPO_ROOT / "protos"),
         agent_image(EXAMPLE_AGENT), wallet],
        capture_output=True, text=True, timeout=300, env={"CORRAL_FRONTEND_MODULES": str(FRONTEND_MODULES), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    changes = [(e["kind"], e["change"]) for e in seen["events"]]
    for expected in [("EVENT_KIND_SESSION", "running"), ("EVENT_KIND_EXECUTION", "started"), ("EVENT_KIND_LOG", "appended"),
                     ("EVENT_KIND_TRANSACTION", "pending"), ("EVENT_KIND_TRANSACTION", "signed"),
                     ("EVENT_KIND_TRANSACTION", "confirmed"), ("EVENT_KIND_EXECUTION", "finished"),
                     ("EVENT_KIND_SESSION", "paused"), ("EVENT_KIND_SESSION", "stopped")]:
        assert expected in changes, (expected, changes)
    assert changes.index(("EVENT_KIND_EXECUTION", "started")) < changes.index(("EVENT_KIND_EXECUTION", "finished"))
    assert seen["ids_increasing"]
    assert seen["stopped_status"] == "SESSION_STATUS_STOPPED" and seen["executions"] >= 1
    assert seen["errors"] == {"unknown_agent": "NOT_FOUND", "pause_stopped": "FAILED_PRECONDITION"}
    # The transaction the frontend watched confirm is on chain.
    assert stack.web3.eth.get_transaction_receipt(seen["tx_hash"]).status == 1


def test_watch_events_replays_after_an_id_and_filters_by_session(stack, agent_image):
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    _, session = start_session(stack, agent_image(EXAMPLE_AGENT), wallet)
    wait_for(lambda: finished(stack, session.id), what="a run")
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))

    def collect(request, until) -> list[pb.Event]:
        events = []
        stream = stack.api.WatchEvents(request, timeout=60)
        for event in stream:
            events.append(event)
            if until(event):
                stream.cancel()
                break
        return events

    is_stop = lambda e: e.kind == pb.EVENT_KIND_SESSION and e.change == "stopped"  # noqa: E731
    replayed = collect(pb.WatchEventsRequest(session_id=session.id, after_event_id=0), is_stop)
    assert {e.session_id for e in replayed} == {session.id}
    assert replayed[0].kind == pb.EVENT_KIND_SESSION and replayed[0].change == "running"
    assert replayed[0].session.id == session.id
    logs = [e for e in replayed if e.kind == pb.EVENT_KIND_LOG]
    assert logs and all(e.log.execution_id > 0 and e.log.line.message for e in logs)
    # Resuming after an id gives exactly what followed it.
    middle = replayed[len(replayed) // 2].id
    resumed = collect(pb.WatchEventsRequest(session_id=session.id, after_event_id=middle), is_stop)
    assert [e.id for e in resumed] == [e.id for e in replayed if e.id > middle]
    with pytest.raises(grpc.RpcError) as unknown:
        next(iter(stack.api.WatchEvents(pb.WatchEventsRequest(session_id=999_999), timeout=10)))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_memory_can_be_inspected(stack, agent_image):
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    _, session = start_session(stack, agent_image(EXAMPLE_AGENT), wallet)
    wait_for(lambda: finished(stack, session.id), what="a run")
    entries = stack.api.ListSessionMemory(pb.ListSessionMemoryRequest(session_id=session.id)).entries
    assert entries and [e.key for e in entries] == sorted(e.key for e in entries)
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    assert stack.api.ListSessionMemory(pb.ListSessionMemoryRequest(session_id=session.id)).entries == []
