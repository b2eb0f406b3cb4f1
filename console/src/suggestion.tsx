// A suggestion as a person approving it needs it: the platform's preview first (in a fixed
// order, with the calldata decoded where the function is a well-known one), the agent's own
// words last and marked unverified, then approve or reject.
import { useState } from "preact/hooks";
import { may, problem, requestId, type Api, type Caller } from "./api";
import { label, when } from "./format";
import { shown, clipped } from "./text";
import { SuggestionKind, SuggestionStatus, type Suggestion } from "./gen/corral/v1/orchestrator_pb";

// The order a person reads a transaction in; other keys follow alphabetically, `data` last.
const PREVIEW_ORDER = ["network", "messageType", "chainId", "from", "to", "value", "decoded", "domain", "primaryType", "simulation"];

function previewOrder([a]: [string, unknown], [b]: [string, unknown]): number {
  const rank = (key: string) => (key === "data" ? 1000 : PREVIEW_ORDER.indexOf(key) >= 0 ? PREVIEW_ORDER.indexOf(key) : 100);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function asText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

// The platform's decode of the calldata (orchestrator/actions/calldata.py): by selector only.
function DecodedCall({ decoded }: { decoded: Record<string, unknown> }) {
  const args = Array.isArray(decoded.arguments) ? (decoded.arguments as { name?: unknown; type?: unknown; value?: unknown }[]) : undefined;
  if (!decoded.function) {
    return <p class="decoded"><strong>Unknown function</strong> <code>{shown(String(decoded.selector ?? ""))}</code>: {shown(String(decoded.note ?? ""))}</p>;
  }
  return (
    <div class="decoded">
      <p>Calls <code>{shown(String(decoded.function))}</code>
        <span class="muted"> (recognised by its selector: the contract at <em>to</em> decides what it does)</span></p>
      {decoded.error !== undefined && <p class="error">{shown(String(decoded.error))}</p>}
      {args && (
        <table aria-label="Decoded arguments">
          <tbody>
            {args.map((argument, index) => (
              <tr key={index}>
                <th scope="row">{shown(String(argument.name ?? ""))}</th>
                <td><code>{shown(clipped(asText(argument.value), 2000), true)}</code> <span class="muted">{shown(String(argument.type ?? ""))}</span></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {typeof decoded.extra_bytes === "number" && (
        <p class="warning" role="note">{decoded.extra_bytes} extra bytes follow the arguments: the function ignores them, so check why they are there.</p>
      )}
      {decoded.note !== undefined && <p class="warning" role="note">{shown(String(decoded.note))}</p>}
    </div>
  );
}

export function SuggestionCard({ api, caller, suggestion }: { api: Api; caller: Caller; suggestion: Suggestion }) {
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
  // For a message to sign, `message` is what gets signed (shown whole); for everything else
  // it is the agent's own note, shown last.
  const { message, ...preview } = (suggestion.details ?? {}) as Record<string, unknown>;
  const signs = suggestion.kind === SuggestionKind.MESSAGE;
  return (
    <article class="suggestion" aria-label={`Suggestion ${suggestion.id}`}>
      <h4>
        Suggestion {String(suggestion.id)}: {label(SuggestionKind, suggestion.kind, "SUGGESTION_KIND_")},{" "}
        {label(SuggestionStatus, suggestion.status, "SUGGESTION_STATUS_")}
        {suggestion.expiresAt && <span class="muted"> (expires {when(suggestion.expiresAt)})</span>}
      </h4>
      <dl class="preview">
        {Object.entries(preview).sort(previewOrder).map(([name, value]) => (name === "decoded" && value && typeof value === "object"
          ? <div key={name}><dt>calldata</dt><dd><DecodedCall decoded={value as Record<string, unknown>} /></dd></div>
          : <div key={name}><dt>{shown(name)}</dt><dd><code>{shown(clipped(asText(value), name === "data" ? 4000 : 20_000), true)}</code></dd></div>
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
