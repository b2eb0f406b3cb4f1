"""`corral user add|grant|list|revoke`: the API's principals, managed on the orchestrator's database
(as whoever runs the orchestrator, with its config), not over the API: making the first admin
cannot need an admin, and no API call can mint a key.

`add` prints the new key once, on stdout alone (so `KEY=$(corral user add ...)` works); it is
stored only as a hash and cannot be shown again: a lost key is revoked and a new user added."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROLES = ("viewer", "operator", "approver", "admin")


def add_parser(sub) -> None:
    user = sub.add_parser("user", help="API users: their keys, roles and wallets (on the orchestrator's database)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="the orchestrator's TOML config (its database_url; defaults are embedded)")
    commands = user.add_subparsers(dest="user_command", required=True)
    add = commands.add_parser("add", parents=[common], help="add a user and print its API key (shown this once)")
    add.add_argument("name", help="1 to 64 of a-z, 0-9, '_', '.', '-'")
    add.add_argument("--role", action="append", choices=ROLES, required=True,
                     help="viewer (reads), operator (starts, stops, pauses, updates sessions), approver (suggestions), "
                          "admin (agents, halt); repeatable")
    add.add_argument("--wallet", action="append", default=[], metavar="ADDRESS",
                     help="a wallet whose sessions the user sees and acts on; repeatable")
    grant = commands.add_parser("grant", parents=[common], help="give a user more wallets")
    grant.add_argument("name")
    grant.add_argument("--wallet", action="append", required=True, metavar="ADDRESS", help="repeatable")
    commands.add_parser("list", parents=[common], help="users, their roles and wallets (never their keys)")
    revoke = commands.add_parser("revoke", parents=[common], help="refuse a user's key from its next call on")
    revoke.add_argument("name")


def run(args) -> int:
    from orchestrator.config import config_problem, load_config
    from orchestrator.store import Database
    from orchestrator.store import principals as store

    try:
        config = load_config(args.config)
    except (ValueError, OSError) as exc:
        print(f"error: orchestrator config: {config_problem(exc)}", file=sys.stderr)
        return 2
    db = Database(config.database_url)
    try:
        with db.session() as session:
            if args.user_command == "add":
                try:
                    key = store.add(session, args.name, [store.Role(r) for r in args.role], args.wallet)
                except store.PrincipalError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 2
                print(key)
                print(f"user {args.name} added ({', '.join(sorted(set(args.role)))}); its key is above and will not be shown again"
                      + ("" if config.api_keys else "; keys are checked once the orchestrator's config sets api_keys = true"),
                      file=sys.stderr)
                return 0
            if args.user_command == "list":
                from corral_cli.client import print_table

                print_table(["name", "state", "roles", "wallets"], [
                    [row.name, f"revoked {row.revoked_at:%Y-%m-%dT%H:%M}" if row.revoked_at else "active", ",".join(row.roles),
                     ",".join(w.wallet_address for w in row.wallets) or "-"]
                    for row in store.listed(session)])
                return 0
            if args.user_command == "grant":
                try:
                    granted = store.grant(session, args.name, args.wallet)
                except store.PrincipalError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 2
                if not granted:
                    print(_no_such_user(args.name), file=sys.stderr)
                    return 1
                print(f"user {args.name} now also owns {', '.join(args.wallet)}")
                return 0
            if not store.revoke(session, args.name):
                print(_no_such_user(args.name), file=sys.stderr)
                return 1
            print(f"user {args.name} revoked: its key is refused from its next call on")
            return 0
    finally:
        db.dispose()


def _no_such_user(name: str) -> str:
    return f"error: there is no active user {name!r}; `corral user list` shows them"
