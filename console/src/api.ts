// The console's only way to the platform: the public OrchestratorService over the Connect
// protocol, with the signed-in user's API key. Nothing here is privileged: what the console
// does, any frontend may do with the same key.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { OrchestratorService, Role } from "./gen/corral/v1/orchestrator_pb";

export type Api = Client<typeof OrchestratorService>;

// Where the API is: beside the console (the same origin, as the orchestrator serves it at
// /console/), unless the page was deployed elsewhere with
// <meta name="corral-api-url" content="https://corral.example.com:8080"> in its index.html
// (docs/console.md, "Hosting it elsewhere"). Only the deployed page says so, never the address
// bar: a link that chose the API would send the user's key wherever it pointed.
export function apiUrl(): string {
  const configured = document.querySelector<HTMLMetaElement>('meta[name="corral-api-url"]')?.content?.trim();
  if (configured) {
    try {
      const url = new URL(configured);
      if (url.protocol === "https:" || url.protocol === "http:") return url.origin;
    } catch {
      // not a URL: the same origin, and the sign-in says when nothing answers there
    }
  }
  return window.location.origin;
}

export function apiFor(key: string, baseUrl: string = apiUrl()): Api {
  const transport = createConnectTransport({
    baseUrl,
    interceptors: [(next) => async (request) => {
      request.header.set("Authorization", `Bearer ${key}`);
      return next(request);
    }],
  });
  return createClient(OrchestratorService, transport);
}

export interface Caller {
  name: string;
  roles: Set<Role>;
}

// What the console offers a caller: only what the API would let it do (docs/api.md).
export const may = {
  operate: (caller: Caller) => caller.roles.has(Role.OPERATOR),
  approve: (caller: Caller) => caller.roles.has(Role.APPROVER),
  administer: (caller: Caller) => caller.roles.has(Role.ADMIN),
};

// A refusal as the API worded it (its message names the field and the fix). A request the
// browser could not make at all (the network, or a page origin the API does not allow) has no
// answer from the API: that is said instead.
export function problem(error: unknown): string {
  const refused = ConnectError.from(error);
  if ((refused.code === Code.Unknown || refused.code === Code.Unavailable) && /fetch|network/i.test(refused.rawMessage)) {
    return `Unreachable: the API at ${apiUrl()} did not answer this page (${refused.rawMessage}). Check that it runs, and that ` +
      `this page's origin, ${window.location.origin}, is in the orchestrator's [browser] allowed_origins.`;
  }
  return `${Code[refused.code] ?? refused.code}: ${refused.rawMessage}`;
}

export function requestId(): string {
  return crypto.randomUUID();
}

// For a view's load in an effect: applies the answer only while the effect is current, so a
// slow answer to an older request (other filters, another session) never overwrites a newer
// one. Returns the effect's clean-up.
export function whileCurrent<T>(answer: Promise<T>, use: (value: T) => void, refused: (error: unknown) => void): () => void {
  let current = true;
  answer.then((value) => { if (current) use(value); }, (error) => { if (current) refused(error); });
  return () => { current = false; };
}
