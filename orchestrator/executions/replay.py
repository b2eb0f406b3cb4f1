"""Answering a replayed agent from a recording, and comparing what it did with what the
recorded execution did (`corral replay`).

A replay runs another version of the agent on what one execution saw (its recording,
`recording.py`): nothing reaches a database, a chain or the signer. Each SDK call the
replayed agent makes is answered here:

- a call the recorded execution also made, with the same request (the SDK's random
  `request_id` aside), gets the recorded answer: reads see what the execution saw, in order;
- an action (`ACTIONS`: transactions, messages to sign, swaps, venue orders, suggestions
  cleared, memory written) is captured, never carried out; when its request differs from
  the recording's it gets the answer the recorded execution got at that place (the same
  shape: a transaction hash, a suggestion id), or an empty answer past the recording;
- a read the recording does not hold is refused (FAILED_PRECONDITION, saying so), since an
  answer made up here would be a guess the agent cannot tell from a fact;
- memory the replayed agent wrote is read back as it wrote it;
- the execution's context says what the agent's clock reads as it starts: the time the
  recorded execution started (a backtest's run keeps its block's time).

The difference is between the two lists of actions, in order, each shown as its method and
request; a recording that reached its size bound is only compared up to where it ends.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from corral.limits import shortened
from corral.v1 import orchestrator_pb2, runtime_pb2

_SERVICE = runtime_pb2.DESCRIPTOR.services_by_name["AgentRuntime"]
REQUEST_TYPES: dict[str, type[Message]] = {m.name: GetMessageClass(m.input_type) for m in _SERVICE.methods}
RESPONSE_TYPES: dict[str, type[Message]] = {m.name: GetMessageClass(m.output_type) for m in _SERVICE.methods}

# What an agent does, as opposed to what it reads: compared between the recorded execution
# and the replay, and never carried out by a replay.
ACTIONS = frozenset({
    "SignAndSend", "SignMessage", "SwapExecute", "ClearSuggestions", "SetMemory", "DeleteMemory",
    "HyperliquidPlaceOrder", "HyperliquidCancelOrder", "HyperliquidTransfer", "PolymarketMarketOrder", "PolymarketRedeemPositions",
})
# The execution's output (kept by the replay, not answered from the recording).
OUTPUTS = frozenset({"AppendLogs", "CompleteExecution"})
# Fields a request carries that are new on every call whatever the agent does.
_PER_CALL_FIELDS = ("request_id",)
# How much of one action's request a difference line shows.
ACTION_LINE_MAX_CHARS = 2000
# How much of one long string value (calldata) a line shows: its two ends.
VALUE_SHOWN_CHARS = 160


def normalized(method: str, request: bytes) -> Message | None:
    """The request as a message, without the fields that differ on every call; None for
    bytes that are not the method's request (the platform refused such a call unread)."""
    try:
        message = REQUEST_TYPES[method].FromString(request)
    except (KeyError, DecodeError, RecursionError):
        return None
    _forget_per_call_fields(message)
    return message


def _forget_per_call_fields(message: Message) -> None:
    for name in _PER_CALL_FIELDS:
        if name in message.DESCRIPTOR.fields_by_name:
            message.ClearField(name)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Action:
    """One action: compared whole (`key`: the SHA-256 of the method and the request's
    deterministic bytes, so a replay keeps 32 bytes per action however large its requests),
    shown as a line (its method and request as sorted JSON, cut for the terminal)."""

    key: bytes
    line: str


def action(method: str, request: Message) -> Action:
    shown = json.dumps(_cut(MessageToDict(request, preserving_proto_field_name=True)), sort_keys=True, separators=(",", ":"))
    key = hashlib.sha256(method.encode() + b"\0" + request.SerializeToString(deterministic=True)).digest()
    return Action(key, shortened(f"{method} {shown}", ACTION_LINE_MAX_CHARS))


def _cut(value: Any) -> Any:
    """Long strings (calldata) cut in their middle, so a line shows every field's ends."""
    if isinstance(value, dict):
        return {key: _cut(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut(item) for item in value]
    if isinstance(value, str) and len(value) > VALUE_SHOWN_CHARS:
        half = VALUE_SHOWN_CHARS // 2
        return f"{value[:half]}…({len(value)} characters)…{value[-half:]}"
    return value


@dataclass(frozen=True)
class Answer:
    """What a replayed call gets: a response (code OK) or a refusal."""

    code: str
    response: bytes = b""
    details: str = ""


@dataclass
class _Recorded:
    method: str
    request: Message
    answer: Answer


@dataclass
class RecordedAnswers:
    """The recorded execution's calls, answering a replay of it; keeps what the replay did."""

    recording: orchestrator_pb2.ExecutionRecording
    # The replayed agent's actions, in order, and the reads the recording did not hold.
    actions: list[Action] = field(default_factory=list)
    missing_reads: list[str] = field(default_factory=list)
    _pending: dict[str, deque[_Recorded]] = field(default_factory=dict)
    _memory: dict[tuple[int, str], str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The recorded calls a replay can meet: not the outputs, not withheld ones (their
        # request is not known) and not ones whose bytes were no request (the platform
        # refused them unread, as it refuses such a call of the replayed agent).
        self._comparable: list[tuple[str, Message]] = []
        for call in self.recording.calls:
            if call.withheld or call.method in OUTPUTS or (request := normalized(call.method, call.request)) is None:
                continue
            self._comparable.append((call.method, request))
            response = self._clocked(call.response) if call.method == "GetExecutionContext" and call.code == "OK" else call.response
            self._pending.setdefault(call.method, deque()).append(_Recorded(call.method, request, Answer(call.code, response, call.details)))

    def _clocked(self, context: bytes) -> bytes:
        """The recorded context, its agent's clock set to when the recorded execution started."""
        try:
            message = runtime_pb2.GetExecutionContextResponse.FromString(context)
        except (DecodeError, RecursionError):
            return context  # replayed as recorded: the agent's SDK refuses it as it would have
        if not message.HasField("agent_clock") and self.recording.HasField("started_at"):
            message.agent_clock.CopyFrom(self.recording.started_at)
        return message.SerializeToString()

    def recorded_actions(self) -> list[Action]:
        return [action(method, request) for method, request in self._comparable if method in ACTIONS]

    def withheld(self) -> int:
        """Calls withheld from the caller (shared memory): not known, so not compared."""
        return sum(1 for call in self.recording.calls if call.withheld)

    def answer(self, method: str, request: Message) -> Answer:
        """The answer to one call of the replayed agent (its request already parsed)."""
        _forget_per_call_fields(request)
        if method in ACTIONS:
            self.actions.append(action(method, request))
            self._remember_memory_write(method, request)
        elif method == "GetMemory" and (remembered := self._remembered(request)) is not None:
            return remembered
        pending = self._pending.get(method, deque())
        for index, recorded in enumerate(pending):
            if recorded.request == request:
                del pending[index]
                return recorded.answer
        if method in ACTIONS:
            # Taken out of order: the recorded answer at this place, or an empty one past the end.
            return pending.popleft().answer if pending else Answer("OK", RESPONSE_TYPES[method]().SerializeToString())
        self.missing_reads.append(method)
        return Answer("FAILED_PRECONDITION", details=f"replay: the recorded execution made no {method} call with this request, "
                                                     "so there is no recorded answer to give")

    def _remember_memory_write(self, method: str, request: Message) -> None:
        if isinstance(request, runtime_pb2.SetMemoryRequest):
            self._memory[(request.scope, request.key)] = request.value
        elif isinstance(request, runtime_pb2.DeleteMemoryRequest):
            self._memory[(request.scope, request.key)] = None

    def _remembered(self, request: Message) -> Answer | None:
        assert isinstance(request, runtime_pb2.GetMemoryRequest)
        key = (request.scope, request.key)
        if key not in self._memory:
            return None
        value = self._memory[key]
        response = runtime_pb2.GetMemoryResponse(key=request.key)
        if value is not None:
            response.value = value
        return Answer("OK", response.SerializeToString())

    def difference(self, recorded: list[Action] | None = None) -> list[str]:
        """The actions that differ from the recorded ones (`recorded`, when the caller has them
        already), as `- recorded` / `+ replayed` lines; empty when the same. Past a recording's
        size bound the recorded actions are not known: only as many replayed actions are
        compared as the recording holds calls before its end. Quadratic at worst (thousands of
        actions each side): a caller on an event loop runs it in a thread."""
        recorded = self.recorded_actions() if recorded is None else recorded
        replayed = list(self.actions)
        if self.recording.calls_not_recorded:
            replayed = replayed[:len(recorded)]
        lines: list[str] = []
        matcher = difflib.SequenceMatcher(None, [a.key for a in recorded], [a.key for a in replayed], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":  # as a unified diff: what was recorded there, then what the replay did instead
                lines += [f"- {a.line}" for a in recorded[i1:i2]] + [f"+ {a.line}" for a in replayed[j1:j2]]
        return lines
