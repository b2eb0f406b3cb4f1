"""Stopped paper sessions give their wallets back: the signer is asked to remove the paper
wallet of each stopped session once none of its runs is still going, and of a paper wallet no
session names (a start that failed after its key was made) only once it has been so for a
while; running sessions' wallets, and the real wallets, are never asked about."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from orchestrator.sessions import paper
from orchestrator.sessions.paper import StoppedPaperWallets
from orchestrator.store import Database, ExecutionRow, SessionRow, utcnow
from orchestrator.store.statuses import SessionStatus
from tests.helpers import seed_sessions

REAL = "0x" + "aa" * 20
STOPPED, UNWINDING, RUNNING, ORPHAN, GONE = ("0x" + f"{n:02x}" * 20 for n in range(1, 6))


class Signer:
    """The signer's side as the sweep sees it: its paper wallets, and removals (NOT_FOUND for
    one already gone, as the signer answers)."""

    def __init__(self, papers: set[str]) -> None:
        self.papers = set(papers)
        self.asked: list[str] = []

    async def paper_wallets(self) -> set[str]:
        return set(self.papers)

    async def remove_paper_wallet(self, wallet: str) -> None:
        self.asked.append(wallet)
        if wallet == GONE or wallet not in self.papers:
            raise _NotFound()
        self.papers.discard(wallet)


class _NotFound(grpc.aio.AioRpcError):
    def __init__(self) -> None:
        super().__init__(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(), details="no key")


@pytest.fixture
def db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'paper.db'}")
    seed_sessions(db, 4)
    with db.session() as s:
        for session_id, wallet, status in ((1, STOPPED, SessionStatus.STOPPED), (2, UNWINDING, SessionStatus.STOPPED),
                                           (3, RUNNING, SessionStatus.RUNNING), (4, GONE, SessionStatus.STOPPED)):
            row = s.get(SessionRow, session_id)
            row.wallet_address, row.paper_of_wallet, row.status = wallet, REAL, status
        s.add(ExecutionRow(id=1, session_id=2, command="unwind", status="running", started_at=utcnow()))  # still signing with it
        s.commit()
    return db


def test_stopped_sessions_wallets_are_removed_and_running_ones_kept(db, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(paper.time, "monotonic", lambda: clock[0])
    signer = Signer({STOPPED, UNWINDING, RUNNING, ORPHAN, GONE})
    sweeper = StoppedPaperWallets(db, signer)  # type: ignore[arg-type]

    assert asyncio.run(sweeper.sweep()) == [STOPPED]
    assert sorted(signer.asked) == sorted([STOPPED, GONE])  # GONE: another replica was first
    assert signer.papers == {UNWINDING, RUNNING, ORPHAN, GONE}

    with db.session() as s:  # the unwind ends
        s.get(ExecutionRow, 1).status = "succeeded"
        s.commit()
    clock[0] += paper.ORPHAN_GRACE_SECONDS - 1
    assert asyncio.run(sweeper.sweep()) == [UNWINDING]  # the orphan is still within its grace
    clock[0] += 1
    assert asyncio.run(sweeper.sweep()) == [ORPHAN]
    assert signer.papers == {RUNNING, GONE} and REAL not in signer.asked and RUNNING not in signer.asked
