// The agent catalogue and the start-session form, generated from each agent's settings schema.
// The form checks only that required fields are filled: every other check is the API's, and its
// refusal (naming the setting and the fix) is shown as it came, so the console never disagrees
// with the platform about what is valid.
import { useEffect, useState } from "preact/hooks";
import { may, problem, requestId, whileCurrent, type Api, type Caller } from "./api";
import { shown, clipped } from "./text";
import { ModeField, SettingInputs, MODE_NAMES } from "./settings-form";
import { ExecutionMode } from "./gen/corral/v1/common_pb";
import type { Agent, Wallet } from "./gen/corral/v1/orchestrator_pb";

function StartForm({ api, caller, agent, onStarted }: { api: Api; caller: Caller; agent: Agent; onStarted: (id: bigint) => void }) {
  // Auto mode approves every action in advance: the API gives it to approvers only.
  const modes = agent.allowedExecutionModes.filter((m) => m !== ExecutionMode.AUTO || may.approve(caller));
  // Until the caller's wallets are read, nothing is offered to start on (a start sent meanwhile
  // would name no wallet).
  const [wallets, setWallets] = useState<Wallet[] | null>(null);
  const [wallet, setWallet] = useState("");
  const [mode, setMode] = useState<ExecutionMode>(modes[0] ?? ExecutionMode.MANUAL);
  const [allocation, setAllocation] = useState("");
  const [settings, setSettings] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  useEffect(() => {
    api.listWallets({}).then((answer) => {
      const usable = answer.wallets.filter((w) => w.walletType === agent.walletType);
      setWallets(usable);
      setWallet(usable[0]?.address ?? "");
    }).catch((refused) => setError(problem(refused)));
  }, [api, agent.id]);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError("");
    const given = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== ""));
    try {
      const answer = await api.startSession({
        agentId: agent.id, walletAddress: wallet, executionMode: mode, settings: given, requestId: requestId(),
        ...(allocation ? { allocationAmount: allocation } : {}),
      });
      onStarted(answer.session!.id);
    } catch (refused) {
      setError(problem(refused));
    }
  };
  return (
    <form class="start" onSubmit={submit} aria-label={`Start a session of ${agent.name}`}>
      <div class="field">
        <label for="start-wallet">Wallet</label>
        <select id="start-wallet" value={wallet} onChange={(e) => setWallet(e.currentTarget.value)}>
          {(wallets ?? []).map((w) => <option key={w.address} value={w.address}>{w.address}</option>)}
        </select>
        {wallets !== null && wallets.length === 0 && <p class="muted">No {agent.walletType} wallet of yours for this agent.</p>}
      </div>
      <ModeField id="start-mode" modes={modes} mode={mode} onChange={setMode} />
      <div class="field">
        <label for="start-allocation">Allocation (smallest units of the starting asset)</label>
        <input id="start-allocation" type="text" inputMode="numeric" value={allocation} onInput={(e) => setAllocation(e.currentTarget.value)} />
      </div>
      <SettingInputs settings={agent.settings} values={settings} onChange={setSettings} idPrefix="setting" />
      <button type="submit" disabled={!wallet}>{wallets === null ? "Reading your wallets…" : "Start session"}</button>
      {error && <p role="alert" class="error">{error}</p>}
    </form>
  );
}

// Admins register an agent by its image, as `corral agent register` does: the platform
// inspects the image and reads its circuit.toml and DESCRIPTION.md; its refusal is shown as it came.
function RegisterForm({ api, onRegistered }: { api: Api; onRegistered: (agent: Agent) => void }) {
  const [image, setImage] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      const answer = await api.registerAgent({ image: image.trim(), requestId: requestId() });
      setImage("");
      onRegistered(answer.agent!);
    } catch (refused) {
      setError(problem(refused));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="register" onSubmit={submit} aria-label="Register an agent">
      <div class="field">
        <label for="register-image">Agent image (a reference the Docker engine knows, e.g. <code>my-agent:1.2.0</code>)</label>
        <input id="register-image" type="text" value={image} required onInput={(e) => setImage(e.currentTarget.value)} />
      </div>
      <button type="submit" disabled={busy || !image.trim()}>Register</button>
      {error && <p role="alert" class="error">{error}</p>}
    </form>
  );
}

export function Agents({ api, caller, onStarted }: { api: Api; caller: Caller; onStarted: (id: bigint) => void }) {
  const [agents, setAgents] = useState<Agent[]>([]);
  const [next, setNext] = useState("");
  const [starting, setStarting] = useState<bigint | null>(null);
  const [registered, setRegistered] = useState<Agent | null>(null);
  const [error, setError] = useState("");
  const load = (token: string) => whileCurrent(api.listAgents({ pageSize: 50, pageToken: token }),
    (answer) => { setAgents((before) => [...(token ? before : []), ...answer.agents]); setNext(answer.nextPageToken); setError(""); },
    (refused) => setError(problem(refused)));
  useEffect(() => load(""), [api, registered]);
  return (
    <section aria-labelledby="agents-heading">
      <h2 id="agents-heading">Agents</h2>
      {error && <p role="alert" class="error">{error}</p>}
      {may.administer(caller) && <RegisterForm api={api} onRegistered={setRegistered} />}
      {registered && <p role="status">Registered {shown(registered.name)} {shown(registered.version)} as agent {String(registered.id)}.</p>}
      {agents.map((agent) => (
        <article key={String(agent.id)} class="agent" aria-label={`Agent ${shown(agent.name)}`}>
          <h3>{shown(agent.name)} <span class="muted">{shown(agent.version)}</span></h3>
          {agent.summary && <p>{shown(clipped(agent.summary, 2000), true)}</p>}
          {agent.risks && <p><strong>Risks:</strong> {shown(clipped(agent.risks, 2000), true)}</p>}
          <p class="muted">
            Modes: {agent.allowedExecutionModes.map((m) => MODE_NAMES[m] ?? m).join(", ")} · every {agent.runtimeIntervalMinutes} min
            {agent.egressHosts.length > 0 && <> · reaches {agent.egressHosts.map((host) => shown(host)).join(", ")}</>}
          </p>
          {may.operate(caller) && (starting === agent.id
            ? <StartForm api={api} caller={caller} agent={agent} onStarted={(id) => { setStarting(null); onStarted(id); }} />
            : <button onClick={() => setStarting(agent.id)}>Start a session of {shown(agent.name)}</button>)}
        </article>
      ))}
      {next && <button onClick={() => load(next)}>More agents</button>}
    </section>
  );
}
