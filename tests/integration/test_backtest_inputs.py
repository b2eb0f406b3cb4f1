"""What a backtest's agent can read that is not its step's: its chain reads go to its fork only
(standing at the step's block; any other node's head is the step's future), a paper session's
go to its fork in place of the chain it forks, and what the agent fetched from its own hosts is
named in the report (today's answers, which the report cannot undo)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.egress.chain_reads import ForkReads, readable_nodes
from orchestrator.executions.runner import fork_reads
from orchestrator.sessions.backtest_report import backtest_report
from orchestrator.store import Database, EgressConnectionRow, ExecutionRow, SessionRow, utcnow
from tests.helpers import seed_sessions

NODES = {"ethereum:1": "https://node.example/KEY", "ethereum:8453": "https://base.example/KEY"}
FORK = "http://127.0.0.1:40001"


def session_row(**fields) -> SessionRow:
    row = SessionRow(allocation_network="ethereum:1", paper_of_wallet=None, paper_fork_url=None, backtest_every_blocks=None)
    for name, value in fields.items():
        setattr(row, name, value)
    return row


def test_a_real_session_reads_the_installations_nodes():
    assert fork_reads(session_row()) is None
    assert readable_nodes(NODES, None) == NODES


def test_a_paper_session_reads_its_fork_in_place_of_the_chain_it_forks_and_others_as_they_are():
    fork = fork_reads(session_row(paper_of_wallet="0x" + "11" * 20, paper_fork_url=FORK))
    assert fork == ForkReads("ethereum:1", FORK, only=False)
    assert readable_nodes(NODES, fork) == {"ethereum:1": FORK, "ethereum:8453": NODES["ethereum:8453"]}


def test_a_solana_paper_session_reads_the_cluster_whose_read_methods_its_devchain_fork_does_not_all_answer():
    assert fork_reads(session_row(allocation_network="solana", paper_of_wallet="So1ana", paper_fork_url=FORK)) is None


def test_a_backtest_reads_its_fork_only_and_a_venue_backtest_no_chain_at_all():
    by_blocks = fork_reads(session_row(paper_of_wallet="0x" + "11" * 20, paper_fork_url=FORK, backtest_every_blocks=50))
    assert readable_nodes(NODES, by_blocks) == {"ethereum:1": FORK}  # Base's head would be the step's future
    by_time = fork_reads(session_row(allocation_network="hypercore:perp", paper_of_wallet="0x" + "11" * 20, backtest_every_blocks=1))
    assert readable_nodes(NODES, by_time) == {}
    starting = fork_reads(session_row(paper_of_wallet="0x" + "11" * 20, paper_fork_url=None))  # a paper session still starting
    assert readable_nodes(NODES, starting) == {"ethereum:8453": NODES["ethereum:8453"]}


def test_the_report_names_the_hosts_the_agent_reached_itself_not_refused_ones_nor_its_chain_reads(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'report.db'}")
    session, other = seed_sessions(db, 2)
    with db.session() as s:
        row = s.get(SessionRow, session.id)
        row.paper_of_wallet, row.backtest_from_block, row.backtest_to_block, row.backtest_every_blocks = "0x" + "33" * 20, 1, 10, 1
        s.add_all([ExecutionRow(id=1, session_id=session.id, command="run", status="succeeded", started_at=utcnow()),
                   ExecutionRow(id=2, session_id=session.id, command="run", status="succeeded", started_at=utcnow()),
                   ExecutionRow(id=3, session_id=other.id, command="run", status="succeeded", started_at=utcnow())])
        connections = [(1, "prices.example", "allowed"), (2, "prices.example", "allowed"), (1, "refused.example", "refused"),
                       (2, "rpc.corral.internal", "allowed"), (2, "candles.example", "failed"), (3, "elsewhere.example", "allowed")]
        s.add_all(EgressConnectionRow(execution_id=execution, method="CONNECT", host=host, port=443, address="", bytes_out=1, bytes_in=1,
                                      duration_ms=1, outcome=outcome, reason="") for execution, host, outcome in connections)
        s.commit()
        report = backtest_report(s, s.get(SessionRow, session.id))
    assert list(report.live_hosts) == ["candles.example", "prices.example"]
