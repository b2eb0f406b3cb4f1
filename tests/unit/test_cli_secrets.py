"""`corral secret set` reads the value from stdin (never argv) and prints no value."""

from __future__ import annotations

import io
import sys

from corral.v1 import orchestrator_pb2 as pb
from corral_cli import secrets as secrets_cli
from corral_cli.main import _parser


class FakeApi:
    def __init__(self) -> None:
        self.requests: list[object] = []

    def SetSessionSecret(self, request, metadata):  # noqa: N802 — the wire's name
        self.requests.append(request)
        return pb.SetSessionSecretResponse(secret=pb.SessionSecret(name=request.name, host=request.host))


def test_the_value_comes_from_stdin_and_is_never_printed(monkeypatch, capsys):
    args = _parser().parse_args(["secret", "set", "3", "CG_KEY", "pro-api.coingecko.com"])
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cr3t-value\n"))
    api = FakeApi()
    assert secrets_cli.run(api, (), args) == 0
    [request] = api.requests
    assert (request.session_id, request.name, request.host, request.value) == (3, "CG_KEY", "pro-api.coingecko.com", "s3cr3t-value")
    printed = capsys.readouterr()
    assert "s3cr3t-value" not in printed.out + printed.err and "{{secret:CG_KEY}}" in printed.out
