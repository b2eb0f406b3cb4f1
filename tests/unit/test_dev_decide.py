"""`corral dev run --mode manual` deciding suggestions: what the author is shown and asked,
and which API calls each answer makes, against a stand-in for the orchestrator's API that
keeps suggestions as the platform does (only a pending one can be decided)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct

from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from corral_cli.dev_decide import Approve, decide_pending

SESSION = 7


class Refusal(grpc.RpcError):
    def __init__(self, details: str) -> None:
        self._details = details

    def code(self):
        return grpc.StatusCode.FAILED_PRECONDITION

    def details(self) -> str:
        return self._details


def struct(values: dict) -> Struct:
    s = Struct()
    s.update(values)
    return s


class FakeApi:
    """The five calls the decision loop makes, over an in-memory list of suggestions."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.suggestions = {
            1: pb.Suggestion(id=1, session_id=SESSION, execution_id=1, kind=pb.SUGGESTION_KIND_TRANSACTION, status=pb.SUGGESTION_STATUS_PENDING,
                             details=struct({"network": "ethereum:31337", "to": "0xdead", "value": "1000", "message": "tip\x1b[2Jthe dead",
                                             "simulation": {"succeeded": True, "gas": 21000}})),
            2: pb.Suggestion(id=2, session_id=SESSION, execution_id=1, kind=pb.SUGGESTION_KIND_MESSAGE, status=pb.SUGGESTION_STATUS_PENDING,
                             details=struct({"messageType": "eip191", "chainId": 31337, "message": "approve me"})),
        }
        self.transactions: list[pb.Transaction] = []

    def ListSuggestions(self, request):
        assert request.session_id == SESSION
        return pb.ListSuggestionsResponse(suggestions=sorted(self.suggestions.values(), key=lambda s: -s.id))

    def _decide(self, suggestion_id: int, status: int) -> pb.Suggestion:
        suggestion = self.suggestions[suggestion_id]
        if suggestion.status != pb.SUGGESTION_STATUS_PENDING:
            raise Refusal(f"suggestion {suggestion_id} is decided; only a pending suggestion can be decided")
        suggestion.status = status
        return suggestion

    def ApproveSuggestion(self, request):
        self.calls.append(("approve", request.suggestion_id))
        done = self._decide(request.suggestion_id, pb.SUGGESTION_STATUS_EXECUTED)
        if done.kind == pb.SUGGESTION_KIND_TRANSACTION:
            self.transactions.append(pb.Transaction(id=5, session_id=SESSION, tx_hash="0xabc", status=pb.TRANSACTION_STATUS_CONFIRMED, block_number=9))
            done.result.update({"transaction_id": 5, "tx_hash": "0xabc"})
        else:
            done.result.update({"formatted_signature": "0xsig"})
        return pb.ApproveSuggestionResponse(suggestion=done)

    def RejectSuggestion(self, request):
        self.calls.append(("reject", request.suggestion_id))
        return pb.RejectSuggestionResponse(suggestion=self._decide(request.suggestion_id, pb.SUGGESTION_STATUS_REJECTED))

    def ListTransactions(self, request):
        return pb.ListTransactionsResponse(transactions=self.transactions)

    def GetSession(self, request):
        held = common_pb2.Position(network="ethereum:31337", asset_address="0xeeee", current_qty="999")
        return pb.GetSessionResponse(session=pb.Session(id=SESSION, wallet_address="0xwallet", positions=[held]))

    def ListWallets(self, request):
        return pb.ListWalletsResponse(wallets=[pb.Wallet(address="0xother"), pb.Wallet(
            address="0xwallet", wallet_type="ethereum", balances=[pb.Balance(network="ethereum:31337", amount="123")])])


def typed(*answers: str):
    """An `ask` that types `answers` in turn, then Ctrl-D; records each prompt."""
    queue = list(answers)
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        if not queue:
            raise EOFError
        return queue.pop(0)

    ask.prompts = prompts  # type: ignore[attr-defined]
    return ask


def test_each_suggestion_is_shown_and_asked_oldest_first_with_the_outcome(capsys):
    api = FakeApi()
    left = decide_pending(api, SESSION, Approve.ASK, interactive=True, ask=typed("a", "reject"))
    out = capsys.readouterr().out
    assert left == 0 and api.calls == [("approve", 1), ("reject", 2)]
    assert "suggestion 1 (transaction, from execution 1): 1000 wei → 0xdead on ethereum:31337" in out
    assert "message: tip\\x1b[2Jthe dead" in out and "\x1b" not in out  # the agent's text cannot drive the terminal
    assert "preview: the simulation succeeds (gas 21000)" in out
    assert "executed: transaction 0xabc confirmed in block 9" in out
    assert "the session now holds 999 of 0xeeee on ethereum:31337" in out
    assert "the wallet 0xwallet holds 123 on ethereum:31337" in out
    assert "signs: approve me" in out and "    rejected" in out


def test_skip_leaves_it_pending_and_asks_again_until_quit(capsys):
    api = FakeApi()
    ask = typed("s", "r", "maybe", "q")
    left = decide_pending(api, SESSION, Approve.ASK, interactive=True, ask=ask)
    out = capsys.readouterr().out
    assert api.calls == [("reject", 2)] and left == 1
    assert len(ask.prompts) == 4  # 1 skipped, 2 rejected, 1 again: an unknown answer, then quit
    assert "type a (approve), r (reject), s (skip) or q (quit)" in out and "quit: 1 suggestion(s) left pending." in out


def test_end_of_input_quits_and_decides_nothing(capsys):
    api = FakeApi()
    assert decide_pending(api, SESSION, Approve.ASK, interactive=True, ask=typed()) == 2
    assert api.calls == []


def test_without_a_terminal_nothing_is_asked_and_it_says_how_to_decide(capsys):
    api = FakeApi()
    left = decide_pending(api, SESSION, Approve.ASK, interactive=False, ask=pytest.fail)
    out = capsys.readouterr().out
    assert left == 2 and api.calls == []
    assert "stdin is not a terminal" in out and "--approve all" in out and "suggestion 2 (message" in out


@pytest.mark.parametrize(("policy", "verb"), [(Approve.ALL, "approve"), (Approve.NONE, "reject")])
def test_approve_all_or_none_decides_every_one_without_asking(policy, verb, capsys):
    api = FakeApi()
    assert decide_pending(api, SESSION, policy, interactive=True, ask=pytest.fail) == 0
    assert api.calls == [(verb, 1), (verb, 2)]


def test_a_refused_decision_is_shown_and_not_retried(capsys):
    """Decided elsewhere meanwhile (or expired): the refusal is shown, and --approve all
    does not loop on it."""
    api = FakeApi()
    original = api.ApproveSuggestion

    def refuse_first(request):
        if request.suggestion_id == 1:
            api.calls.append(("approve", 1))
            raise Refusal("suggestion 1 is expired; only a pending suggestion can be approved")
        return original(request)

    api.ApproveSuggestion = refuse_first
    assert decide_pending(api, SESSION, Approve.ALL, interactive=False) == 1  # still pending here, not asked twice
    assert api.calls == [("approve", 1), ("approve", 2)]
    assert "not approved: suggestion 1 is expired" in capsys.readouterr().out


def test_nothing_pending_says_so(capsys):
    api = FakeApi()
    api.suggestions.clear()
    assert decide_pending(api, SESSION, Approve.ASK, interactive=True, ask=pytest.fail) == 0
    assert "no suggestion is pending" in capsys.readouterr().out
