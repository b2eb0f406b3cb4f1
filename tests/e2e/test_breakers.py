"""Per-session circuit breakers fire: past its hourly transaction limit a session's next
transaction is refused (never signed) and the session paused; past its loss limit the
session is paused at the end of the cycle that lost it. The chain, read back with web3,
shows exactly what the breakers let through. Bad breaker settings are refused at start.
The stack runs with its telemetry on, so the breakers are shown with it: Prometheus's
/metrics, scraped during a run, counts what happened (and names no session or wallet); a
transaction is one trace from the agent's SDK call through the signer to the chain, joined to
the signer's audit line by its request id; the orchestrator's log is JSON with the ids."""

from __future__ import annotations

import json
import urllib.request

import grpc
import pytest
from eth_account import Account
from prometheus_client.parser import text_string_to_metric_families

from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from tests.conftest import REPO_ROOT
from tests.helpers import executions, log_lines, wait_for, wait_until_idle
from tests.standins.otlp_collector import OtlpCollector

TIP = 10**15


@pytest.fixture(scope="module")
def collector():
    with OtlpCollector() as collector:
        yield collector


@pytest.fixture(scope="module")
def stack(tmp_path_factory, collector):
    telemetry = {"otlp_endpoint": collector.url, "log_format": "json"}
    with DevStack(tmp_path_factory.mktemp("breakers"), minute_seconds=1.0, metrics=True, telemetry=telemetry) as stack:
        yield stack


@pytest.fixture(scope="module")
def tipper(stack, agent_image) -> int:
    return stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(REPO_ROOT / "images" / "example-agent"))).agent.id


def tipping_session(stack: DevStack, agent_id: int, breakers: pb.SessionBreakers) -> tuple[str, str, pb.Session]:
    wallet, recipient = stack.create_wallet(), Account.create().address
    stack.fund(wallet, 10**18)
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent_id, wallet_address=wallet, settings={"recipient": recipient, "tip_wei": str(TIP)},
        allocation_amount=str(10**17), breakers=breakers)).session
    return wallet, recipient, session


def paused(stack: DevStack, session_id: int) -> pb.Session:
    session = wait_for(lambda: (s := stack.api.GetSession(pb.GetSessionRequest(session_id=session_id)).session).status
                       == pb.SESSION_STATUS_PAUSED and s, timeout=120, what="a breaker to pause the session")
    wait_until_idle(stack, session_id)
    return session


def confirmed(stack: DevStack, session_id: int) -> int:
    txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session_id)).transactions
    return sum(t.status == pb.TRANSACTION_STATUS_CONFIRMED for t in txs)


def test_the_hourly_transaction_limit_refuses_the_next_one_and_pauses(stack, tipper):
    wallet, recipient, session = tipping_session(stack, tipper, pb.SessionBreakers(max_transactions_per_hour=2))
    assert session.breakers.max_transactions_per_hour == 2
    stopped = paused(stack, session.id)
    assert stopped.status_reason == "breaker max_transactions_per_hour tripped: 2 transactions in the last hour, the limit is 2"
    assert confirmed(stack, session.id) == 2
    assert stack.web3.eth.get_transaction_count(wallet) == 2 and stack.web3.eth.get_balance(recipient) == 2 * TIP
    third = executions(stack, session.id)[2]
    assert any(line.startswith("tip failed: breaker max_transactions_per_hour tripped") for line in log_lines(third))

    # Resuming is the user's call; it clears the reason (and the limit still holds).
    resumed = stack.api.ResumeSession(pb.ResumeSessionRequest(session_id=session.id)).session
    assert resumed.status == pb.SESSION_STATUS_RUNNING and resumed.status_reason == ""
    assert paused(stack, session.id).status_reason.startswith("breaker max_transactions_per_hour tripped")
    assert stack.web3.eth.get_transaction_count(wallet) == 2


def test_the_loss_limit_pauses_at_the_end_of_the_cycle_that_crossed_it(stack, tipper):
    # Each run tips TIP plus gas: two runs stay under 2.5 tips, the third crosses it.
    breakers = pb.SessionBreakers(max_loss=str(5 * TIP // 2), max_loss_window_seconds=3600)
    wallet, recipient, session = tipping_session(stack, tipper, breakers)
    stopped = paused(stack, session.id)
    assert stopped.status_reason.startswith("breaker max_loss tripped: the session lost ")
    assert stopped.status_reason.endswith(f"of its starting asset in the last 3600 s, the limit is {5 * TIP // 2}")
    assert confirmed(stack, session.id) == 3 and len(executions(stack, session.id)) == 3
    assert stack.web3.eth.get_balance(recipient) == 3 * TIP


@pytest.mark.parametrize("breakers, fragment", [
    (pb.SessionBreakers(max_loss="lots"), "breakers.max_loss: Value error, 'lots' must be a positive integer string"),
    (pb.SessionBreakers(max_loss_percent="150"), "breakers.max_loss_percent: Input should be less than or equal to 100"),
    (pb.SessionBreakers(max_loss_percent="ten"), "breakers.max_loss_percent: Value error, 'ten' must be a percentage"),
])
def test_bad_breaker_settings_are_refused_and_start_nothing(stack, tipper, breakers, fragment):
    before = len(stack.api.ListSessions(pb.ListSessionsRequest()).sessions)
    with pytest.raises(grpc.RpcError) as refused:
        tipping_session(stack, tipper, breakers)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and fragment in refused.value.details(), refused.value.details()
    assert len(stack.api.ListSessions(pb.ListSessionsRequest()).sessions) == before


def scrape(stack: DevStack) -> tuple[str, dict[tuple[str, frozenset], float]]:
    """The /metrics text, and each sample's value by (name, labels)."""
    with urllib.request.urlopen(stack.metrics_url, timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain; version=")  # the Prometheus text format
        text = answer.read().decode()
    samples = {(sample.name, frozenset(sample.labels.items())): sample.value
               for family in text_string_to_metric_families(text) for sample in family.samples}
    return text, samples


def test_metrics_scraped_during_a_run_count_its_execution_transaction_breaker_trip_and_signer_decision(stack, tipper):
    _, before = scrape(stack)
    wallet, recipient, session = tipping_session(stack, tipper, pb.SessionBreakers(max_transactions_per_hour=1))
    paused(stack, session.id)
    text, after = scrape(stack)

    def moved(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    # Two runs: the first tipped (one transaction, confirmed), the second was refused by the breaker.
    def runs(samples: dict) -> float:  # whichever backend the stack runs
        return sum(value for (name, labels), value in samples.items() if name == "corral_executions_total"
                   and ("outcome", "succeeded") in labels and ("command", "run") in labels)

    assert runs(after) - runs(before) >= 2
    assert moved("corral_transactions_total", network="ethereum:31337", status="confirmed") == 1
    assert moved("corral_breaker_trips_total", breaker="max_transactions_per_hour") == 1
    assert moved("corral_sdk_calls_total", method="SignAndSend", code="OK") >= 1
    assert moved("corral_sdk_calls_total", method="CompleteExecution", code="OK") >= 2
    def signed(samples: dict) -> float:
        return sum(value for (name, labels), value in samples.items() if name == "corral_signer_decisions_total"
                   and ("action", "sign_evm_transaction") in labels and ("decision", "allow") in labels)

    assert signed(after) - signed(before) == 1  # the breaker's refusal never reached the signer
    assert after[("corral_signer_up", frozenset())] == 1
    for histogram in ("corral_execution_due_to_run_seconds_count", "corral_sandbox_start_seconds_count",
                      "corral_scheduler_dispatch_lag_seconds_count"):
        assert sum(v for (name, _), v in after.items() if name == histogram) > sum(v for (name, _), v in before.items() if name == histogram)
    assert stack.web3.eth.get_balance(recipient) == TIP  # what the counters say, on the chain
    # Nothing in the series tells users apart: no address anywhere, and only the platform's own kinds of label.
    assert wallet.lower() not in text.lower() and recipient.lower() not in text.lower()
    label_names = {name for (series, labels) in after if series.startswith("corral_") for name, _ in labels}
    assert label_names <= {"outcome", "command", "backend", "start", "use", "method", "code", "network", "status", "breaker",
                           "direction", "action", "decision", "rule", "le"}, label_names


def test_a_transaction_is_one_trace_from_the_sdk_call_through_the_signer_to_the_chain(stack, tipper, collector):
    _, recipient, session = tipping_session(stack, tipper, pb.SessionBreakers(max_transactions_per_hour=1))
    paused(stack, session.id)
    [tx] = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
    # The signer's own record of that signature names the request it answered.
    audit = [json.loads(line) for line in (stack.signer_home / "audit.jsonl").read_text().splitlines()]
    [signed] = [e for e in audit if e.get("transaction_hash") == tx.tx_hash]
    request_id = signed["request"]["context"]["request_id"]
    assert signed["decision"] == "allow" and request_id

    # The same request id tags the agent's SDK call, the root of one trace that holds the signer call and the chain call.
    sdk_call = wait_for(lambda: next((s for s in collector.received() if s.name == "/corral.v1.AgentRuntime/SignAndSend"
                                      and s.attributes.get("corral.request_id") == request_id), None), what="the SDK call's span")
    in_trace = wait_for(lambda: (spans := [s for s in collector.received() if s.trace_id == sdk_call.trace_id])
                        and any("eth_sendRawTransaction" in s.name for s in spans) and spans, what="the chain call's span")
    assert sdk_call.parent_span_id == "" and sdk_call.service == "corral-orchestrator"  # the sandbox starts the trace
    signer_calls = [s for s in in_trace if s.name.startswith("/corral.v1.SignerService/SignEvmTransaction")]
    assert signer_calls and all(s.parent_span_id for s in signer_calls)
    assert stack.web3.eth.get_transaction(tx.tx_hash)["to"].lower() == recipient.lower()

    # The orchestrator's log: JSON lines, those about this session's runs carrying its ids.
    lines = [json.loads(line) for line in stack.log_text("orchestrator").splitlines() if line.startswith("{")]
    ended = [line for line in lines if line.get("session_id") == session.id and line["message"].startswith("execution ")]
    assert ended and all(line["level"] == "info" and line["execution_id"] for line in ended)
