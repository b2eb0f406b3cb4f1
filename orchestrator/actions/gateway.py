"""One gateway for everything an agent asks for that moves value or signs: transactions,
swaps, messages and venue actions, in auto and in manual mode.

Each kind is one `Action` that checks, previews and runs a request. `ActionGateway.submit`
runs it (auto mode) or stores its preview as a suggestion (manual mode; the request is
checked exactly as running it would check it, so a bad one is refused and nothing is
stored); approving the suggestion later runs the very same `Action`. Manual mode therefore
stores what auto mode would run, and no handler repeats the fork.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from corral.v1 import runtime_pb2
from orchestrator.actions import messages
from orchestrator.actions.signer_client import SignerClient
from orchestrator.actions.suggestions import Suggestions
from orchestrator.actions.swaps.service import Swaps
from orchestrator.actions.transactions import TransactionSender
from orchestrator.actions.transactions.intents import check_agent_request_id, suggestion_request_id
from orchestrator.actions.venues.service import ACTIONS as VENUE_REQUESTS
from orchestrator.actions.venues.service import Venues
from orchestrator.errors import Refused, invalid
from orchestrator.store import Database, SessionRow, SuggestionRow
from orchestrator.store.statuses import ActionKind, ExecutionMode


@dataclass(frozen=True)
class Suggested:
    """Manual mode's answer: the request was stored for a person to approve."""

    suggestion: SuggestionRow


class Action(ABC):
    """One kind of request: how it is checked and shown (`preview`), and run (`run`)."""

    request_type: type[Message]

    @abstractmethod
    async def preview(self, session: SessionRow, request: Any) -> dict[str, Any]:
        """Checks the request as `run` would and says what a person approving it is shown."""

    @abstractmethod
    async def run(self, session: SessionRow, execution_id: int | None, request: Any, approved: int | None) -> Any:
        """Runs the request; `approved` is the suggestion's id when a person approved it."""

    def recorded(self, result: Any) -> dict[str, Any]:
        """What an approved suggestion keeps of the result."""
        return result

    def expires_at(self, request: Any) -> datetime | None:
        field = request.DESCRIPTOR.fields_by_name.get("expires_at")
        return _expiry(request.expires_at) if field is not None and request.HasField("expires_at") else None


class TransactionAction(Action):
    request_type = runtime_pb2.SignAndSendRequest

    def __init__(self, sender: TransactionSender) -> None:
        self.sender = sender

    async def preview(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest) -> dict[str, Any]:
        check_agent_request_id(request.request_id)
        details = await self.sender.preview(session, request)
        if request.HasField("message"):
            details["message"] = request.message
        return details

    async def run(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.SignAndSendRequest, approved: int | None) -> Any:
        if approved is None:
            check_agent_request_id(request.request_id)
        else:
            # A request id of its own: approving can never send it twice.
            request.request_id = suggestion_request_id(approved)
        return await self.sender.sign_and_send(session, execution_id, request)

    def recorded(self, tx: Any) -> dict[str, Any]:
        return {"transaction_id": tx.id, "tx_hash": tx.tx_hash}


class SwapAction(Action):
    request_type = runtime_pb2.SwapExecuteRequest

    def __init__(self, swaps: Swaps | None) -> None:
        self.swaps = swaps

    def require(self) -> Swaps:
        if self.swaps is None:
            raise Refused(grpc.StatusCode.UNIMPLEMENTED, "NO_COMPATIBLE_ENGINES: swaps are not configured on this platform")
        return self.swaps

    async def preview(self, session: SessionRow, request: runtime_pb2.SwapExecuteRequest) -> dict[str, Any]:
        quote = MessageToDict(request.quote)
        self.require().stored_quote(session, quote)  # refused exactly as executing it would be
        send, receive = quote.get("assetSend") or {}, quote.get("assetReceive") or {}
        return {"network": send.get("network"), "send": send, "receive": receive, "engine": quote.get("engine"),
                "steps": [step.get("description") for step in quote.get("steps") or []]}

    async def run(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.SwapExecuteRequest, approved: int | None) -> Any:
        quote = MessageToDict(request.quote)
        if approved is None:
            return await self.require().execute(session, execution_id, quote)
        # Approved maybe long after it was quoted: re-quoted if stale, and a failure fails the suggestion.
        result = await self.require().execute_approved(session, execution_id, quote)
        if result["status"] != "success":
            raise Refused(grpc.StatusCode.FAILED_PRECONDITION, result.get("error", "the swap failed"))
        return result


class MessageAction(Action):
    request_type = runtime_pb2.SignMessageRequest

    def __init__(self, signer: SignerClient) -> None:
        self.signer = signer

    async def preview(self, session: SessionRow, request: runtime_pb2.SignMessageRequest) -> dict[str, Any]:
        messages.validate(session, request)
        return messages.describe(request)

    async def run(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.SignMessageRequest, approved: int | None) -> Any:
        return await messages.sign(self.signer, session, execution_id, request)

    def recorded(self, signed: Any) -> dict[str, Any]:
        return {"v": signed.v, "r": signed.r, "s": signed.s, "formatted_signature": signed.formatted_signature}


class VenueAction(Action):
    """An order, cancel, transfer or redemption on a venue; the result is Circuit's `data`."""

    def __init__(self, venues: Venues, kind: ActionKind) -> None:
        self.venues, self.kind = venues, kind
        self.request_type = VENUE_REQUESTS[kind]

    async def preview(self, session: SessionRow, request: Message) -> dict[str, Any]:
        return await self.venues.details(session, self.kind, request)

    async def run(self, session: SessionRow, execution_id: int | None, request: Message, approved: int | None) -> Any:
        return await self.venues.run(session, execution_id, self.kind, request)

    def recorded(self, data: Any) -> dict[str, Any]:
        return {"data": data}


class ActionGateway:
    def __init__(self, db: Database, sender: TransactionSender, signer: SignerClient, swaps: Swaps | None = None,
                 venues: Venues | None = None) -> None:
        self.venues = venues or Venues()
        self._sender = sender
        self._swap = SwapAction(swaps)
        self._actions: dict[ActionKind, Action] = {
            ActionKind.TRANSACTION: TransactionAction(sender),
            ActionKind.SWAP: self._swap,
            ActionKind.MESSAGE: MessageAction(signer),
            **{kind: VenueAction(self.venues, kind) for kind in ActionKind if kind.is_venue},
        }
        self.suggestions = Suggestions(db, self)

    @property
    def swaps(self) -> Swaps:
        """Quotes (which move nothing) go straight to the swap engines."""
        return self._swap.require()

    def transaction_url(self, session: SessionRow, network: str, tx_hash: str) -> str | None:
        return self._sender.transaction_url(session, network, tx_hash)

    async def submit(self, session: SessionRow, execution_id: int, kind: ActionKind, request: Message) -> Any:
        """Auto mode: runs the request and returns its result. Manual mode: checks it as running
        it would, stores it with its preview and returns `Suggested`."""
        action = self._actions[kind]
        if session.execution_mode == ExecutionMode.MANUAL:
            expires_at = action.expires_at(request)
            details = await action.preview(session, request)
            return Suggested(self.suggestions.store(session, execution_id, kind, request.SerializeToString(), details, expires_at))
        return await action.run(session, execution_id, request, approved=None)

    async def run_approved(self, session: SessionRow, suggestion: SuggestionRow) -> dict[str, Any]:
        """A person approved `suggestion`: its stored request runs through the same action."""
        action = self._actions[ActionKind(suggestion.kind)]
        request = action.request_type.FromString(suggestion.request)
        return action.recorded(await action.run(session, suggestion.execution_id, request, approved=suggestion.id))


def _expiry(text: str) -> datetime:
    """ISO-8601 (a trailing Z or an offset is honoured; no offset means UTC) -> naive UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(f"expires_at {text!r} is not an ISO-8601 time, e.g. 2026-11-22T15:00:00Z") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
