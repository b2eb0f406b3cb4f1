"""`corral recording EXECUTION_ID`: a line per recorded call (withheld ones marked), the calls
past the bound counted, and `--out` writing the recording a replay reads, byte for byte."""

from __future__ import annotations

from corral.v1 import orchestrator_pb2 as pb
from corral_cli import recording as recording_cli

RECORDING = pb.ExecutionRecording(execution_id=12, calls_not_recorded=3, calls=[
    pb.RecordedCall(method="GetExecutionContext", at_ms=0, response=b"x" * 40, code="OK"),
    pb.RecordedCall(method="GetMemory", at_ms=5, code="OK", withheld=True),
    pb.RecordedCall(method="SignAndSend", at_ms=9, request=b"r" * 7, code="FAILED_PRECONDITION", details="the \x1b[2Jplatform is halted"),
])


class Api:
    def GetExecutionRecording(self, request, metadata):
        assert request.execution_id == 12
        return pb.GetExecutionRecordingResponse(recording=RECORDING)


def test_each_call_is_a_line_and_the_rest_is_counted(capsys):
    assert recording_cli.run(Api(), (), type("Args", (), {"execution_id": 12, "out": None})()) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ms", "method", "outcome", "request", "bytes", "answer", "bytes", "details"]
    assert out[2].split() == ["0", "GetExecutionContext", "OK", "0", "40"]
    assert out[3].split() == ["5", "GetMemory", "OK", "(withheld)", "0", "0"]
    assert out[4].split()[:5] == ["9", "SignAndSend", "FAILED_PRECONDITION", "7", "0"]
    assert "\x1b" not in out[4] and "\\x1b[2Jplatform is halted" in out[4]  # agent-influenced text is escaped
    assert out[5] == "3 later call(s) not recorded: the recording reached its size bound"


def test_out_writes_the_whole_recording(tmp_path, capsys):
    target = tmp_path / "execution-12.binpb"
    assert recording_cli.run(Api(), (), type("Args", (), {"execution_id": 12, "out": target})()) == 0
    assert pb.ExecutionRecording.FromString(target.read_bytes()) == RECORDING
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote the recording of execution 12 (3 calls) to {target}"


def test_a_replay_says_how_its_http_requests_were_met_and_what_the_recording_lacks():
    from corral_cli.replay import network_lines

    recording = pb.ExecutionRecording(execution_id=12, exchanges_not_recorded=1, egress_connections=[
        pb.EgressConnection(method="CONNECT", host="api.example.com", port=443, bytes_in=2000, outcome=pb.EGRESS_OUTCOME_ALLOWED),
        pb.EgressConnection(method="CONNECT", host="api.example.com", port=443, bytes_in=500, outcome=pb.EGRESS_OUTCOME_ALLOWED),
        pb.EgressConnection(method="CONNECT", host="prices.example.com", port=443, bytes_in=100, outcome=pb.EGRESS_OUTCOME_ALLOWED),
        pb.EgressConnection(method="CONNECT", host="evil.\x1b[2Jexample", port=443, outcome=pb.EGRESS_OUTCOME_REFUSED),
    ], exchanges=[pb.RecordedExchange(scheme="https", host="prices.example.com", port=443, method="GET", path="/p")])
    assert network_lines(recording, 3, ["GET https://prices.example.com/p", "GET https://prices.example.com/p"]) == [
        "3 HTTP request(s) answered from the recording",
        "GET https://prices.example.com/p: answered by its path (its query or body differed from the recorded request's)",
        "1 HTTP exchange(s) of the recorded run were not recorded (past its size bound, cut short, or carrying a session "
        "secret): a replayed request for one is refused",
        "the recorded run reached api.example.com:443 (2 connection(s), 2500 bytes in) without its answers being recorded: "
        "not replayed"]
    assert network_lines(pb.ExecutionRecording(execution_id=12), 0, []) == []
