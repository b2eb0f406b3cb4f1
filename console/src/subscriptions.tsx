// Notification subscriptions: the caller's own (the API shows each principal only its own),
// made for a webhook or an apprise URL, with the signing secret shown once when made, and the
// recent deliveries with their state and last error.
import { useEffect, useState } from "preact/hooks";
import { may, problem, whileCurrent, type Api, type Caller } from "./api";
import { label, when } from "./format";
import { shown, clipped } from "./text";
import { DeliveryStatus, type Delivery, type Subscription } from "./gen/corral/v1/orchestrator_pb";

// What a subscription can be sent (docs/notifications.md).
const EVENT_TYPES = ["suggestion.created", "suggestion.expiring", "suggestion.expired", "breaker.tripped", "drift.detected",
  "execution.failed", "platform.halted"];

function CreateForm({ api, onCreated }: { api: Api; onCreated: (secret: string) => void }) {
  const [events, setEvents] = useState<Set<string>>(new Set(["suggestion.created"]));
  const [target, setTarget] = useState<"webhook" | "apprise">("webhook");
  const [url, setUrl] = useState("");
  const [sessionId, setSessionId] = useState("");
  const [error, setError] = useState("");
  const submit = async (event: Event) => {
    event.preventDefault();
    setError("");
    if (sessionId.trim() && !/^\d+$/.test(sessionId.trim())) {
      setError("session: a session id is a whole number, e.g. 12");
      return;
    }
    try {
      const answer = await api.createSubscription({
        events: EVENT_TYPES.filter((e) => events.has(e)),
        destination: target === "webhook" ? { case: "webhookUrl", value: url.trim() } : { case: "appriseUrl", value: url.trim() },
        ...(sessionId.trim() ? { sessionId: BigInt(sessionId.trim()) } : {}),
      });
      setUrl("");
      onCreated(answer.signingSecret);
    } catch (refused) {
      setError(problem(refused));
    }
  };
  return (
    <form class="subscribe" onSubmit={submit} aria-label="New subscription">
      <fieldset>
        <legend>Events</legend>
        {EVENT_TYPES.map((name, index) => (
          <label key={name} for={`event-${index}`}>
            <input id={`event-${index}`} type="checkbox" checked={events.has(name)} onChange={(e) => {
              const next = new Set(events);
              if (e.currentTarget.checked) next.add(name); else next.delete(name);
              setEvents(next);
            }} /> {name}
          </label>
        ))}
      </fieldset>
      <div class="field">
        <label for="subscription-target">Send to</label>
        <select id="subscription-target" value={target} onChange={(e) => setTarget(e.currentTarget.value as "webhook" | "apprise")}>
          <option value="webhook">a webhook (signed POST)</option>
          <option value="apprise">an apprise URL (mail, Slack, Telegram…)</option>
        </select>
      </div>
      <div class="field">
        <label for="subscription-url">{target === "webhook" ? "Webhook URL" : "Apprise URL"}</label>
        <input id="subscription-url" type="password" autocomplete="new-password" value={url} required
               onInput={(e) => setUrl(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="subscription-session">Only session (empty: all of yours, and the platform's)</label>
        <input id="subscription-session" type="text" inputMode="numeric" value={sessionId} onInput={(e) => setSessionId(e.currentTarget.value)} />
      </div>
      <button type="submit">Subscribe</button>
      {error && <p role="alert" class="error">{error}</p>}
    </form>
  );
}

export function Subscriptions({ api, caller, version }: { api: Api; caller: Caller; version: number }) {
  const [subscriptions, setSubscriptions] = useState<Subscription[]>([]);
  const [deliveries, setDeliveries] = useState<Delivery[]>([]);
  const [secret, setSecret] = useState("");
  const [changed, setChanged] = useState(0);
  const [error, setError] = useState("");
  useEffect(() => {
    return whileCurrent(Promise.all([api.listSubscriptions({}), api.listDeliveries({ pageSize: 20 })]),
      ([listed, delivered]) => { setSubscriptions(listed.subscriptions); setDeliveries(delivered.deliveries); setError(""); },
      (refused) => setError(problem(refused)));
  }, [api, version, changed]);
  const remove = async (id: bigint) => {
    if (!window.confirm(`Delete subscription ${id}? Nothing more is sent to it.`)) return;
    try {
      await api.deleteSubscription({ subscriptionId: id });
      setChanged(changed + 1);
    } catch (refused) {
      setError(problem(refused));
    }
  };
  return (
    <section aria-labelledby="subscriptions-heading">
      <h3 id="subscriptions-heading">Notification subscriptions</h3>
      {error && <p role="alert" class="error">{error}</p>}
      {subscriptions.length === 0 ? <p>None.</p> : (
        <table aria-label="Subscriptions">
          <thead><tr><th scope="col">id</th><th scope="col">events</th><th scope="col">to</th><th scope="col">session</th><th scope="col"></th></tr></thead>
          <tbody>
            {subscriptions.map((s) => (
              <tr key={String(s.id)}>
                <td>{String(s.id)}</td>
                <td>{s.events.join(", ")}</td>
                <td>{s.target}: <code>{shown(clipped(s.destination, 120))}</code></td>
                <td>{s.sessionId !== undefined ? String(s.sessionId) : "all"}</td>
                <td>{may.operate(caller) && <button onClick={() => remove(s.id)}>Delete subscription {String(s.id)}</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {secret && (
        <p role="status" class="secret">Signing secret, shown this once: store it now to check <code>Corral-Signature</code>:{" "}
          <code data-testid="signing-secret">{secret}</code> <button onClick={() => setSecret("")}>Done</button></p>
      )}
      {may.operate(caller) && <CreateForm api={api} onCreated={(made) => { setSecret(made); setChanged(changed + 1); }} />}
      <h4>Recent deliveries</h4>
      {deliveries.length === 0 ? <p>None.</p> : (
        <table aria-label="Deliveries">
          <thead><tr><th scope="col">time</th><th scope="col">event</th><th scope="col">subscription</th><th scope="col">state</th><th scope="col">attempts</th><th scope="col">last error</th></tr></thead>
          <tbody>
            {deliveries.map((d) => (
              <tr key={d.id}>
                <td>{when(d.occurredAt)}</td><td>{d.type}</td><td>{String(d.subscriptionId)}</td>
                <td>{label(DeliveryStatus, d.status, "DELIVERY_STATUS_")}</td><td>{d.attempts}</td>
                <td>{shown(clipped(d.lastError, 300))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
