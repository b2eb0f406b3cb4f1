// The console's only way to the platform: the public OrchestratorService over the Connect
// protocol, with the signed-in user's API key. Nothing here is privileged: what the console
// does, any frontend may do with the same key.
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { OrchestratorService, Role } from "./gen/corral/v1/orchestrator_pb";

export type Api = Client<typeof OrchestratorService>;

// The API is served beside the console (the same origin) unless the page says otherwise.
export function apiFor(key: string, baseUrl: string = window.location.origin): Api {
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

// A refusal as the API worded it (its message names the field and the fix).
export function problem(error: unknown): string {
  const refused = ConnectError.from(error);
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
