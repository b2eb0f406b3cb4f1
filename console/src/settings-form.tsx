// The fields of an agent's settings schema (circuit.toml [settings.NAME]), shared by the
// start-session form and the session's "update settings" form. The forms check only that
// required fields are filled: every other check is the API's, and its refusal (naming the
// setting and the fix) is shown as it came, so the console never disagrees with the platform.
import { shown, clipped } from "./text";
import { ExecutionMode } from "./gen/corral/v1/common_pb";
import type { AgentSetting } from "./gen/corral/v1/orchestrator_pb";

export const MODE_NAMES: Record<number, string> = { [ExecutionMode.AUTO]: "auto", [ExecutionMode.MANUAL]: "manual" };

function SettingInput({ setting, id, value, onChange }: {
  setting: AgentSetting; id: string; value: string; onChange: (v: string) => void;
}) {
  // Names come from the agent's circuit.toml: shown escaped, never used in an id or attribute as they are.
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
    const chosen = chosenOptions(value);
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

// A multi_select value as the platform reads it (orchestrator/agents/settings.py): a JSON
// array of options, or options separated by commas.
export function chosenOptions(value: string): string[] {
  const text = value.trim();
  if (text.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parsed.filter((item): item is string => typeof item === "string");
    } catch {
      // not JSON: read as commas below
    }
  }
  return text.split(",").map((part) => part.trim()).filter((part) => part);
}

// The execution mode, among those offered (`modes`).
export function ModeField({ id, modes, mode, onChange }: {
  id: string; modes: ExecutionMode[]; mode: ExecutionMode; onChange: (mode: ExecutionMode) => void;
}) {
  return (
    <div class="field">
      <label for={id}>Mode</label>
      <select id={id} value={String(mode)} onChange={(e) => onChange(Number(e.currentTarget.value) as ExecutionMode)}>
        {modes.map((m) => <option key={m} value={String(m)}>{MODE_NAMES[m] ?? m}</option>)}
      </select>
    </div>
  );
}

// One input per setting; `values` holds what was typed ("" or absent: the agent's default).
export function SettingInputs({ settings, values, onChange, idPrefix }: {
  settings: AgentSetting[]; values: Record<string, string>; onChange: (values: Record<string, string>) => void; idPrefix: string;
}) {
  return (
    <>
      {settings.map((setting, index) => (
        <SettingInput key={setting.name} setting={setting} id={`${idPrefix}-${index}`} value={values[setting.name] ?? ""}
                      onChange={(value) => onChange({ ...values, [setting.name]: value })} />
      ))}
    </>
  );
}
