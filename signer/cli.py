"""`corral signer ...`: run the signer and administer its wallets, policies and audit log.

These commands act on the signer's home directory directly, as the wallet owner;
none of them is reachable through the signer's socket.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from pathlib import Path
from typing import cast

from pydantic import ValidationError

from signer import audit
from signer.config import SignerPaths
from signer.halt import Halts
from signer.keystore import Keystore, KeystoreError, read_passphrase_file
from signer.policy import PolicyStore, PolicyUnreadable, SolanaPolicy, WalletPolicy
from signer.policy.document import SHORTHAND_DAILY_CAP, SHORTHAND_MAX_VALUE, shorthand_policy
from signer.privileges import PrivilegeError, hand_over, lookup, share_socket_dir


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("signer", help="run and administer the signer")
    parser.add_argument("--home", type=Path, default=Path("var/signer"), help="signer home directory (default: var/signer)")
    parser.add_argument("--passphrase-file", type=Path, help="file holding the keystore passphrase (mode 600); prompted for when absent")
    commands = parser.add_subparsers(dest="signer_command", required=True)

    serve = commands.add_parser("serve", help="serve signing requests on the signer's Unix socket")
    serve.add_argument("--allow-uid", type=int, action="append", default=[],
                       help="uid allowed to connect (repeatable; default: the uid that started the signer)")
    serve.add_argument("--user", help="started as root: run as this user (e.g. corral-signer), which then owns the signer's home")
    serve.add_argument("--socket-dir", type=Path,
                       help="serve the socket in this directory instead of the home (made 0750, group --client-group): "
                            "how an orchestrator running as another user reaches it")
    serve.add_argument("--client-group", help="with --socket-dir: the group whose members may enter it (e.g. corral-orchestrator)")

    wallet = commands.add_parser("wallet", help="create and list wallets").add_subparsers(dest="wallet_command", required=True)
    create = wallet.add_parser("create", help="create a wallet; prints its address")
    create.add_argument("--type", choices=["ethereum", "solana"], default="ethereum", help="key type (default: ethereum)")
    _add_shorthand(create, "in the new wallet's policy; a Solana wallet starts with an empty Solana policy that allows nothing "
                           "until `policy set`")
    create.add_argument("--count", type=int, default=1, help="how many wallets to create (one address per line)")
    create.add_argument("--light-kdf", action="store_true",
                        help="scrypt at geth's --lightkdf cost: for throwaway development-chain wallets only (much cheaper to brute-force)")
    wallet.add_parser("list", help="list wallet addresses and their types")
    export = wallet.add_parser("export", help="owner export: the key re-encrypted (keystore v3) to a new passphrase")
    export.add_argument("address")
    export.add_argument("--to", type=Path, required=True, help="file to write the re-encrypted keystore to (mode 600)")
    export.add_argument("--export-passphrase-file", type=Path, help="passphrase for the exported file (prompted for when absent)")

    policy = commands.add_parser("policy", help="show or set a wallet's policy").add_subparsers(dest="policy_command", required=True)
    show = policy.add_parser("show")
    show.add_argument("address")
    set_ = policy.add_parser("set", help="replace a wallet's policy (docs/policies.md has every rule)")
    set_.add_argument("address")
    set_.add_argument("--file", type=Path, help="the whole policy as JSON (see docs/policies.md); else the shorthand below")
    _add_shorthand(set_, "(shorthand, without --file)")

    commands.add_parser("halt", help="refuse every signing request until `resume`")
    commands.add_parser("resume", help="lift a halt")

    audit_cmd = commands.add_parser("audit", help="check the audit log").add_subparsers(dest="audit_command", required=True)
    verify = audit_cmd.add_parser("verify", help="verify the audit log's keyed chain (needs the passphrase); prints its head")
    verify.add_argument("--expect-head", metavar="SEQ:MAC",
                        help="also check the log still holds this head (the one `corral status` shows the platform was given)")


def _add_shorthand(parser: argparse.ArgumentParser, where: str) -> None:
    """The flags of the shorthand policy: chains, recipients and caps, with safe defaults."""
    parser.add_argument("--allow-chain", type=int, action="append", default=[],
                        help=f"Ethereum: chain id to allow (repeatable) {where}")
    parser.add_argument("--allow-recipient", action="append", default=[], metavar="ADDRESS",
                        help="address native value and token transfers may go to (repeatable; default: none)")
    parser.add_argument("--allow-any-recipient", action="store_true", help="let transfers go to any address (open-ended: warned about)")
    parser.add_argument("--max-value", type=int, default=SHORTHAND_MAX_VALUE, metavar="WEI",
                        help=f"most native value per transaction (default {SHORTHAND_MAX_VALUE}: 0.01 of the coin)")
    parser.add_argument("--daily-cap", type=int, default=SHORTHAND_DAILY_CAP, metavar="WEI",
                        help=f"most native value + fees per 24 h on each chain (default {SHORTHAND_DAILY_CAP}: 0.1 of the coin)")


def _shorthand(args: argparse.Namespace) -> WalletPolicy:
    recipients = None if args.allow_any_recipient else args.allow_recipient
    return shorthand_policy(args.allow_chain, recipients, args.max_value, args.daily_cap)


def _print_warnings(policy: WalletPolicy) -> None:
    for warning in policy.warnings():
        print(f"warning: {warning}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    paths = SignerPaths(home=args.home.resolve())
    try:
        if args.signer_command == "serve":
            return _serve(args, paths)
        needs_passphrase = (args.signer_command == "wallet" and args.wallet_command != "list") or args.signer_command == "audit"
        passphrase = _passphrase(args) if needs_passphrase else ""
        paths.ensure()
        return _dispatch(args, paths, passphrase)
    except (KeystoreError, PrivilegeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace, paths: SignerPaths) -> int:
    from signer.server import serve

    passphrase = _passphrase(args)
    allowed = set(args.allow_uid) or {os.getuid()}
    if args.client_group and not args.socket_dir:
        raise PrivilegeError("--client-group goes with --socket-dir (the home itself stays private)")
    if args.socket_dir:
        paths = paths.model_copy(update={"socket_dir": args.socket_dir.absolute()})
    account = None
    if args.user:
        if os.geteuid() != 0:
            raise PrivilegeError("--user needs the signer to be started as root")
        account = lookup(args.user)
        paths.ensure()
        hand_over(paths.home, account)
    else:
        paths.ensure()
    if paths.socket_dir is not None:
        share_socket_dir(paths.socket_dir, account, args.client_group)
    asyncio.run(serve(paths, passphrase, allowed, run_as=account))
    return 0


def _passphrase(args: argparse.Namespace) -> str:
    if args.passphrase_file:
        return read_passphrase_file(args.passphrase_file)
    return getpass.getpass("keystore passphrase: ")


# Complex by design: one branch per subcommand.
def _dispatch(args: argparse.Namespace, paths: SignerPaths, passphrase: str) -> int:  # noqa: C901
    policies = PolicyStore(paths.policy_dir)
    if args.signer_command == "wallet":
        if args.wallet_command == "create":
            keystore = Keystore(paths.keystore_dir, passphrase)
            if args.light_kdf:
                print("warning: --light-kdf: these keys are cheap to brute-force if their files leak; use only on development chains",
                      file=sys.stderr)
            for _ in range(args.count):
                address = keystore.create_wallet(args.type, light_kdf=args.light_kdf)
                if args.type == "solana":
                    policies.set(address, WalletPolicy(solana=SolanaPolicy()))
                else:
                    policies.set(address, _shorthand(args))
                print(address, flush=True)
            return 0
        if args.wallet_command == "export":
            keystore = Keystore(paths.keystore_dir, passphrase)
            if args.export_passphrase_file:
                new_passphrase = read_passphrase_file(args.export_passphrase_file)
            else:
                new_passphrase = getpass.getpass("passphrase for the exported key: ")
            keystore.export(args.address, new_passphrase, args.to)
            print(f"wrote {args.to} (keystore v3, encrypted to the export passphrase)")
            return 0
        for address, wallet_type, paper_of in Keystore(paths.keystore_dir, passphrase="").listed():
            print(f"{address}  {wallet_type}" + (f"  paper wallet of {paper_of}" if paper_of else ""))
        return 0
    if args.signer_command == "policy":
        if args.policy_command == "show":
            policy = policies.get(args.address)
            if isinstance(policy, PolicyUnreadable):
                print(f"error: the wallet's policy file is not valid ({policy}); set it again with `policy set`", file=sys.stderr)
                return 2
            print(json.dumps(policy.model_dump(mode="json") if policy else None, indent=2))
            if policy:
                _print_warnings(policy)
            return 0
        try:
            policy = WalletPolicy.model_validate_json(args.file.read_text()) if args.file else _shorthand(args)
        except ValidationError as exc:
            print(f"error: the policy is not valid: {exc}", file=sys.stderr)
            return 2
        policies.set(args.address, policy)
        # Read back as stored: the policy just set.
        print(json.dumps(cast(WalletPolicy, policies.get(args.address)).model_dump(mode="json"), indent=2))
        _print_warnings(policy)
        return 0
    if args.signer_command == "halt":
        Halts(paths).halt_for_owner()
        print("halted: every signing request is refused until `corral signer resume`")
        return 0
    if args.signer_command == "resume":
        Halts(paths).resume_for_owner()
        print("resumed (the owner's halt and any kill-switch halt are lifted)")
        return 0
    if args.signer_command == "audit":
        try:
            expected = audit.parse_head(args.expect_head) if args.expect_head else None
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        result = audit.verify(paths.audit_log, audit.audit_key(passphrase), expected)
        head = f"head {result.head[0]}:{result.head[1]}" if result.head else "empty"
        if result.ok:
            print(f"audit log intact: {result.entries} entries, {head}")
            return 0
        where = f"at line {result.bad_line}: " if result.bad_line else ""
        print(f"audit log BROKEN {where}{result.problem} ({head})", file=sys.stderr)
        return 1
    raise AssertionError(args)
