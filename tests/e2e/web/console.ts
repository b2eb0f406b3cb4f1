// A browser console's calls, as a frontend builder writes them: the generated service
// descriptor (buf generate, protoc-gen-es), a connect-web transport, the token in a header.
// tests/e2e/test_browser_console.py loads this page in Chromium and calls window.corralConsole.
import { createClient, ConnectError } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { toJson } from "@bufbuild/protobuf";
import { EventSchema, ListSessionsResponseSchema, OrchestratorService, SessionStatus } from "./gen/corral/v1/orchestrator_pb";

interface Params {
  baseUrl: string;
  token: string;
  transport: "connect" | "grpc-web";
  sessionId: string;
  // Stop reading the stream at the first event with this change (the session's "stopped").
  untilChange: string;
}

async function corralConsole(params: Params) {
  const transport = (params.transport === "connect" ? createConnectTransport : createGrpcWebTransport)({
    baseUrl: params.baseUrl,
  });
  const client = createClient(OrchestratorService, transport);
  const headers = { Authorization: `Bearer ${params.token}` };
  try {
    // Stopped sessions are listed only when the status filter names them.
    const sessions = await client.listSessions({ statuses: [SessionStatus.STOPPED] }, { headers });
    const events = [];
    const stop = new AbortController();
    const stream = client.watchEvents(
      { sessionId: BigInt(params.sessionId), afterEventId: 0n },
      { headers, signal: stop.signal, timeoutMs: 60_000 },
    );
    for await (const event of stream) {
      events.push(toJson(EventSchema, event));
      if (event.change === params.untilChange) {
        stop.abort();
        break;
      }
    }
    return { sessions: toJson(ListSessionsResponseSchema, sessions), events };
  } catch (error) {
    const refused = ConnectError.from(error);
    return { error: { code: refused.code, message: refused.rawMessage } };
  }
}

interface PagingParams {
  baseUrl: string;
  token: string;
  sessionId: string;
  pageSize: number;
}

// Every execution of a session, newest first, a page at a time: pass each reply's
// nextPageToken back until it is empty. Returns the ids (as strings) and the page count.
async function allExecutions(params: PagingParams) {
  const client = createClient(OrchestratorService, createConnectTransport({ baseUrl: params.baseUrl }));
  const headers = { Authorization: `Bearer ${params.token}` };
  const ids: string[] = [];
  let pageToken = "";
  let pages = 0;
  try {
    do {
      const page = await client.listExecutions(
        { sessionId: BigInt(params.sessionId), pageSize: params.pageSize, pageToken },
        { headers },
      );
      ids.push(...page.executions.map((execution) => execution.id.toString()));
      pageToken = page.nextPageToken;
      pages += 1;
    } while (pageToken);
    return { ids, pages };
  } catch (error) {
    const refused = ConnectError.from(error);
    return { error: { code: refused.code, message: refused.rawMessage } };
  }
}

(window as unknown as { corralConsole: typeof corralConsole }).corralConsole = corralConsole;
(window as unknown as { allExecutions: typeof allExecutions }).allExecutions = allExecutions;
document.title = "corral console ready";
