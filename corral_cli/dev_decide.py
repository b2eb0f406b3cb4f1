"""`corral dev run --mode manual`: the author decides the run's pending suggestions while the
local platform is still up, through the same API calls a frontend makes
(ApproveSuggestion / RejectSuggestion), and sees what each approval did.

`--approve ask` (the default) asks for each one on a terminal: approve, reject, skip (leave
it pending for now) or quit. With no terminal on stdin nothing can be asked, so the
suggestions are shown with how to decide them and nothing is decided; `--approve all` or
`--approve none` decides every pending suggestion without asking (for scripts and CI)."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum

import grpc
from google.protobuf.json_format import MessageToDict

from corral.v1 import orchestrator_pb2 as pb
from corral_cli.approval import OUTCOME_TIMEOUT_SECONDS, approve_and_wait
from corral_cli.client import SUGGESTION_NAMES, TX_NAMES, describe_suggestion
from corral_cli.display import printable


class Approve(StrEnum):
    """The `--approve` choices."""

    ASK = "ask"
    ALL = "all"
    NONE = "none"


class Answer(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    SKIP = "skip"
    QUIT = "quit"


PROMPT = "    approve, reject, skip (leave it pending) or quit? [a/r/s/q] "
KIND_NAMES = {v: k.removeprefix("SUGGESTION_KIND_").lower().replace("_", " ") for k, v in pb.SuggestionKind.items()}


def pending(api, session_id: int) -> list[pb.Suggestion]:
    """The session's pending suggestions, oldest first (the order the agent made them)."""
    listed = api.ListSuggestions(pb.ListSuggestionsRequest(session_id=session_id)).suggestions
    return sorted((s for s in listed if s.status == pb.SUGGESTION_STATUS_PENDING), key=lambda s: s.id)


def decide_pending(api, session_id: int, policy: Approve, interactive: bool, ask: Callable[[str], str] = input) -> int:
    """Shows each pending suggestion and decides it as `policy` says (asking through `ask`
    when it is ASK and `interactive`); returns how many are left pending. Ends when nothing
    is pending or the author quits (q, or end of input)."""
    waiting = pending(api, session_id)
    if not waiting:
        print("\nno suggestion is pending.")
        return 0
    if policy == Approve.ASK and not interactive:
        print(f"\n{len(waiting)} pending suggestion(s):")
        for suggestion in waiting:
            show(suggestion)
        print("\nstdin is not a terminal, so nothing was asked and nothing decided (the local platform goes away now).\n"
              "To decide them: run `corral dev run` in a terminal (it asks for each), or add `--approve all` or `--approve none`.")
        return len(waiting)
    tried: set[int] = set()  # --approve all/none: one attempt each, whatever the answer
    while waiting:
        print(f"\n{len(waiting)} pending suggestion(s); the local platform stays up until they are decided or you quit:")
        for suggestion in waiting:
            show(suggestion)
            answer = _answer(policy, ask)
            if answer == Answer.QUIT:
                left = len(pending(api, session_id))
                print(f"quit: {left} suggestion(s) left pending.")
                return left
            if answer != Answer.SKIP:
                tried.add(suggestion.id)
                decide(api, session_id, suggestion.id, answer)
        still = pending(api, session_id)
        waiting = [s for s in still if s.id not in tried]
    return len(still)


def _answer(policy: Approve, ask: Callable[[str], str]) -> Answer:
    if policy == Approve.ALL:
        return Answer.APPROVE
    if policy == Approve.NONE:
        return Answer.REJECT
    while True:
        try:
            typed = ask(PROMPT).strip().lower()
        except EOFError:  # Ctrl-D, or input that ran out
            print()
            return Answer.QUIT
        for answer in Answer:
            if typed and answer.startswith(typed):
                return answer
        print("    type a (approve), r (reject), s (skip) or q (quit)")


def show(suggestion: pb.Suggestion) -> None:
    """The suggestion as a person judging it needs it: what approving does, the agent's
    message, the preview (a simulation where the chain allows), when it expires."""
    details = MessageToDict(suggestion.details)
    network = f" on {printable(details['network'])}" if details.get("network") else ""
    print(f"  suggestion {suggestion.id} ({KIND_NAMES[suggestion.kind]}, from execution {suggestion.execution_id}): "
          f"{printable(describe_suggestion(suggestion.kind, details))}{network}")
    message = details.get("message")
    if message not in (None, ""):
        label = "signs" if suggestion.kind == pb.SUGGESTION_KIND_MESSAGE else "message"
        print(f"    {label}: {printable(message if isinstance(message, str) else _compact(message))}")
    print(f"    preview: {_preview(details)}")
    if suggestion.HasField("expires_at"):
        print(f"    expires: {suggestion.expires_at.ToDatetime():%Y-%m-%d %H:%M:%S} UTC")


def _preview(details: dict) -> str:
    simulation = details.get("simulation")
    if isinstance(simulation, dict):
        if simulation.get("succeeded"):
            gas = f" (gas {_whole(simulation['gas'])})" if "gas" in simulation else ""
            return f"the simulation succeeds{gas}"
        return f"the simulation fails: {printable(simulation.get('error', 'no reason given'))}"
    rest = {k: v for k, v in details.items() if k not in ("message", "network")}
    return printable(_compact(rest)) if rest else "(none)"


def decide(api, session_id: int, suggestion_id: int, answer: Answer) -> None:
    """Approves or rejects one suggestion and shows the outcome; a refusal (it expired, it
    was decided elsewhere) is shown, not raised."""
    try:
        if answer == Answer.APPROVE:
            done = approve_and_wait(api, suggestion_id)
        else:
            done = api.RejectSuggestion(pb.RejectSuggestionRequest(suggestion_id=suggestion_id)).suggestion
    except grpc.RpcError as exc:
        print(f"    not {answer}d: {exc.details()}")
        return
    status = SUGGESTION_NAMES[done.status]
    if done.status == pb.SUGGESTION_STATUS_FAILED:
        print(f"    {status}: {printable(done.error)}")
    elif done.status == pb.SUGGESTION_STATUS_EXECUTED:
        print(f"    {status}: {_outcome(api, session_id, MessageToDict(done.result))}")
        show_holdings(api, session_id)
    elif done.status == pb.SUGGESTION_STATUS_APPROVING:
        print(f"    still {status} after {OUTCOME_TIMEOUT_SECONDS:.0f} s: `corral suggestions {session_id}` shows how it ends")
    else:
        print(f"    {status}")


def _outcome(api, session_id: int, result: dict) -> str:
    if "tx_hash" in result:
        txs = api.ListTransactions(pb.ListTransactionsRequest(session_id=session_id)).transactions
        tx = next((t for t in txs if t.id == _whole(result.get("transaction_id"))), None)
        if tx is None:
            return f"transaction {result['tx_hash']}"
        block = f" in block {tx.block_number}" if tx.HasField("block_number") else ""
        error = f" ({printable(tx.error)})" if tx.error else ""
        return f"transaction {tx.tx_hash} {TX_NAMES[tx.status]}{block}{error}"
    if "formatted_signature" in result:
        return f"signature {result['formatted_signature']}"
    return printable(_compact(result))


def show_holdings(api, session_id: int) -> None:
    """What the session holds now by its ledger (its allocation and what its own transactions
    moved: what the agent's next run sees), and the wallet's balance on the chain."""
    session = api.GetSession(pb.GetSessionRequest(session_id=session_id)).session
    held = ", ".join(f"{p.current_qty} of {p.asset_address} on {p.network}" for p in session.positions) or "nothing"
    print(f"    the session now holds {held}")
    wallet = next((w for w in api.ListWallets(pb.ListWalletsRequest()).wallets if w.address == session.wallet_address), None)
    if wallet is not None and wallet.balances:
        print(f"    the wallet {wallet.address} holds {', '.join(f'{b.amount} on {b.network}' for b in wallet.balances)}")


def _compact(value: object) -> str:
    return json.dumps(_whole(value), separators=(",", ":"), default=str)


def _whole(value: object) -> object:
    """A protobuf Struct holds every number as a double: 21000.0 is shown as 21000."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value
