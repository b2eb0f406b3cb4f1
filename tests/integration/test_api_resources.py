"""The frontend API's reads as resources a console can rely on: every list pages with an opaque
token tied to its filters, no reply grows with what is stored (an agent that logs its maximum,
settings stored before they were bounded), filters select, and Get answers for one id. The
production server in process on SQLite (api_in_process), rows seeded directly."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import insert

from corral.v1 import orchestrator_pb2 as pb
from orchestrator.store import AgentRow, ExecutionLogRow, ExecutionRow, MemoryRow, SessionRow, SuggestionRow, TransactionRow, utcnow
from tests.integration.api_in_process import MANIFEST, NATIVE, NETWORK, WALLET, serving

OTHER_WALLET = "0x" + "33" * 20
LIST_FIELD = {"ListAgents": "agents", "ListSessions": "sessions", "ListExecutions": "executions", "ListTransactions": "transactions",
              "ListSuggestions": "suggestions", "ListSessionMemory": "entries", "ListSessionSecrets": "secrets"}


@pytest.fixture
def api(tmp_path):
    with serving(tmp_path) as served:
        yield served


def every_page(api, method: str, request) -> list:
    """Each reply, following next_page_token."""
    replies = []
    while True:
        code, details, reply = api.call(method, request)
        assert code == grpc.StatusCode.OK, details
        replies.append(reply)
        if not reply.next_page_token:
            return replies
        request.page_token = reply.next_page_token


def items(replies, method: str) -> list:
    return [item for reply in replies for item in getattr(reply, LIST_FIELD[method])]


def seed_executions(api, count: int, session_id: int = 1, log_lines: int = 0) -> list[int]:
    now = utcnow()
    with api.db.session() as s:
        first = (s.query(ExecutionRow).count() or 0) + 1
        ids = list(range(first, first + count))
        s.execute(insert(ExecutionRow), [{"id": i, "session_id": session_id, "command": "run", "status": "succeeded",
                                          "started_at": now, "finished_at": now, "traceback": "T" * 16_000} for i in ids])
        if log_lines:
            s.execute(insert(ExecutionLogRow), [{"execution_id": i, "level": "info", "message": f"{i}:{n}:" + "x" * 240, "logged_at": now}
                                                for i in ids for n in range(log_lines)])
        s.commit()
    return ids


def seed_session(api, session_id: int, status: str = "running", agent_id: int = 1, wallet: str = WALLET, settings=None) -> None:
    with api.db.session() as s:
        if s.get(AgentRow, agent_id) is None:
            s.add(AgentRow(id=agent_id, name=f"a{agent_id}", version="0.1.0", image="i", image_id=f"sha256:{agent_id}",
                           wallet_type="ethereum", manifest_toml=MANIFEST, registered_at=utcnow()))
            s.flush()
        s.add(SessionRow(id=session_id, agent_id=agent_id, wallet_address=wallet, status=status, execution_mode="auto",
                         settings=settings or {}, allocation_network=NETWORK, allocation_asset=NATIVE, allocation_amount="1000",
                         created_at=utcnow()))
        s.commit()


def refused(api, method: str, request) -> tuple[grpc.StatusCode, str]:
    code, details, _ = api.call(method, request)
    return code, details


def test_an_agent_logging_its_maximum_keeps_its_history_readable(api):
    """Before: 17 runs of 1,000 lines of 250 characters made ListExecutions' reply pass 4 MiB."""
    ids = seed_executions(api, 20, log_lines=1000)
    code, details, reply = api.call("ListExecutions", pb.ListExecutionsRequest(session_id=1))
    assert code == grpc.StatusCode.OK, details
    assert [e.id for e in reply.executions] == ids[::-1]
    assert all(not e.logs and not e.traceback and e.log_lines_not_shown == 1000 for e in reply.executions)

    full = items(every_page(api, "ListExecutions", pb.ListExecutionsRequest(session_id=1, view=pb.RESOURCE_VIEW_FULL)), "ListExecutions")
    assert [e.id for e in full] == ids[::-1]
    newest = full[0]
    assert [line.message.split(":")[1] for line in newest.logs] == [str(n) for n in range(900, 1000)]  # the last 100, oldest first
    assert newest.log_lines_not_shown == 900 and newest.traceback == "T" * 16_000

    code, details, got = api.call("GetExecution", pb.GetExecutionRequest(execution_id=ids[0]))
    assert code == grpc.StatusCode.OK, details
    assert got.execution.id == ids[0] and len(got.execution.logs) == 100 and got.execution.log_lines_not_shown == 900


def test_paging_executions_gives_each_once_newest_first(api):
    ids = seed_executions(api, 2345)
    replies = every_page(api, "ListExecutions", pb.ListExecutionsRequest(session_id=1, page_size=5000))
    assert [len(r.executions) for r in replies] == [1000, 1000, 345]  # above the maximum: the maximum
    assert [e.id for e in items(replies, "ListExecutions")] == ids[::-1]


def test_sessions_with_huge_stored_settings_stay_listable(api):
    """Before: two sessions with a 2.5 MB setting (stored before settings were bounded) made
    ListSessions fail for every client."""
    for session_id in (2, 3):
        seed_session(api, session_id, settings={"note": "n" * 2_500_000})
    code, details, reply = api.call("ListSessions", pb.ListSessionsRequest())
    assert code == grpc.StatusCode.OK, details
    assert [s.id for s in reply.sessions] == [3, 2, 1] and not any(s.settings for s in reply.sessions)
    full = items(every_page(api, "ListSessions", pb.ListSessionsRequest(view=pb.RESOURCE_VIEW_FULL)), "ListSessions")
    assert [len(s.settings.get("note", "")) for s in full] == [2_500_000, 2_500_000, 0]
    code, details, one = api.call("GetSession", pb.GetSessionRequest(session_id=2))
    assert code == grpc.StatusCode.OK and len(one.session.settings["note"]) == 2_500_000


def test_stopped_sessions_are_listed_only_when_asked_and_filters_select(api):
    seed_session(api, 2, status="stopped")
    seed_session(api, 3, status="paused", agent_id=2)
    seed_session(api, 4, status="running", wallet=OTHER_WALLET)

    def listed(**filters) -> list[int]:
        return [s.id for s in items(every_page(api, "ListSessions", pb.ListSessionsRequest(page_size=1, **filters)), "ListSessions")]

    assert listed() == [4, 3, 1]
    assert listed(statuses=[pb.SESSION_STATUS_STOPPED]) == [2]
    assert listed(statuses=[pb.SESSION_STATUS_STOPPED, pb.SESSION_STATUS_RUNNING]) == [4, 2, 1]
    assert listed(agent_id=2) == [3]
    assert listed(wallet_address=OTHER_WALLET) == [4]
    code, details = refused(api, "ListSessions", pb.ListSessionsRequest(statuses=[pb.SESSION_STATUS_UNSPECIFIED]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "statuses" in details


def test_a_page_token_is_tied_to_its_list_and_filters(api):
    seed_session(api, 2)
    first = api.call("ListSessions", pb.ListSessionsRequest(page_size=1))[2]
    assert first.next_page_token
    for method, request in [
        ("ListSessions", pb.ListSessionsRequest(page_size=1, wallet_address=OTHER_WALLET, page_token=first.next_page_token)),
        ("ListSessions", pb.ListSessionsRequest(page_size=1, statuses=[pb.SESSION_STATUS_STOPPED], page_token=first.next_page_token)),
        ("ListAgents", pb.ListAgentsRequest(page_token=first.next_page_token)),
        ("ListSessions", pb.ListSessionsRequest(page_token=first.next_page_token[:-2] + "AA")),
        ("ListSessions", pb.ListSessionsRequest(page_token="1")),
        ("ListExecutions", pb.ListExecutionsRequest(session_id=1, page_token="x" * 5000)),
        ("ListTransactions", pb.ListTransactionsRequest(session_id=1, page_size=-1)),
    ]:
        code, details = refused(api, method, request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (method, details)
        assert "page_token" in details or "page_size" in details
    # The same filters in another view continue the same list.
    code, details, second = api.call("ListSessions", pb.ListSessionsRequest(page_size=1, view=pb.RESOURCE_VIEW_FULL,
                                                                           page_token=first.next_page_token))
    assert code == grpc.StatusCode.OK and [s.id for s in second.sessions] == [1]


def _stamp(value) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def test_transactions_and_suggestions_filter_by_status_and_time(api):
    start = utcnow() - timedelta(hours=10)
    with api.db.session() as s:
        for n in range(10):
            s.add(TransactionRow(id=n + 1, session_id=1, request_id=f"r{n}", network=NETWORK, from_address=WALLET, to_address=WALLET,
                                 value="1", status="confirmed" if n % 2 else "rejected", created_at=start + timedelta(hours=n),
                                 updated_at=start))
            s.add(SuggestionRow(id=n + 1, session_id=1, kind="transaction", request=b"", status="executed" if n % 2 else "rejected",
                                created_at=start + timedelta(hours=n)))
        s.commit()
    transactions = items(every_page(api, "ListTransactions", pb.ListTransactionsRequest(session_id=1, page_size=3)), "ListTransactions")
    assert [t.id for t in transactions] == list(range(1, 11))  # oldest first, as before
    window = {"created_after": _stamp(start + timedelta(hours=4)), "created_before": _stamp(start + timedelta(hours=8))}
    confirmed = pb.ListTransactionsRequest(session_id=1, page_size=1, statuses=[pb.TRANSACTION_STATUS_CONFIRMED], **window)
    assert [t.id for t in items(every_page(api, "ListTransactions", confirmed), "ListTransactions")] == [6, 8]

    suggestions = pb.ListSuggestionsRequest(session_id=1)
    assert [s.id for s in items(every_page(api, "ListSuggestions", suggestions), "ListSuggestions")] == [10, 8, 6, 4, 2]
    rejected = pb.ListSuggestionsRequest(session_id=1, page_size=2, statuses=[pb.SUGGESTION_STATUS_REJECTED], **window)
    assert [s.id for s in items(every_page(api, "ListSuggestions", rejected), "ListSuggestions")] == [7, 5]

    assert api.call("GetTransaction", pb.GetTransactionRequest(transaction_id=4))[2].transaction.status == pb.TRANSACTION_STATUS_CONFIRMED
    assert api.call("GetSuggestion", pb.GetSuggestionRequest(suggestion_id=3))[2].suggestion.status == pb.SUGGESTION_STATUS_REJECTED


@pytest.mark.parametrize(("method", "request_"), [
    ("GetAgent", pb.GetAgentRequest(agent_id=404)), ("GetExecution", pb.GetExecutionRequest(execution_id=404)),
    ("GetTransaction", pb.GetTransactionRequest(transaction_id=404)), ("GetSuggestion", pb.GetSuggestionRequest(suggestion_id=404)),
])
def test_get_of_an_unknown_id_is_not_found_naming_it(api, method, request_):
    code, details = refused(api, method, request_)
    assert code == grpc.StatusCode.NOT_FOUND and "404" in details and "does not exist" in details


def test_memory_agents_and_secrets_page_in_their_order(api):
    with api.db.session() as s:
        s.execute(insert(MemoryRow), [{"namespace": "session:1", "key": f"k{n:04d}", "value": "v", "updated_at": utcnow()}
                                      for n in range(250)])
        s.commit()
    entries = items(every_page(api, "ListSessionMemory", pb.ListSessionMemoryRequest(session_id=1, page_size=100)), "ListSessionMemory")
    assert [e.key for e in entries] == [f"k{n:04d}" for n in range(250)]
    seed_session(api, 2, agent_id=2)
    agents = items(every_page(api, "ListAgents", pb.ListAgentsRequest(page_size=1)), "ListAgents")
    assert [a.id for a in agents] == [1, 2]
    assert api.call("GetAgent", pb.GetAgentRequest(agent_id=2))[2].agent.name == "a2"
    with api.db.session() as s:
        s.get(SessionRow, 1).egress_hosts = ["api.example.com"]
        s.commit()
    for name in ("B", "A", "C"):
        code, details, _ = api.call("SetSessionSecret", pb.SetSessionSecretRequest(session_id=1, name=name, host="api.example.com",
                                                                                  value="v"))
        assert code == grpc.StatusCode.OK, details
    secrets = items(every_page(api, "ListSessionSecrets", pb.ListSessionSecretsRequest(session_id=1, page_size=2)), "ListSessionSecrets")
    assert [s.name for s in secrets] == ["A", "B", "C"]
