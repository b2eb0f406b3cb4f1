"""A backtest session's report (GetBacktestReport): its steps as stored
(orchestrator/actions/backtests.py) and the figures a trader reads from them.

- PnL: the last step's equity less the allocation, in the starting asset; none while a step
  could not be valued (a made-up price would be worse than no figure).
- Max drawdown: the largest fall of equity from an earlier peak, as a fraction of the peak.
- Trades and fees: its confirmed transactions and the native coin they paid.
- Live hosts: the hosts its executions reached through the egress proxy (not its chain reads,
  which a backtest answers from its fork): their answers were today's, a look-ahead the report
  cannot undo, so it names them.
- Refusals by rule: its refused transactions by the signer's rule that refused them, or
  "platform" when the platform refused it before the signer was asked (a breaker, a check);
  for a backtest by time, also its venue actions the copied policy refused (by rule; a venue's
  own refusal, an IOC that crossed nothing, is the agent's answer, not counted).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from corral.hosts import CHAIN_READS_HOST
from corral.v1 import common_pb2, orchestrator_pb2
from orchestrator.actions import backtests
from orchestrator.actions.signer_client import denying_rule
from orchestrator.actions.venues.hypercore import USDC_UNITS
from orchestrator.actions.venues.paper_hyperliquid import HyperliquidPaperAccount
from orchestrator.errors import precondition
from orchestrator.store import BacktestStepRow, EgressConnectionRow, ExecutionRow, PaperVenueAccountRow, SessionRow, TransactionRow
from orchestrator.store.statuses import EgressOutcome, TransactionStatus

LIVE_HOSTS_SHOWN = 20


def backtest_report(db: Session, session: SessionRow) -> orchestrator_pb2.BacktestReport:
    if session.backtest_every_blocks is None:
        raise precondition(f"session {session.id} is not a backtest (StartSession backtest)")
    rows = db.scalars(select(BacktestStepRow).where(BacktestStepRow.session_id == session.id).order_by(BacktestStepRow.step)).all()
    report = orchestrator_pb2.BacktestReport(session_id=session.id, finished=backtests.finished(db, session.id),
                                             starting_amount=session.allocation_amount,
                                             runs=sum(1 for row in rows if not row.after_last_run))
    for row in rows:
        step = report.steps.add(step=row.step, block=row.block, equity=row.equity or "", unvalued_assets=row.unvalued,
                                after_last_run=row.after_last_run)
        step.block_time.FromDatetime(row.block_time)
        step.positions.extend(common_pb2.Position(network=p["network"], asset_address=p["asset_address"], current_qty=p["current_qty"])
                              for p in row.positions)
    equities = [int(row.equity) for row in rows if row.equity is not None]
    if rows and len(equities) == len(rows):
        report.final_equity = str(equities[-1])
        report.pnl = str(equities[-1] - int(session.allocation_amount))
        report.max_drawdown = max_drawdown(equities)
    fees, trades, refusals = 0, 0, Counter[str]()
    if session.backtest_by_time:  # its trades are its paper Hyperliquid account's fills, their fees in USDC
        state = db.scalar(select(PaperVenueAccountRow.state).where(PaperVenueAccountRow.session_id == session.id,
                                                                   PaperVenueAccountRow.venue == "hyperliquid"))
        account = HyperliquidPaperAccount.model_validate(state) if state is not None else HyperliquidPaperAccount()
        trades, fees = account.fill_count, int(account.fees_paid * USDC_UNITS)
        refusals.update(account.refusals_by_rule)
    for tx in db.scalars(select(TransactionRow).where(TransactionRow.session_id == session.id)):
        if tx.status in (TransactionStatus.CONFIRMED, TransactionStatus.REVERTED) and tx.gas_used and tx.effective_gas_price:
            fees += tx.gas_used * int(tx.effective_gas_price)
        if tx.status == TransactionStatus.CONFIRMED:
            trades += 1
        elif tx.status == TransactionStatus.REJECTED:
            refusals[denying_rule(tx.error) or "platform"] += 1
    report.trades, report.fees_paid = trades, str(fees)
    report.refusals_by_rule.update(refusals)
    report.live_hosts.extend(live_hosts(db, session.id))
    return report


def live_hosts(db: Session, session_id: int) -> list[str]:
    """The hosts the session's executions reached themselves (allowed, even if the transfer then
    failed), sorted, at most LIVE_HOSTS_SHOWN."""
    reached = (select(EgressConnectionRow.host).join(ExecutionRow, ExecutionRow.id == EgressConnectionRow.execution_id)
               .where(ExecutionRow.session_id == session_id, EgressConnectionRow.outcome != EgressOutcome.REFUSED,
                      EgressConnectionRow.host != CHAIN_READS_HOST)
               .distinct().order_by(EgressConnectionRow.host).limit(LIVE_HOSTS_SHOWN))
    return list(db.scalars(reached))


def max_drawdown(equities: list[int]) -> float:
    """The largest fall from an earlier peak, as a fraction of that peak (0 for none)."""
    peak, worst = 0, 0.0
    for equity in equities:
        peak = max(peak, equity)
        if peak > 0:
            worst = max(worst, (peak - equity) / peak)
    return worst
