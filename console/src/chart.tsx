// What a session held of one asset over time, as a step chart (GetPositionHistory): a value
// holds until the next settled transaction changes it. Plain SVG with presentation attributes
// (the CSP allows no inline style), and its numbers in a text summary for screen readers.
import { useEffect, useState } from "preact/hooks";
import { problem, whileCurrent, type Api } from "./api";
import { assetName, nativeDecimals, units, when } from "./format";
import { shown } from "./text";
import type { GetPositionHistoryResponse, PositionSample, Session, SessionSummary } from "./gen/corral/v1/orchestrator_pb";

const WIDTH = 640;
const HEIGHT = 180;
const PAD = { left: 8, right: 8, top: 12, bottom: 12 };

function assetKey(sample: { network: string; assetAddress: string }): string {
  return `${sample.network} ${sample.assetAddress.toLowerCase()}`;
}

function seconds(sample: PositionSample, fallback: number): number {
  return sample.at ? Number(sample.at.seconds) : fallback;
}

export function HoldingsChart({ api, session, summary }: { api: Api; session: Session; summary: SessionSummary }) {
  const [history, setHistory] = useState<GetPositionHistoryResponse | null>(null);
  const [chosen, setChosen] = useState("");
  const [error, setError] = useState("");
  // Reloaded when what the session holds changes (a settled transaction), not on every event.
  const holdings = summary.positions.map((p) => `${p.network} ${p.assetAddress} ${p.amount}`).join(",") + summary.fees.map((f) => f.amount).join(",");
  useEffect(() => whileCurrent(api.getPositionHistory({ sessionId: session.id, maxTransactions: 200 }),
    (answer) => { setHistory(answer); setError(""); }, (refused) => setError(problem(refused))), [api, session.id, holdings]);
  if (error) return <p role="alert" class="error">{error}</p>;
  if (!history) return null;
  const assets = history.start.map(assetKey);
  const asset = assets.includes(chosen) ? chosen : assets[0];
  const start = history.start.find((s) => assetKey(s) === asset);
  const token = summary.positions.find((p) => assetKey(p) === asset)?.token;
  const decimals = token?.decimals ?? nativeDecimals(start?.assetAddress ?? "");
  const toNumber = (amount: string) => Number(units(amount, decimals ?? 0));
  const begin = history.complete && session.createdAt ? Number(session.createdAt.seconds)
    : history.samples.length ? seconds(history.samples[0], 0) : Date.now() / 1000;
  const end = Math.max(Date.now() / 1000, begin + 1);
  const points: [number, number, string][] = [[begin, toNumber(start?.amount ?? "0"), start?.amount ?? "0"]];
  for (const sample of history.samples.filter((s) => assetKey(s) === asset)) {
    points.push([seconds(sample, begin), toNumber(sample.amount), sample.amount]);
  }
  const values = points.map(([, value]) => value);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const x = (t: number) => PAD.left + ((t - begin) / (end - begin)) * (WIDTH - PAD.left - PAD.right);
  const y = (v: number) => HEIGHT - PAD.bottom - (high === low ? 0.5 : (v - low) / (high - low)) * (HEIGHT - PAD.top - PAD.bottom);
  let path = `M ${x(points[0][0]).toFixed(1)} ${y(points[0][1]).toFixed(1)}`;
  for (const [t, v] of points.slice(1)) path += ` H ${x(t).toFixed(1)} V ${y(v).toFixed(1)}`;
  path += ` H ${x(end).toFixed(1)}`;
  const symbol = shown(assetName(start?.assetAddress ?? "", token?.symbol));
  const last = points[points.length - 1];
  const number = (value: number) => value.toLocaleString(undefined, { maximumSignificantDigits: 8 });
  const described = `holds ${units(last[2], decimals)} ${symbol} now; between ${number(low)} and ${number(high)} over ${points.length - 1} change(s)`;
  return (
    <figure class="chart">
      {assets.length > 1 && (
        <p>
          <label for="chart-asset">Asset </label>
          <select id="chart-asset" value={asset} onChange={(e) => setChosen(e.currentTarget.value)}>
            {history.start.map((s) => <option key={assetKey(s)} value={assetKey(s)}>{s.network} {shown(assetName(s.assetAddress))}</option>)}
          </select>
        </p>
      )}
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width={WIDTH} height={HEIGHT} role="img" aria-label={`Holdings over time: ${described}`}>
        <rect x="0" y="0" width={WIDTH} height={HEIGHT} fill="#f6f8fa" />
        <path d={path} fill="none" stroke="#0b5cad" stroke-width="2" data-testid="holdings-line" />
        {points.slice(1).map(([t, v], index) => <circle key={index} cx={x(t)} cy={y(v)} r="3" fill="#0b5cad" />)}
      </svg>
      <figcaption class="muted" data-testid="chart-caption">
        {start?.network} {symbol}: {units(last[2], decimals)} now, from {units(points[0][2], decimals)} at{" "}
        {new Date(begin * 1000).toLocaleString()}; {points.length - 1} change(s) shown
        {!history.complete && <> (its newest transactions only)</>}
        {history.samples.length > 0 && <> · last change {when(history.samples[history.samples.length - 1].at)}</>}
      </figcaption>
    </figure>
  );
}
