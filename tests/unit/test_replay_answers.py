"""How a replay answers the replayed agent from a recording and what it counts as a
difference (orchestrator/executions/replay.py), without a sandbox: reads get the recorded
answers, actions are captured and compared, the SDK's random request ids do not count, memory
the replay wrote reads back as written, and a read the recording lacks is refused, never made up."""

from __future__ import annotations

from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import runtime_pb2
from orchestrator.executions.replay import RecordedAnswers


def call(method: str, request, response=None, code: str = "OK", details: str = "", withheld: bool = False) -> pb.RecordedCall:
    return pb.RecordedCall(method=method, request=request.SerializeToString(), response=response.SerializeToString() if response else b"",
                           code=code, details=details, withheld=withheld)


def send(value: str, request_id: str = "a") -> runtime_pb2.SignAndSendRequest:
    request = runtime_pb2.SignAndSendRequest(request_id=request_id, network="ethereum:31337")
    request.evm.to_address, request.evm.value = "0x" + "11" * 20, value
    return request


RUNS = runtime_pb2.GetMemoryRequest(key="runs")


def recording(*calls: pb.RecordedCall, not_recorded: int = 0) -> pb.ExecutionRecording:
    return pb.ExecutionRecording(execution_id=7, calls=list(calls), calls_not_recorded=not_recorded)


def test_the_same_calls_get_the_recorded_answers_and_make_no_difference():
    answers = RecordedAnswers(recording(
        call("GetMemory", RUNS, runtime_pb2.GetMemoryResponse(key="runs", value="4")),
        call("SignAndSend", send("7", "uuid-1"), runtime_pb2.SignAndSendResponse(tx_hash="0xabc"))))
    assert runtime_pb2.GetMemoryResponse.FromString(answers.answer("GetMemory", runtime_pb2.GetMemoryRequest(key="runs")).response).value == "4"
    sent = answers.answer("SignAndSend", send("7", "uuid-2"))  # another random request id: the same action
    assert runtime_pb2.SignAndSendResponse.FromString(sent.response).tx_hash == "0xabc"
    assert answers.difference() == []


def test_a_changed_action_gets_the_answer_at_its_place_and_is_the_difference():
    answers = RecordedAnswers(recording(call("SignAndSend", send("7"), runtime_pb2.SignAndSendResponse(tx_hash="0xabc"))))
    assert runtime_pb2.SignAndSendResponse.FromString(answers.answer("SignAndSend", send("14")).response).tx_hash == "0xabc"
    extra = answers.answer("SignAndSend", send("1"))  # past what the recording holds: an empty answer, still captured
    assert extra.code == "OK" and runtime_pb2.SignAndSendResponse.FromString(extra.response).tx_hash == ""
    difference = answers.difference()
    assert [line[:14] for line in difference] == ["- SignAndSend ", "+ SignAndSend ", "+ SignAndSend "]
    assert '"value":"7"' in difference[0] and '"value":"14"' in difference[1] and '"value":"1"' in difference[2]


def test_a_read_the_recording_lacks_is_refused_and_counted():
    answers = RecordedAnswers(recording(call("GetMemory", RUNS, runtime_pb2.GetMemoryResponse(key="runs", value="4"))))
    refused = answers.answer("GetMemory", runtime_pb2.GetMemoryRequest(key="other"))
    assert refused.code == "FAILED_PRECONDITION" and "made no GetMemory call with this request" in refused.details
    assert answers.missing_reads == ["GetMemory"]


def test_a_withheld_call_answers_nothing():
    """Shared memory withheld from the caller: its request is not known, so it matches nothing."""
    shared = runtime_pb2.GetMemoryRequest(key="runs", scope=runtime_pb2.MEMORY_SCOPE_SHARED)
    answers = RecordedAnswers(recording(pb.RecordedCall(method="GetMemory", withheld=True)))
    assert answers.answer("GetMemory", shared).code == "FAILED_PRECONDITION"


def test_memory_the_replay_wrote_reads_back_as_written():
    answers = RecordedAnswers(recording(
        call("SetMemory", runtime_pb2.SetMemoryRequest(key="runs", value="5"), runtime_pb2.SetMemoryResponse(key="runs")),
        call("GetMemory", RUNS, runtime_pb2.GetMemoryResponse(key="runs", value="5"))))
    answers.answer("SetMemory", runtime_pb2.SetMemoryRequest(key="runs", value="50"))
    assert runtime_pb2.GetMemoryResponse.FromString(answers.answer("GetMemory", RUNS).response).value == "50"
    answers.answer("DeleteMemory", runtime_pb2.DeleteMemoryRequest(key="runs"))
    assert not runtime_pb2.GetMemoryResponse.FromString(answers.answer("GetMemory", RUNS).response).HasField("value")
    assert [line.split()[0] for line in answers.difference()] == ["-", "+", "+"]  # value 5 → 50, and the delete


def test_a_recorded_refusal_is_replayed_as_one():
    answers = RecordedAnswers(recording(call("SignAndSend", send("7"), code="PERMISSION_DENIED", details="policy: value over the cap")))
    refused = answers.answer("SignAndSend", send("7"))
    assert (refused.code, refused.details) == ("PERMISSION_DENIED", "policy: value over the cap")
    assert answers.difference() == []


def test_past_a_recording_s_size_bound_only_its_prefix_is_compared():
    answers = RecordedAnswers(recording(call("SignAndSend", send("7")), not_recorded=3))
    answers.answer("SignAndSend", send("7"))
    answers.answer("SignAndSend", send("8"))  # a call the recording did not keep: not known to differ
    assert answers.difference() == []


def test_a_recorded_call_whose_bytes_were_no_request_is_left_out():
    """The platform refused it unread (INVALID_ARGUMENT): nothing to compare or answer with."""
    answers = RecordedAnswers(recording(pb.RecordedCall(method="SignAndSend", request=b"\xff\xff", code="INVALID_ARGUMENT"),
                                        call("SignAndSend", send("7"))))
    answers.answer("SignAndSend", send("7"))
    assert answers.recorded_actions() == [answers.actions[0]] and answers.difference() == []


def test_a_difference_past_what_a_line_shows_is_still_one():
    """Long calldata first in the JSON: a different value at its end differs all the same."""
    long = "0x" + "ab" * 3000

    def big(value: str) -> runtime_pb2.SignAndSendRequest:
        request = send(value)
        request.evm.data = long
        return request

    answers = RecordedAnswers(recording(call("SignAndSend", big("7"))))
    answers.answer("SignAndSend", big("8"))
    removed, added = answers.difference()
    assert removed.startswith("- ") and added.startswith("+ ") and '"value":"7"' in removed and '"value":"8"' in added
    assert "(6002 characters)" in removed


def test_a_replay_keeps_a_digest_of_each_action_not_its_bytes_and_a_stored_shadow_run_keeps_a_bounded_difference():
    """An agent sending thousands of megabyte-sized actions cannot grow the orchestrator by
    their bytes: each is kept as 32 bytes and a line of bounded length; a shadow run stores
    at most DIFFERENCE_LINES_KEPT lines and says how many more there were."""
    from orchestrator.executions.replay import ACTION_LINE_MAX_CHARS
    from orchestrator.executions.shadows import DIFFERENCE_LINE_MAX_CHARS, DIFFERENCE_LINES_KEPT, kept_difference

    answers = RecordedAnswers(recording())
    huge = send("1")
    huge.evm.data = "0x" + "ab" * 400_000
    for value in range(300):
        huge.evm.value = str(value)
        answers.answer("SignAndSend", huge)
    assert {len(kept.key) for kept in answers.actions} == {32}
    assert max(len(kept.line) for kept in answers.actions) <= ACTION_LINE_MAX_CHARS
    lines = answers.difference()
    assert len(lines) == 300
    kept = kept_difference(lines)
    assert len(kept) == DIFFERENCE_LINES_KEPT + 1 and kept[-1].startswith("… 200 more lines")
    assert max(len(line) for line in kept) <= DIFFERENCE_LINE_MAX_CHARS
    assert kept_difference(lines[:3]) == lines[:3]


def test_the_replayed_context_sets_the_agents_clock_to_when_the_recorded_execution_ran():
    from orchestrator.executions.replay import REQUEST_TYPES

    context = runtime_pb2.GetExecutionContextResponse(session_id=4)
    recorded = recording(call("GetExecutionContext", runtime_pb2.GetExecutionContextRequest(), context))
    recorded.started_at.FromJsonString("2021-06-01T12:00:00Z")
    answer = RecordedAnswers(recorded).answer("GetExecutionContext", REQUEST_TYPES["GetExecutionContext"]())
    replayed = runtime_pb2.GetExecutionContextResponse.FromString(answer.response)
    assert replayed.session_id == 4 and replayed.agent_clock.ToJsonString() == "2021-06-01T12:00:00Z"
    # A backtest's run keeps its block's time.
    context.agent_clock.FromJsonString("2019-01-01T00:00:00Z")
    recorded = recording(call("GetExecutionContext", runtime_pb2.GetExecutionContextRequest(), context))
    recorded.started_at.FromJsonString("2021-06-01T12:00:00Z")
    answer = RecordedAnswers(recorded).answer("GetExecutionContext", REQUEST_TYPES["GetExecutionContext"]())
    assert runtime_pb2.GetExecutionContextResponse.FromString(answer.response).agent_clock.ToJsonString() == "2019-01-01T00:00:00Z"
