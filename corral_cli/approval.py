"""Approving a suggestion and waiting for what it did: ApproveSuggestion returns at once with
the suggestion `approving`, and its outcome (executed or failed) is read back here."""

from __future__ import annotations

import time

from corral.v1 import orchestrator_pb2 as pb

# A transaction's confirmation may take two minutes (the orchestrator's own bound), then some.
OUTCOME_TIMEOUT_SECONDS = 180.0
POLL_SECONDS = 0.5


def approve_and_wait(api, suggestion_id: int, metadata=None, timeout: float = OUTCOME_TIMEOUT_SECONDS) -> pb.Suggestion:
    """The suggestion once it executed or failed; still `approving` when `timeout` passed first.
    A refusal (no longer pending, session stopped) is raised as the grpc.RpcError."""
    options = {"metadata": metadata} if metadata is not None else {}
    suggestion = api.ApproveSuggestion(pb.ApproveSuggestionRequest(suggestion_id=suggestion_id), **options).suggestion
    deadline = time.monotonic() + timeout
    while suggestion.status == pb.SUGGESTION_STATUS_APPROVING and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        listed = api.ListSuggestions(pb.ListSuggestionsRequest(session_id=suggestion.session_id, include_discarded=True), **options)
        suggestion = next((s for s in listed.suggestions if s.id == suggestion_id), suggestion)
    return suggestion
