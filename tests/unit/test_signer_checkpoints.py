"""Ledger checkpoints: a checkpoint plus the audit lines after it gives the same ledger as
replaying the whole log, and a checkpoint that does not verify or does not match the log is
never trusted (the whole log is replayed instead, and the log says why)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signer.audit import AuditLog, Position, audit_key
from signer.checkpoint import Checkpoints, replay
from signer.policy.ledger import AllowanceChange, AllowanceKind, Commitments, Spend, SpendLedger, horizon_for
from signer.policy.values import DAY

KEY = audit_key("pw")
WALLETS = ["0x" + "aa" * 20, "0x" + "bb" * 20]
TOKEN, SPENDER = "0x" + "22" * 20, "0x" + "33" * 20

allow = st.tuples(
    st.just("allow"), st.sampled_from(WALLETS), st.integers(0, 2),
    st.lists(st.tuples(st.sampled_from([(1, "native"), (1, TOKEN), ("solana", "native")]), st.integers(0, 1000)), max_size=3),
    st.lists(st.tuples(st.sampled_from(list(AllowanceKind)), st.integers(0, 500)), max_size=2),
    st.one_of(st.none(), st.integers(0, 50)),
)
budget = st.tuples(st.just("budget"), st.sampled_from(WALLETS), st.integers(1, 2), st.integers(0, 5000))
other = st.tuples(st.just("deny"), st.sampled_from(WALLETS))
advance = st.tuples(st.just("advance"), st.sampled_from([1.0, 3_600.0, DAY, 3 * DAY]))
histories = st.lists(st.one_of(allow, budget, other, advance), min_size=1, max_size=40)


def write_history(audit: AuditLog, ops: list, now: float) -> float:
    for op in ops:
        if op[0] == "advance":
            now += op[1]
        elif op[0] == "allow":
            _, wallet, session, spends, allowances, nonce = op
            commitments = Commitments(
                spends=tuple(Spend(chain, asset, amount) for (chain, asset), amount in spends),
                allowances=tuple(AllowanceChange(1, TOKEN, SPENDER, kind, amount) for kind, amount in allowances),
                nonce=(1, nonce) if nonce is not None else None,
            )
            audit.write({"action": "sign_evm_transaction", "wallet": wallet, "decision": "allow", "time": now,
                         "request": {"context": {"session_id": str(session)}}, **commitments.to_audit()})
        elif op[0] == "budget":
            _, wallet, session, amount = op
            audit.write({"action": "open_session_budget", "wallet": wallet, "decision": "allow", "opened": True, "asset": "native",
                         "time": now, "request": {"session_id": session, "chain_id": 1, "asset": "native", "amount": str(amount)}})
        else:
            audit.write({"action": "sign_evm_transaction", "wallet": op[1], "decision": "deny", "time": now, "request": {}})
    return now


@settings(max_examples=120, deadline=None)
@given(histories, histories)
def test_a_checkpoint_and_the_lines_after_it_give_the_full_replays_ledger(before, after):
    with tempfile.TemporaryDirectory() as directory:
        check_checkpoint_and_suffix(Path(directory), before, after)


def check_checkpoint_and_suffix(case: Path, before: list, after: list) -> None:
    log_path, checkpoints = case / "audit.jsonl", Checkpoints(case / "checkpoints", KEY)
    audit = AuditLog(log_path, KEY)
    now = write_history(audit, [("deny", WALLETS[0]), *before], 1_700_000_000.0)  # a checkpoint follows a line
    live = SpendLedger()
    replay(live, log_path)
    checkpoints.write(live, audit.position, now)
    end = write_history(audit, after, now)
    audit.close()

    restored = checkpoints.newest_usable(log_path, horizon_for(0))
    assert restored is not None
    from_checkpoint, position = restored
    replay(from_checkpoint, log_path, position)
    full = SpendLedger()
    replay(full, log_path)
    assert from_checkpoint.snapshot(end) == full.snapshot(end)


@pytest.fixture
def checkpointed(tmp_path):
    """A log with spends and a budget, checkpointed after them, then one more spend."""
    log_path, checkpoints = tmp_path / "audit.jsonl", Checkpoints(tmp_path / "checkpoints", KEY)
    audit = AuditLog(log_path, KEY)
    now = write_history(audit, [("allow", WALLETS[0], 1, [((1, "native"), 100)], [], 0), ("budget", WALLETS[0], 1, 500)],
                        1_700_000_000.0)
    ledger = SpendLedger()
    replay(ledger, log_path)
    path = checkpoints.write(ledger, audit.position, now)
    write_history(audit, [("allow", WALLETS[0], 1, [((1, "native"), 7)], [], 1)], now)
    audit.close()
    return log_path, checkpoints, path


def test_a_good_checkpoint_is_used(checkpointed):
    log_path, checkpoints, _ = checkpointed
    restored = checkpoints.newest_usable(log_path, horizon_for(0))
    assert restored is not None
    ledger, position = restored
    assert position.seq == 2
    assert replay(ledger, log_path, position) == 1  # only the line after it
    assert ledger.spent_by_session(WALLETS[0], 1, "native", 1) == 107


def _flip(data: bytes, marker: bytes, replacement: bytes) -> bytes:
    assert marker in data
    return data.replace(marker, replacement, 1)


def _rewrite(log_path: Path) -> None:
    log_path.unlink()
    audit = AuditLog(log_path, KEY)
    write_history(audit, [("deny", WALLETS[1])] * 3, 1_700_000_000.0)
    audit.close()


@pytest.mark.parametrize("tamper, why", [
    # More budget for session 1, in the body: the MAC no longer matches.
    (lambda p, log: p.write_bytes(_flip(p.read_bytes(), b'"500"', b'"900"')), "MAC does not verify"),
    # A MAC made without the passphrase-derived key (the attacker's own).
    (lambda p, log: p.write_bytes(Checkpoints(p.parent, audit_key("guess")).encode(SpendLedger(), Position(2, "0" * 64, 0, 1), 0.0)),
     "MAC does not verify"),
    # The log was replaced by another one (lines of the same shape), cut short, or emptied:
    # the checkpoint's line is not there any more.
    (lambda p, log: _rewrite(log), "no longer holds its line"),
    (lambda p, log: log.write_bytes(log.read_bytes().split(b"\n", 1)[0] + b"\n"), "no longer holds its line"),
    (lambda p, log: log.write_bytes(b""), "no longer holds its line"),
    (lambda p, log: p.write_bytes(b"not a checkpoint"), "not a checkpoint"),
])
def test_a_checkpoint_that_does_not_verify_or_match_is_ignored_and_said(checkpointed, tamper, why, caplog):
    log_path, checkpoints, path = checkpointed
    tamper(path, log_path)
    with caplog.at_level(logging.WARNING, logger="corral.signer"):
        assert checkpoints.newest_usable(log_path, horizon_for(0)) is None
    assert why in caplog.text and path.name in caplog.text


def test_a_checkpoint_kept_for_a_shorter_window_than_the_policies_now_need_is_not_used(checkpointed, caplog):
    log_path, checkpoints, _ = checkpointed
    with caplog.at_level(logging.WARNING, logger="corral.signer"):
        assert checkpoints.newest_usable(log_path, horizon_for(30 * DAY)) is None
    assert "a longer window" in caplog.text


def test_an_oversized_checkpoint_is_not_read(checkpointed, caplog, monkeypatch):
    import signer.checkpoint as module
    log_path, checkpoints, _ = checkpointed
    monkeypatch.setattr(module, "MAX_CHECKPOINT_BYTES", 10)
    with caplog.at_level(logging.WARNING, logger="corral.signer"):
        assert checkpoints.newest_usable(log_path, horizon_for(0)) is None
    assert "larger than 10 bytes" in caplog.text


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    log_path, checkpoints = tmp_path / "audit.jsonl", Checkpoints(tmp_path / "checkpoints", KEY)
    audit = AuditLog(log_path, KEY)
    for n in range(5):
        write_history(audit, [("deny", WALLETS[0])], 1_700_000_000.0 + n)
        checkpoints.write(SpendLedger(), audit.position, 1_700_000_000.0 + n)
    audit.close()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["ledger-000000000004.ckpt", "ledger-000000000005.ckpt"]
