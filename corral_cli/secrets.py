"""`corral secret set SESSION NAME HOST` (the value read from stdin, never from the command
line, where `ps` and shell history would keep it), `corral secret list SESSION` and
`corral secret delete SESSION NAME`. No command prints a value: the API never returns one."""

from __future__ import annotations

import getpass
import sys

from corral.v1 import orchestrator_pb2 as pb
from corral_cli.paging import every

MAX_INPUT_CHARS = 4096 + 2  # the API's bound, plus a line break


def add_parser(sub, common) -> None:
    secret = sub.add_parser("secret", help="a session's secrets for its declared hosts ({{secret:NAME}} in a header)")
    commands = secret.add_subparsers(dest="secret_command", required=True)
    set_ = commands.add_parser("set", parents=[common], help="set (or replace) a secret; the value is read from stdin")
    set_.add_argument("session_id", type=int)
    set_.add_argument("name", help="e.g. COINGECKO_KEY: the agent writes {{secret:COINGECKO_KEY}} in a header value")
    set_.add_argument("host", help="the one declared host it is sent to, e.g. pro-api.coingecko.com")
    commands.add_parser("list", parents=[common], help="names, hosts and when they were set (never values)").add_argument(
        "session_id", type=int)
    delete = commands.add_parser("delete", parents=[common], help="delete a secret")
    delete.add_argument("session_id", type=int)
    delete.add_argument("name")


def read_value() -> str:
    """One line from stdin: typed without echo at a terminal, or piped (`< key.txt`)."""
    if sys.stdin.isatty():
        return getpass.getpass("value (not echoed): ")
    value = sys.stdin.read(MAX_INPUT_CHARS + 1)
    return value.removesuffix("\n").removesuffix("\r")


def run(api, metadata, args) -> int:
    if args.secret_command == "set":
        request = pb.SetSessionSecretRequest(session_id=args.session_id, name=args.name, host=args.host, value=read_value())
        secret = api.SetSessionSecret(request, metadata=metadata).secret
        print(f"secret {secret.name} of session {args.session_id} set for {secret.host}; "
              f"the agent writes {{{{secret:{secret.name}}}}} in a header value")
    elif args.secret_command == "list":
        secrets = every(api.ListSessionSecrets, pb.ListSessionSecretsRequest(session_id=args.session_id), "secrets", metadata)
        for secret in secrets:
            print(f"{secret.name}  {secret.host}  set {secret.set_at.ToDatetime():%Y-%m-%d %H:%M:%S}")
        if not secrets:
            print(f"session {args.session_id} has no secrets")
    else:
        api.DeleteSessionSecret(pb.DeleteSessionSecretRequest(session_id=args.session_id, name=args.name), metadata=metadata)
        print(f"secret {args.name} of session {args.session_id} deleted")
    return 0
