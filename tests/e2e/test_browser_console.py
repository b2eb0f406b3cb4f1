"""A console in a real browser: Debian's Chromium, driven by Playwright, loads a page whose
connect-web client (TypeScript generated from the protos) calls the orchestrator's browser port
with the API token, over Connect and over gRPC-Web, and gets what native gRPC gets; the same page
from an origin the operator did not allow is refused by the browser itself (CORS)."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from sqlalchemy import func, insert, select

from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack, free_port
from orchestrator.store import AgentRow, Database, ExecutionRow, SessionRow, utcnow
from tests.conftest import REPO_ROOT
from tests.e2e.browser_page import build_page, chromium
from tests.helpers import finished, start_session, wait_for

EXAMPLE_AGENT = REPO_ROOT / "images" / "example-agent"
TOKEN = "s3cret-console-token-0123456789"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve_page(directory: Path, port: int) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def console_port() -> int:
    """The port the console page is served from: its origin is the one the orchestrator allows."""
    return free_port()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, console_port):
    with DevStack(tmp_path_factory.mktemp("browser"), minute_seconds=1.0, api_token=TOKEN,
                  browser_origins=[f"http://127.0.0.1:{console_port}"]) as stack:
        yield stack


@pytest.fixture(scope="module")
def pages(console_port):
    """The console page from the allowed origin, and the same page from another one."""
    directory = build_page()
    allowed, other = serve_page(directory, console_port), serve_page(directory, free_port())
    yield f"http://127.0.0.1:{console_port}/index.html", f"http://127.0.0.1:{other.server_address[1]}/index.html"
    for server in (allowed, other):
        server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def run_console(browser, url: str, stack: DevStack, transport: str, session_id: int) -> tuple[dict, list[str]]:
    """What the page's console returned, and what the browser logged meanwhile."""
    page = browser.new_page()
    logged: list[str] = []
    page.on("console", lambda message: logged.append(message.text))
    try:
        page.goto(url)
        page.wait_for_function("() => document.title === 'corral console ready'", timeout=30_000)
        result = page.evaluate("params => window.corralConsole(params)", {
            "baseUrl": f"http://{stack.browser_address}", "token": TOKEN, "transport": transport,
            "sessionId": str(session_id), "untilChange": "stopped",
        })
    finally:
        page.close()
    return result, logged


@pytest.fixture(scope="module")
def stopped_session(stack, agent_image):
    """A session that ran once and was stopped, so that its list entry and events stay put."""
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    _, session = start_session(stack, agent_image(EXAMPLE_AGENT), wallet)
    wait_for(lambda: finished(stack, session.id), what="a run")
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    return session.id


def native_events(stack: DevStack, session_id: int) -> list[dict]:
    events = []
    stream = stack.api.WatchEvents(pb.WatchEventsRequest(session_id=session_id, after_event_id=0), timeout=60)
    for event in stream:
        events.append(MessageToDict(event))
        if event.change == "stopped":
            stream.cancel()
            break
    return events


@pytest.mark.parametrize("transport", ["connect", "grpc-web"])
def test_a_browser_console_lists_sessions_and_watches_events_as_native_grpc_does(stack, pages, browser, stopped_session, transport):
    result, logged = run_console(browser, pages[0], stack, transport, stopped_session)
    assert "error" not in result, (result, logged)
    assert result["sessions"] == MessageToDict(stack.api.ListSessions(pb.ListSessionsRequest(statuses=[pb.SESSION_STATUS_STOPPED])))
    # Other tests on the shared platform may have stopped sessions of their own.
    assert str(stopped_session) in [s["id"] for s in result["sessions"]["sessions"]]
    events = native_events(stack, stopped_session)
    assert result["events"] == events
    changes = [(e["kind"], e["change"]) for e in events]
    assert changes[0] == ("EVENT_KIND_SESSION", "running") and ("EVENT_KIND_EXECUTION", "finished") in changes


def test_the_same_page_from_another_origin_is_refused_by_the_browser(stack, pages, browser, stopped_session):
    result, logged = run_console(browser, pages[1], stack, "connect", stopped_session)
    assert "sessions" not in result and result["error"]["code"] != 0, result
    assert any("CORS policy" in line for line in logged), logged


def seed_executions(stack: DevStack, count: int) -> tuple[int, list[int]]:
    """A stopped session (of an agent of its own) with `count` finished executions, written
    straight into the orchestrator's database; (its id, the executions' ids oldest first)."""
    db = Database(f"sqlite:///{stack.database_path}")
    now = utcnow()
    try:
        with db.session() as s:
            agent = AgentRow(name="paged", version="0.1.0", image="paged:1", image_id="sha256:paged", wallet_type="ethereum",
                             manifest_toml="", registered_at=now)
            s.add(agent)
            s.flush()
            session = SessionRow(agent_id=agent.id, wallet_address="0x" + "44" * 20, status="stopped", execution_mode="auto",
                                 allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0",
                                 created_at=now, stopped_at=now)
            s.add(session)
            s.flush()
            first = (s.scalar(select(func.max(ExecutionRow.id))) or 0) + 1
            ids = list(range(first, first + count))
            s.execute(insert(ExecutionRow), [{"id": i, "session_id": session.id, "command": "run", "status": "succeeded",
                                              "started_at": now, "finished_at": now} for i in ids])
            s.commit()
            return session.id, ids
    finally:
        db.engine.dispose()


def test_a_browser_pages_through_ten_thousand_executions(stack, pages, browser):
    """The issue's paging check: a connect-web client follows next_page_token through 10,000
    executions at the largest page (1,000) and sees every id exactly once, newest first."""
    session_id, ids = seed_executions(stack, 10_000)
    page = browser.new_page()
    try:
        page.goto(pages[0])
        page.wait_for_function("() => document.title === 'corral console ready'", timeout=30_000)
        result = page.evaluate("params => window.allExecutions(params)", {
            "baseUrl": f"http://{stack.browser_address}", "token": TOKEN, "sessionId": str(session_id), "pageSize": 1000,
        })
    finally:
        page.close()
    assert "error" not in result, result
    assert result["pages"] == 10
    assert [int(i) for i in result["ids"]] == ids[::-1]
