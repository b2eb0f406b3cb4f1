// Corral's reference console: only the public API, as any frontend builder would use it.
// Sign in with an API key; the caller's roles decide what is offered (GetCaller). One
// WatchEvents stream keeps every view current and resumes from its last event id.
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import { apiFor, problem, type Api, type Caller } from "./api";
import { shown } from "./text";
import { useLive } from "./live";
import { Sessions } from "./sessions";
import { SessionDetail } from "./session";
import { Agents } from "./agents";
import { Platform } from "./platform";

const KEY_STORAGE = "corral.console.key";  // this tab only: closing it signs out

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
        {selected !== null && <SessionDetail key={String(selected)} api={api} caller={caller} sessionId={selected} version={version} />}
      </>}
      {view === "agents" && <Agents api={api} caller={caller} onStarted={(id) => { onSelect(id); setView("sessions"); }} />}
      {view === "platform" && <Platform api={api} caller={caller} events={events} version={version} />}
    </div>
  );
}

const root = document.getElementById("app")!;
root.textContent = "";  // the static "Loading" line
render(<App />, root);
