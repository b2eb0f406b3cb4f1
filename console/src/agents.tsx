// The agent catalogue and the start-session form, generated from each agent's settings schema.
// The form checks only that required fields are filled: every other check is the API's, and its
// refusal (naming the setting and the fix) is shown as it came, so the console never disagrees
// with the platform about what is valid.
import { useEffect, useState } from "preact/hooks";
import { may, problem, requestId, type Api, type Caller } from "./api";
import { shown, clipped } from "./text";
import { ExecutionMode } from "./gen/corral/v1/common_pb";
import type { Agent, AgentSetting, Wallet } from "./gen/corral/v1/orchestrator_pb";

const MODE_NAMES: Record<number, string> = { [ExecutionMode.AUTO]: "auto", [ExecutionMode.MANUAL]: "manual" };

function SettingInput({ setting, index, value, onChange }: {
  setting: AgentSetting; index: number; value: string; onChange: (v: string) => void;
}) {
  // Names come from the agent's circuit.toml: shown escaped, never used in an id or attribute as they are.
  const id = `setting-${index}`;
  const name = shown(clipped(setting.name, 64));
  const described = setting.description ? `${id}-help` : undefined;
  let input;
  if (setting.type === "boolean") {
    input = <input id={id} type="checkbox" checked={value === "true"} aria-describedby={described}
                   onChange={(e) => onChange(e.currentTarget.checked ? "true" : "false")} />;
  } else if (setting.type === "single_select") {
    input = (
      <select id={id} value={value} aria-describedby={described} onChange={(e) => onChange(e.currentTarget.value)}>
        {!setting.required && <option value="">(default)</option>}
        {setting.options.map((option) => <option key={option} value={option}>{shown(option)}</option>)}
      </select>
    );
  } else if (setting.type === "multi_select") {
    const chosen: string[] = value ? JSON.parse(value) : [];
    input = (
      <fieldset id={id} aria-describedby={described}>
        <legend class="visually-hidden">{name}</legend>
        {setting.options.map((option) => (
          <label key={option}>
            <input type="checkbox" checked={chosen.includes(option)} onChange={(e) => onChange(JSON.stringify(
              e.currentTarget.checked ? [...chosen, option] : chosen.filter((c) => c !== option)))} /> {shown(option)}
          </label>
        ))}
      </fieldset>
    );
  } else {
    const numeric = ["integer", "number", "percentage"].includes(setting.type);
    input = <input id={id} type="text" inputMode={numeric ? "decimal" : "text"} value={value} required={setting.required}
                   aria-describedby={described} placeholder={shown(clipped(setting.defaultValue ?? "", 200))} onInput={(e) => onChange(e.currentTarget.value)} />;
  }
  return (
    <div class="field">
      <label for={id}>{name}{setting.required ? " (required)" : ""}</label>
      {input}
      {setting.description && <small id={described}>{shown(clipped(setting.description, 500), true)}</small>}
    </div>
  );
}

function StartForm({ api, caller, agent, onStarted }: { api: Api; caller: Caller; agent: Agent; onStarted: (id: bigint) => void }) {
  // Auto mode approves every action in advance: the API gives it to approvers only.
  const modes = agent.allowedExecutionModes.filter((m) => m !== ExecutionMode.AUTO || may.approve(caller));
  const [wallets, setWallets] = useState<Wallet[]>([]);
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
          {wallets.map((w) => <option key={w.address} value={w.address}>{w.address}</option>)}
        </select>
      </div>
      <div class="field">
        <label for="start-mode">Mode</label>
        <select id="start-mode" value={String(mode)} onChange={(e) => setMode(Number(e.currentTarget.value) as ExecutionMode)}>
          {modes.map((m) => <option key={m} value={String(m)}>{MODE_NAMES[m] ?? m}</option>)}
        </select>
      </div>
      <div class="field">
        <label for="start-allocation">Allocation (smallest units of the starting asset)</label>
        <input id="start-allocation" type="text" inputMode="numeric" value={allocation} onInput={(e) => setAllocation(e.currentTarget.value)} />
      </div>
      {agent.settings.map((setting, index) => (
        <SettingInput key={setting.name} setting={setting} index={index} value={settings[setting.name] ?? ""}
                      onChange={(value) => setSettings({ ...settings, [setting.name]: value })} />
      ))}
      <button type="submit">Start session</button>
      {error && <p role="alert" class="error">{error}</p>}
    </form>
  );
}

export function Agents({ api, caller, onStarted }: { api: Api; caller: Caller; onStarted: (id: bigint) => void }) {
  const [agents, setAgents] = useState<Agent[]>([]);
  const [starting, setStarting] = useState<bigint | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api.listAgents({ pageSize: 50 }).then((answer) => setAgents(answer.agents)).catch((refused) => setError(problem(refused)));
  }, [api]);
  return (
    <section aria-labelledby="agents-heading">
      <h2 id="agents-heading">Agents</h2>
      {error && <p role="alert" class="error">{error}</p>}
      {agents.map((agent) => (
        <article key={String(agent.id)} class="agent" aria-label={`Agent ${agent.name}`}>
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
    </section>
  );
}
