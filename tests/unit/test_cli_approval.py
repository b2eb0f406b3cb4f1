"""The CLI waits for an approval's outcome: ApproveSuggestion answers `approving`, and the
outcome is read back from ListSuggestions until it executed or failed, or the wait ends."""

from __future__ import annotations

from corral.v1 import orchestrator_pb2 as pb
from corral_cli import approval


class SlowApi:
    """Approving answers at once; the suggestion executes on the third look."""

    def __init__(self) -> None:
        self.looks = 0

    def ApproveSuggestion(self, request, metadata=None):
        return pb.ApproveSuggestionResponse(suggestion=pb.Suggestion(id=request.suggestion_id, session_id=3, status=pb.SUGGESTION_STATUS_APPROVING))

    def ListSuggestions(self, request, metadata=None):
        assert request.session_id == 3 and request.include_discarded
        self.looks += 1
        status = pb.SUGGESTION_STATUS_EXECUTED if self.looks >= 3 else pb.SUGGESTION_STATUS_APPROVING
        return pb.ListSuggestionsResponse(suggestions=[pb.Suggestion(id=8, session_id=3, status=pb.SUGGESTION_STATUS_APPROVING),
                                                       pb.Suggestion(id=7, session_id=3, status=status)])


def test_approve_waits_for_the_outcome(monkeypatch):
    monkeypatch.setattr(approval, "POLL_SECONDS", 0)
    api = SlowApi()
    assert approval.approve_and_wait(api, 7).status == pb.SUGGESTION_STATUS_EXECUTED
    assert api.looks == 3


def test_a_wait_that_runs_out_returns_it_still_approving(monkeypatch):
    monkeypatch.setattr(approval, "POLL_SECONDS", 0)
    assert approval.approve_and_wait(SlowApi(), 8, timeout=0.05).status == pb.SUGGESTION_STATUS_APPROVING
