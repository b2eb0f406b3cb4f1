// How a session would do before it touches money: a backtest's report (GetBacktestReport) and
// where a shadow version acts differently from the live one (ListShadowRuns). Read-only views;
// what the agent wrote (difference lines) is shown as inert text.
import { useEffect, useState } from "preact/hooks";
import { problem, whileCurrent, type Api } from "./api";
import { label, nativeDecimals, units, when } from "./format";
import { clipped, shown } from "./text";
import { ShadowOutcome, type BacktestReport as Report, type Session, type ShadowRun } from "./gen/corral/v1/orchestrator_pb";

export function BacktestReport({ api, session, version }: { api: Api; session: Session; version: number }) {
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState("");
  useEffect(() => whileCurrent(api.getBacktestReport({ sessionId: session.id }),
    (answer) => { setReport(answer.report ?? null); setError(""); }, (refused) => setError(problem(refused))), [api, session.id, version]);
  if (error) return <p role="alert" class="error">{error}</p>;
  if (!report) return <p>…</p>;
  // A backtest by time (a Hyperliquid agent's) steps through recorded market data; its amounts
  // and fees are in Hyperliquid's USDC, counted in 8 decimals as Circuit counts it.
  const byTime = Boolean(session.backtest?.everySeconds);
  const decimals = byTime ? 8 : nativeDecimals(session.allocation?.assetAddress ?? "");
  const amount = (value: string) => (value ? units(value, decimals) : "not valued");
  const refusals = Object.entries(report.refusalsByRule);
  const range = byTime
    ? `Times ${when(session.backtest?.fromTime, true)}–${when(session.backtest?.toTime, true)} every ${String(session.backtest?.everySeconds)} s`
    : `Blocks ${String(session.backtest?.fromBlock)}–${String(session.backtest?.toBlock)} every ${String(session.backtest?.everyBlocks)}`;
  return (
    <div data-testid="backtest-report">
      <p>
        {range}: {report.finished ? "finished" : "running"}, {report.runs} run(s).
      </p>
      <dl class="figures">
        <dt>Started with</dt><dd>{amount(report.startingAmount)}</dd>
        <dt>Ended with</dt><dd data-testid="backtest-final">{amount(report.finalEquity)}</dd>
        <dt>PnL</dt><dd data-testid="backtest-pnl">{amount(report.pnl)}</dd>
        <dt>Max drawdown</dt><dd>{(report.maxDrawdown * 100).toFixed(2)}%</dd>
        <dt>Trades</dt><dd>{report.trades}</dd>
        <dt>Fees paid</dt><dd>{byTime ? `${units(report.feesPaid || "0", decimals)} (USDC)` : `${units(report.feesPaid || "0", 18)} (native)`}</dd>
        <dt>Refused by policy</dt>
        <dd>{refusals.length === 0 ? "none" : refusals.map(([rule, count]) => `${shown(rule)} ×${count}`).join(", ")}</dd>
      </dl>
      {report.liveHosts.length > 0 && (
        <p role="alert" data-testid="backtest-live-hosts">
          The agent fetched from {report.liveHosts.map((host) => shown(host)).join(", ")} during the backtest: what it read there was
          today's, not each step's, so these figures may have seen the future.
        </p>
      )}
      <table>
        <caption>Equity at each step, in the starting asset</caption>
        <thead><tr><th scope="col">Step</th><th scope="col">Block</th><th scope="col">Block time</th><th scope="col">Equity</th></tr></thead>
        <tbody>
          {report.steps.map((step) => (
            <tr key={`${step.step}-${step.afterLastRun}`}>
              <td>{step.afterLastRun ? "final" : step.step}</td><td>{byTime ? "—" : String(step.block)}</td><td>{when(step.blockTime, true)}</td>
              <td>{step.equity ? units(step.equity, decimals) : `not valued (${step.unvaluedAssets.map((a) => shown(a)).join(", ")})`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const OUTCOME_NAMES: Record<number, string> = {
  [ShadowOutcome.SAME]: "same actions",
  [ShadowOutcome.DIFFERENT]: "different",
  [ShadowOutcome.PARTIAL]: "same, as far as the recording went",
  [ShadowOutcome.FAILED]: "not compared",
};

export function ShadowRuns({ api, session, version }: { api: Api; session: Session; version: number }) {
  const [runs, setRuns] = useState<ShadowRun[]>([]);
  const [error, setError] = useState("");
  useEffect(() => whileCurrent(api.listShadowRuns({ sessionId: session.id, pageSize: 20 }),
    (answer) => { setRuns(answer.shadowRuns); setError(""); }, (refused) => setError(problem(refused))), [api, session.id, version]);
  if (error) return <p role="alert" class="error">{error}</p>;
  return (
    <div data-testid="shadow-runs">
      <p>
        Agent {String(session.shadowAgentId)} is replayed on each execution's recording (no network, chain or signer: its
        actions are compared, never carried out).
      </p>
      {runs.length === 0 ? <p>No shadow run yet.</p> : (
        <ol class="shadow-runs" aria-label="Shadow runs">
          {runs.map((run) => (
            <li key={String(run.id)} data-testid={`shadow-run-${run.executionId}`}>
              <span class="muted">{when(run.finishedAt)}</span> Execution {String(run.executionId)}:{" "}
              <strong>{OUTCOME_NAMES[run.outcome] ?? label(ShadowOutcome, run.outcome, "SHADOW_OUTCOME_")}</strong>
              {run.outcome !== ShadowOutcome.FAILED && <> ({run.recordedActions} action(s) recorded, {run.replayedActions} by the shadow)</>}
              {run.error && <span class="error"> {shown(clipped(run.error, 500))}</span>}
              {run.missingReads.length > 0 && <span class="muted"> · reads the recording lacks: {run.missingReads.map((r) => shown(r)).join(", ")}</span>}
              {run.difference.length > 0 && <pre class="difference">{run.difference.map((line) => shown(line)).join("\n")}</pre>}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
