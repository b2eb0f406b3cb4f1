// Corral's reference console: only the public API, as any frontend builder would use it.
// Sign in with an API key; the caller's roles decide what is offered (GetCaller). One
// WatchEvents stream keeps every view current and resumes from its last event id.
import { render } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import { apiFor, may, problem, requestId, type Api, type Caller } from "./api";
import { shown, clipped } from "./text";
import { Agents } from "./agents";
import { Platform } from "./platform";
import { ExecutionMode } from "./gen/corral/v1/common_pb";
import {
  EventKind, ExecutionStatus, SessionStatus, SuggestionKind, SuggestionStatus,
  type Event as PlatformEvent, type Execution, type ExecutionLog, type Session, type Suggestion,
} from "./gen/corral/v1/orchestrator_pb";

const KEY_STORAGE = "corral.console.key";  // this tab only: closing it signs out

function label(values: Record<string, string | number>, value: number, prefix: string): string {
  const name = Object.entries(values).find(([, v]) => v === value)?.[0] ?? String(value);
  return name.replace(prefix, "").toLowerCase();
}

function SignIn({ onSignedIn }: { onSignedIn: (key: string, caller: Caller) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState("");
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const answer = await apiFor(key.trim()).getCaller({});
      onSignedIn(key.trim(), { name: answer.name, roles: new Set(answer.roles) });
    } catch (refused) {
      setError(problem(refused));
    }
  };
  return (
    <form class="sign-in" onSubmit={submit} aria-label="Sign in">
      <h1>Corral console</h1>
      <label for="api-key">API key (from <code>corral user add</code>)</label>
      <input id="api-key" type="password" autocomplete="off" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
      <button type="submit">Sign in</button>
      {error && <p role="alert" class="error">{error}</p>}
    </form>
  );
}

// Events kept for the platform page's "who did what" (log lines left out).
const RECENT_EVENTS = 50;

function useLive(api: Api): { version: number; events: PlatformEvent[] } {
  // `version` moves whenever the platform reports a change the caller may see.
  const [live, setLive] = useState<{ version: number; events: PlatformEvent[] }>({ version: 0, events: [] });
  useEffect(() => {
    const stop = new AbortController();
    let after = 0n;
    (async () => {
      for (let attempt = 0; !stop.signal.aborted; attempt++) {
        try {
          for await (const event of api.watchEvents({ afterEventId: after, heartbeatSeconds: 15 }, { signal: stop.signal })) {
            attempt = 0;
            if (event.object.case === "heartbeat") continue;
            after = event.id;
            setLive(({ version, events }) => ({
              version: version + 1,
              events: event.kind === EventKind.LOG ? events : [event, ...events].slice(0, RECENT_EVENTS),
            }));
          }
        } catch {
          // The stream ended (a restart, the network): resume from the last id after a pause.
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 15_000)));
      }
    })();
    return () => stop.abort();
  }, [api]);
  return live;
}

function Sessions({ api, version, selected, onSelect }: {
  api: Api; version: number; selected: bigint | null; onSelect: (id: bigint) => void;
}) {
  const [sessions, setSessions] = useState<Session[]>([]);
  const [pages, setPages] = useState<string[]>([""]);
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const page = pages[pages.length - 1];
  useEffect(() => {
    api.listSessions({ pageSize: 25, pageToken: page })
      .then((answer) => { setSessions(answer.sessions); setNext(answer.nextPageToken); setError(""); })
      .catch((refused) => setError(problem(refused)));
  }, [api, page, version]);
  return (
    <section aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Sessions</h2>
      {error && <p role="alert" class="error">{error}</p>}
      <table>
        <thead><tr><th scope="col">id</th><th scope="col">agent</th><th scope="col">wallet</th><th scope="col">status</th><th scope="col">mode</th></tr></thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={String(s.id)} class={s.id === selected ? "selected" : ""}>
              <td><button class="link" onClick={() => onSelect(s.id)}>session {String(s.id)}</button></td>
              <td>{String(s.agentId)}</td>
              <td><code>{s.walletAddress}</code></td>
              <td data-testid={`status-${s.id}`}>{label(SessionStatus, s.status, "SESSION_STATUS_")}</td>
              <td>{label(ExecutionMode, s.executionMode, "EXECUTION_MODE_")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav aria-label="Session pages">
        <button disabled={pages.length === 1} onClick={() => setPages(pages.slice(0, -1))}>Previous</button>
        <button disabled={!next} onClick={() => setPages([...pages, next])}>Next</button>
      </nav>
    </section>
  );
}

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

// The order a person reads a transaction in; other keys follow alphabetically, `data` last.
const PREVIEW_ORDER = ["network", "messageType", "chainId", "from", "to", "value", "domain", "primaryType", "simulation"];

function previewOrder([a]: [string, unknown], [b]: [string, unknown]): number {
  const rank = (key: string) => (key === "data" ? 1000 : PREVIEW_ORDER.indexOf(key) >= 0 ? PREVIEW_ORDER.indexOf(key) : 100);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function asText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function SuggestionCard({ api, caller, suggestion }: { api: Api; caller: Caller; suggestion: Suggestion }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const decide = async (approve: boolean) => {
    setBusy(true);
    setError("");
    try {
      const request = { suggestionId: suggestion.id, requestId: requestId() };
      await (approve ? api.approveSuggestion(request) : api.rejectSuggestion(request));
    } catch (refused) {
      setError(problem(refused));
    } finally {
      setBusy(false);
    }
  };
  // The platform's preview first, in a fixed order. For a message to sign, `message` is what
  // gets signed (shown whole); for everything else it is the agent's own note, shown last.
  const { message, ...preview } = (suggestion.details ?? {}) as Record<string, unknown>;
  const signs = suggestion.kind === SuggestionKind.MESSAGE;
  return (
    <article class="suggestion" aria-label={`Suggestion ${suggestion.id}`}>
      <h4>
        Suggestion {String(suggestion.id)}: {label(SuggestionKind, suggestion.kind, "SUGGESTION_KIND_")},{" "}
        {label(SuggestionStatus, suggestion.status, "SUGGESTION_STATUS_")}
        {suggestion.expiresAt && <span class="muted"> (expires {new Date(Number(suggestion.expiresAt.seconds) * 1000).toLocaleTimeString()})</span>}
      </h4>
      <dl class="preview">
        {Object.entries(preview).sort(previewOrder).map(([name, value]) => (
          <div key={name}><dt>{shown(name)}</dt><dd><code>{shown(clipped(asText(value), name === "data" ? 4000 : 20_000), true)}</code></dd></div>
        ))}
        {signs && message !== undefined && (
          <div><dt>signs exactly</dt><dd><pre>{shown(asText(message), true)}</pre></dd></div>
        )}
      </dl>
      {!signs && typeof message === "string" && message && (
        <p class="agent-text"><span class="muted">The agent says (unverified):</span> {shown(clipped(message, 2000))}</p>
      )}
      {suggestion.status === SuggestionStatus.PENDING && may.approve(caller) && (
        <div class="actions">
          <button disabled={busy} onClick={() => decide(true)}>Approve</button>
          <button disabled={busy} onClick={() => decide(false)}>Reject</button>
        </div>
      )}
      {error && <p role="alert" class="error">{error}</p>}
    </article>
  );
}

function SessionDetail({ api, caller, sessionId, version }: { api: Api; caller: Caller; sessionId: bigint; version: number }) {
  const [session, setSession] = useState<Session | null>(null);
  const [executions, setExecutions] = useState<Execution[]>([]);
  const [suggestions, setSuggestions] = useState<Suggestion[]>([]);
  const [error, setError] = useState("");
  useEffect(() => {
    Promise.all([
      api.getSession({ sessionId }),
      api.listExecutions({ sessionId, pageSize: 20 }),
      api.listSuggestions({ sessionId, pageSize: 20 }),
    ]).then(([got, listed, suggested]) => {
      setSession(got.session ?? null);
      setExecutions(listed.executions);
      setSuggestions(suggested.suggestions);
      setError("");
    }).catch((refused) => setError(problem(refused)));
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
  return (
    <section aria-labelledby="detail-heading" class="detail">
      <h2 id="detail-heading">Session {String(session.id)}</h2>
      <p>
        Status <strong data-testid="detail-status">{label(SessionStatus, session.status, "SESSION_STATUS_")}</strong>
        {session.statusReason && <span>: {shown(session.statusReason)}</span>}
      </p>
      {may.operate(caller) && (
        <div class="actions">
          {session.status === SessionStatus.RUNNING && <button onClick={() => act("pause")}>Pause</button>}
          {session.status === SessionStatus.PAUSED && <button onClick={() => act("resume")}>Resume</button>}
          {session.status !== SessionStatus.STOPPED && <button onClick={() => act("stop")}>Stop</button>}
        </div>
      )}
      {error && <p role="alert" class="error">{error}</p>}
      <h3>Positions</h3>
      <ul>{session.positions.map((p) => <li key={`${p.network}-${p.assetAddress}`}><code>{p.network} {p.assetAddress}</code>: {p.currentQty}</li>)}</ul>
      <h3>Suggestions</h3>
      {suggestions.length === 0 ? <p>None.</p> : suggestions.map((s) => <SuggestionCard key={String(s.id)} api={api} caller={caller} suggestion={s} />)}
      <h3>Executions</h3>
      <ol class="executions">
        {executions.map((e) => (
          <li key={String(e.id)}>
            Execution {String(e.id)}: {label(ExecutionStatus, e.status, "EXECUTION_STATUS_")}
            {e.error && <span class="error"> {shown(clipped(e.error, 500))}</span>}
            <Logs api={api} execution={e} />
          </li>
        ))}
      </ol>
    </section>
  );
}

function App() {
  const [key, setKey] = useState<string | null>(() => sessionStorage.getItem(KEY_STORAGE));
  const [caller, setCaller] = useState<Caller | null>(null);
  const [selected, setSelected] = useState<bigint | null>(null);
  // One client per key: a new one on every render would restart the event stream each time.
  const api = useMemo(() => (key ? apiFor(key) : null), [key]);
  useEffect(() => {
    if (key && !caller) {
      apiFor(key).getCaller({})
        .then((answer) => setCaller({ name: answer.name, roles: new Set(answer.roles) }))
        .catch((refused) => {  // a revoked key signs out; a network blip does not
          if (ConnectError.from(refused).code === Code.Unauthenticated) { sessionStorage.removeItem(KEY_STORAGE); setKey(null); }
        });
    }
  }, [key]);
  if (!key || !caller || !api) {
    return <SignIn onSignedIn={(k, c) => { sessionStorage.setItem(KEY_STORAGE, k); setKey(k); setCaller(c); }} />;
  }
  return <SignedIn api={api} caller={caller} selected={selected} onSelect={setSelected}
                   onSignOut={() => { sessionStorage.removeItem(KEY_STORAGE); setKey(null); setCaller(null); }} />;
}

type View = "sessions" | "agents" | "platform";

function SignedIn({ api, caller, selected, onSelect, onSignOut }: {
  api: Api; caller: Caller; selected: bigint | null; onSelect: (id: bigint) => void; onSignOut: () => void;
}) {
  const { version, events } = useLive(api);
  const [view, setView] = useState<View>("sessions");
  const tab = (name: View, title: string) => (
    <button class="tab" aria-current={view === name ? "page" : undefined} onClick={() => setView(name)}>{title}</button>
  );
  return (
    <div>
      <header>
        <h1>Corral console</h1>
        <p>Signed in as <strong data-testid="caller">{shown(caller.name)}</strong> <button onClick={onSignOut}>Sign out</button></p>
      </header>
      <nav aria-label="Views" class="tabs">{tab("sessions", "Sessions")}{tab("agents", "Agents")}{tab("platform", "Platform")}</nav>
      {view === "sessions" && <>
        <Sessions api={api} version={version} selected={selected} onSelect={onSelect} />
        {selected !== null && <SessionDetail api={api} caller={caller} sessionId={selected} version={version} />}
      </>}
      {view === "agents" && <Agents api={api} caller={caller} onStarted={(id) => { onSelect(id); setView("sessions"); }} />}
      {view === "platform" && <Platform api={api} caller={caller} events={events} version={version} />}
    </div>
  );
}

const root = document.getElementById("app")!;
root.textContent = "";  // the static "Loading" line
render(<App />, root);
