// The platform: its status, the kill switch (admins, with a reason and a confirmation; lifting
// it takes the separate resume credential, `corral resume`, so it is not offered here), and who
// did what, from the events the live stream brought; the caller's notification subscriptions.
import { useEffect, useState } from "preact/hooks";
import { may, problem, requestId, whileCurrent, type Api, type Caller } from "./api";
import { shown, clipped } from "./text";
import { when } from "./format";
import { Subscriptions } from "./subscriptions";
import type { Event as PlatformEvent, PlatformStatus } from "./gen/corral/v1/orchestrator_pb";
import { EventKind } from "./gen/corral/v1/orchestrator_pb";

function kindName(kind: EventKind): string {
  return (EventKind[kind] ?? String(kind)).replace("EVENT_KIND_", "").toLowerCase();
}

export function Platform({ api, caller, events, version }: { api: Api; caller: Caller; events: PlatformEvent[]; version: number }) {
  const [status, setStatus] = useState<PlatformStatus | null>(null);
  const [reason, setReason] = useState("");
  const [confirmed, setConfirmed] = useState(false);
  const [error, setError] = useState("");
  useEffect(() => {
    return whileCurrent(api.getPlatformStatus({}), (answer) => setStatus(answer.status ?? null), (refused) => setError(problem(refused)));
  }, [api, version]);
  const halt = async (event: Event) => {
    event.preventDefault();
    try {
      await api.haltPlatform({ reason, requestId: requestId() });
      setConfirmed(false);
    } catch (refused) {
      setError(problem(refused));
    }
  };
  return (
    <section aria-labelledby="platform-heading">
      <h2 id="platform-heading">Platform</h2>
      {error && <p role="alert" class="error">{error}</p>}
      {status && (
        <p data-testid="platform-status">
          {status.halted ? <strong>Halted</strong> : "Running"}
          {status.halted && status.reason && <>: {shown(clipped(status.reason, 500))}</>}
          {status.halted && <span class="muted"> (lifted with the resume credential: <code>corral resume</code>)</span>}
        </p>
      )}
      {may.administer(caller) && status && !status.halted && (
        <form class="halt" onSubmit={halt} aria-label="Halt the platform">
          <div class="field">
            <label for="halt-reason">Reason (recorded with the halt)</label>
            <input id="halt-reason" type="text" value={reason} required onInput={(e) => setReason(e.currentTarget.value)} />
          </div>
          <label><input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.currentTarget.checked)} /> Stop every
            running sandbox and refuse all signing until the platform is resumed</label>
          <button type="submit" class="danger" disabled={!confirmed || !reason.trim()}>Halt the platform</button>
        </form>
      )}
      <h3>Who did what</h3>
      <table>
        <thead><tr><th scope="col">time</th><th scope="col">what</th><th scope="col">session</th><th scope="col">by</th></tr></thead>
        <tbody>
          {events.map((e) => (
            <tr key={String(e.id)}>
              <td>{when(e.occurredAt)}</td>
              <td>{kindName(e.kind)} {shown(e.change)}</td>
              <td>{e.sessionId ? String(e.sessionId) : ""}</td>
              <td>{e.actor ? shown(e.actor) : <span class="muted">platform</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Subscriptions api={api} caller={caller} version={version} />
    </section>
  );
}
