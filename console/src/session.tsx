// One session: its status and what may be done to it (pause, resume, unwind chosen positions,
// update its settings, stop), what it holds and its PnL and fees (GetSessionSummary), its
// transactions, suggestions, a backtest's report, its shadow runs and the executions timeline
// with paged logs. Everything reloads when the live stream moves.
import { useCallback, useEffect, useState } from "preact/hooks";
import { may, problem, requestId, whileCurrent, type Api, type Caller } from "./api";
import { assetName, label, units, when } from "./format";
import { shown, clipped } from "./text";
import { ModeField, SettingInputs, MODE_NAMES } from "./settings-form";
import { SuggestionCard } from "./suggestion";
import { Transactions } from "./transactions";
import { HoldingsChart } from "./chart";
import { BacktestReport, ShadowRuns } from "./evaluation";
import { ExecutionMode } from "./gen/corral/v1/common_pb";
import {
  ExecutionStatus, SessionStatus,
  type Agent, type Execution, type ExecutionLog, type Session, type SessionSummary, type Suggestion,
} from "./gen/corral/v1/orchestrator_pb";

function Logs({ api, execution }: { api: Api; execution: Execution }) {
  const [logs, setLogs] = useState<ExecutionLog[] | null>(null);
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const more = async (token: string) => {
    try {
      const answer = await api.getExecutionLogs({ executionId: execution.id, pageSize: 200, pageToken: token });
      setLogs((shownSoFar) => [...(token ? shownSoFar ?? [] : []), ...answer.logs]);
      setNext(answer.nextPageToken);
    } catch (refused) {
      setError(problem(refused));
    }
  };
  if (logs === null) return <>{error && <p role="alert" class="error">{error}</p>}<button onClick={() => more("")}>Show logs</button></>;
  return (
    <div>
      {error && <p role="alert" class="error">{error}</p>}
      <pre class="logs">{logs.map((line) => `${line.level.padEnd(5)} ${shown(clipped(line.message, 2000))}\n`).join("")}</pre>
      {next && <button onClick={() => more(next)}>More log lines</button>}
    </div>
  );
}

function Summary({ summary }: { summary: SessionSummary }) {
  const starting = summary.startingAsset;
  const startingToken = summary.positions.find((p) => p.network === starting?.network && p.assetAddress === starting?.assetAddress)?.token;
  const symbol = (token: { symbol?: string } | undefined, address: string) => <span title={address}>{shown(assetName(address, token?.symbol))}</span>;
  return (
    <div class="summary">
      <table aria-label="Positions">
        <thead><tr><th scope="col">network</th><th scope="col">asset</th><th scope="col">holds</th><th scope="col">USD</th></tr></thead>
        <tbody>
          {summary.positions.map((p) => (
            <tr key={`${p.network}-${p.assetAddress}`}>
              <td>{p.network}</td><td>{symbol(p.token, p.assetAddress)}</td>
              <td data-testid="holding">{units(p.amount, p.token?.decimals)}</td><td>{p.usdValue ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        PnL on the starting asset: <strong data-testid="pnl">{units(summary.realisedPnl, startingToken?.decimals)}</strong>
        {startingToken?.symbol && <> {shown(startingToken.symbol)}</>}
        {summary.realisedPnlUsd && <> (USD {summary.realisedPnlUsd})</>}
        {" "}of an allocation of {units(summary.allocation, startingToken?.decimals)}
        {summary.hasPendingTransactions && <span class="muted"> · a transaction is in flight: these move when it settles</span>}
      </p>
      {summary.fees.length > 0 && (
        <p>Fees paid: {summary.fees.map((f) => `${units(f.amount, f.token?.decimals)} ${f.token?.symbol ?? ""} on ${f.network}`).join(", ")}</p>
      )}
    </div>
  );
}

function UnwindForm({ api, session, onDone }: { api: Api; session: Session; onDone: () => void }) {
  // The positions as they were when chosen: sent as they are, even if one has since gone (the
  // API then refuses it), never narrowed to an empty list, which would mean "all of them".
  const [chosen, setChosen] = useState<Map<string, { network: string; assetAddress: string }>>(new Map());
  const [error, setError] = useState("");
  const key = (network: string, asset: string) => `${network} ${asset}`;
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const positions = [...chosen.values()];
      await api.unwindSession({ sessionId: session.id, positions, requestId: requestId() });
      onDone();
    } catch (refused) {
      setError(problem(refused));
    }
  };
  return (
    <form class="unwind" onSubmit={submit} aria-label="Unwind positions">
      <fieldset>
        <legend>Positions the agent's unwind() closes (none chosen: all of them)</legend>
        {session.positions.map((p, index) => (
          <label key={key(p.network, p.assetAddress)} for={`unwind-${index}`}>
            <input id={`unwind-${index}`} type="checkbox" checked={chosen.has(key(p.network, p.assetAddress))}
                   onChange={(e) => {
                     const next = new Map(chosen);
                     if (e.currentTarget.checked) next.set(key(p.network, p.assetAddress), { network: p.network, assetAddress: p.assetAddress });
                     else next.delete(key(p.network, p.assetAddress));
                     setChosen(next);
                   }} /> <code>{p.network} {p.assetAddress}</code>: {p.currentQty}
          </label>
        ))}
      </fieldset>
      <button type="submit" class="danger">Unwind {chosen.size ? `${chosen.size} position(s)` : "everything"}</button>
      <button type="button" onClick={onDone}>Cancel</button>
      {error && <p role="alert" class="error">{error}</p>}
    </form>
  );
}

function UpdateForm({ api, caller, session, onDone }: { api: Api; caller: Caller; session: Session; onDone: () => void }) {
  const [agent, setAgent] = useState<Agent | null>(null);
  const [values, setValues] = useState<Record<string, string>>({ ...session.settings });
  const [mode, setMode] = useState<ExecutionMode>(session.executionMode);
  const [error, setError] = useState("");
  useEffect(() => {
    return whileCurrent(api.getAgent({ agentId: session.agentId }), (answer) => setAgent(answer.agent ?? null), (refused) => setError(problem(refused)));
  }, [api, session.agentId]);
  if (!agent) return error ? <p role="alert" class="error">{error}</p> : <p>Loading the agent's settings…</p>;
  // Auto mode approves every action in advance: the API gives it to approvers only.
  const modes = agent.allowedExecutionModes.filter((m) => m !== ExecutionMode.AUTO || may.approve(caller) || m === session.executionMode);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError("");
    const settings = Object.fromEntries(Object.entries(values).filter(([, value]) => value !== ""));
    try {
      await api.updateSession({
        session: { id: session.id, settings, executionMode: mode },
        updateMask: { paths: mode === session.executionMode ? ["settings"] : ["settings", "execution_mode"] },
        requestId: requestId(),
      });
      onDone();
    } catch (refused) {
      setError(problem(refused));
    }
  };
  return (
    <form class="update" onSubmit={submit} aria-label="Update the session">
      <ModeField id="update-mode" modes={modes} mode={mode} onChange={setMode} />
      <SettingInputs settings={agent.settings} values={values} onChange={setValues} idPrefix="update-setting" />
      <p class="muted">A setting left empty takes the agent's default. A run already under way keeps what it started with.</p>
      <button type="submit">Save settings</button>
      <button type="button" onClick={onDone}>Cancel</button>
      {error && <p role="alert" class="error">{error}</p>}
    </form>
  );
}

type Editing = "none" | "unwind" | "update";

export function SessionDetail({ api, caller, sessionId, version }: { api: Api; caller: Caller; sessionId: bigint; version: number }) {
  const [session, setSession] = useState<Session | null>(null);
  const [summary, setSummary] = useState<SessionSummary | null>(null);
  const [executions, setExecutions] = useState<Execution[]>([]);
  const [suggestions, setSuggestions] = useState<Suggestion[]>([]);
  const [editing, setEditing] = useState<Editing>("none");
  const [error, setError] = useState("");
  useEffect(() => {
    return whileCurrent(Promise.all([
      api.getSession({ sessionId }),
      api.listExecutions({ sessionId, pageSize: 20 }),
      api.listSuggestions({ sessionId, pageSize: 20 }),
      api.getSessionSummary({ sessionId }),
    ]), ([got, listed, suggested, summarised]) => {
      setSession(got.session ?? null);
      setExecutions(listed.executions);
      setSuggestions(suggested.suggestions);
      setSummary(summarised.summary ?? null);
      setError("");
    }, (refused) => setError(problem(refused)));
  }, [api, sessionId, version]);
  const act = useCallback(async (action: "pause" | "resume" | "stop") => {
    try {
      const request = { sessionId, requestId: requestId() };
      if (action === "pause") await api.pauseSession(request);
      else if (action === "resume") await api.resumeSession(request);
      else if (window.confirm(`Stop session ${sessionId}? Its memory is cleared and it cannot be resumed.`)) await api.stopSession(request);
    } catch (refused) {
      setError(problem(refused));
    }
  }, [api, sessionId]);
  if (!session) return error ? <p role="alert" class="error">{error}</p> : <p>Loading session {String(sessionId)}…</p>;
  const live = session.status === SessionStatus.RUNNING || session.status === SessionStatus.PAUSED;
  return (
    <section aria-labelledby="detail-heading" class="detail">
      <h2 id="detail-heading">Session {String(session.id)}{session.paperOfWalletAddress && <> <span class="paper">paper</span></>}</h2>
      {session.paperOfWalletAddress && (
        <p data-testid="paper-note">
          On paper for <code>{session.paperOfWalletAddress}</code>:{" "}
          {session.paperForkBlock
            ? <>a fork of {shown(session.allocation?.network ?? "")} taken at block {String(session.paperForkBlock)}</>
            : <>a paper account on {shown(session.allocation?.network ?? "")}</>}
          , with the throwaway wallet <code>{session.walletAddress}</code> under a copy of that wallet's policy; venue orders fill
          against the venues' live books on paper accounts. Nothing it does reaches the real chain or a venue.
        </p>
      )}
      <p>
        Status <strong data-testid="detail-status">{label(SessionStatus, session.status, "SESSION_STATUS_")}</strong>
        {session.statusReason && <span>: {shown(session.statusReason)}</span>}
        {" "}· {MODE_NAMES[session.executionMode] ?? "mode unknown"} mode
        {session.nextRunAt && session.status === SessionStatus.RUNNING && <span class="muted"> · next run {when(session.nextRunAt)}</span>}
      </p>
      {may.operate(caller) && (
        <div class="actions">
          {session.status === SessionStatus.RUNNING && <button onClick={() => act("pause")}>Pause</button>}
          {session.status === SessionStatus.PAUSED && <button onClick={() => act("resume")}>Resume</button>}
          {live && <button onClick={() => setEditing("unwind")}>Unwind…</button>}
          {live && <button onClick={() => setEditing("update")}>Update settings…</button>}
          {session.status !== SessionStatus.STOPPED && <button onClick={() => act("stop")}>Stop</button>}
        </div>
      )}
      {error && <p role="alert" class="error">{error}</p>}
      {editing === "unwind" && <UnwindForm api={api} session={session} onDone={() => setEditing("none")} />}
      {editing === "update" && <UpdateForm api={api} caller={caller} session={session} onDone={() => setEditing("none")} />}
      <h3>Holdings</h3>
      {summary ? <><Summary summary={summary} /><HoldingsChart api={api} session={session} summary={summary} /></> : <p>…</p>}
      {session.backtest && <><h3>Backtest</h3><BacktestReport api={api} session={session} version={version} /></>}
      <h3>Transactions</h3>
      <Transactions api={api} sessionId={session.id} version={version} />
      <h3>Suggestions</h3>
      {suggestions.length === 0 ? <p>None.</p> : suggestions.map((s) => <SuggestionCard key={String(s.id)} api={api} caller={caller} suggestion={s} />)}
      {session.shadowAgentId > 0n && <><h3>Shadow version</h3><ShadowRuns api={api} session={session} version={version} /></>}
      <h3>Executions</h3>
      <ol class="executions" aria-label="Executions">
        {executions.map((e) => (
          <li key={String(e.id)} data-testid={`execution-${e.id}`}>
            <span class="muted">{when(e.startedAt)}{e.finishedAt && <>–{when(e.finishedAt)}</>}</span>{" "}
            Execution {String(e.id)}: {label(ExecutionStatus, e.status, "EXECUTION_STATUS_")}
            {e.error && <span class="error"> {shown(clipped(e.error, 500))}</span>}
            <Logs api={api} execution={e} />
          </li>
        ))}
      </ol>
    </section>
  );
}
