// A frontend as a UI developer would write one: a Node gRPC client built from the
// .proto files alone (no Corral code), driving a whole session and watching its events.
//
//   node drive_session.mjs <server> <proto root> <agent image> <wallet>
// Prints one JSON object with what it saw.
import { createRequire } from "node:module";

const require = createRequire(process.env.CORRAL_FRONTEND_MODULES + "/");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [server, protoRoot, image, wallet] = process.argv.slice(2);
const definition = protoLoader.loadSync("corral/v1/orchestrator.proto", {
  includeDirs: [protoRoot], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
});
const { OrchestratorService } = grpc.loadPackageDefinition(definition).corral.v1;
const api = new OrchestratorService(server, grpc.credentials.createInsecure());

const call = (method, request) =>
  new Promise((resolve, reject) => api[method](request, (error, response) => (error ? reject(error) : resolve(response))));
const refusal = async (method, request) => {
  try { await call(method, request); return "no error"; } catch (error) { return grpc.status[error.code]; }
};

const seen = [];
const waiters = [];
function waitFor(predicate, what) {
  return new Promise((resolve, reject) => {
    const hit = seen.find(predicate);
    if (hit) return resolve(hit);
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 120000);
    waiters.push({ predicate, resolve: (e) => { clearTimeout(timer); resolve(e); } });
  });
}

const stream = api.WatchEvents({});
stream.on("data", (event) => {
  seen.push(event);
  for (const waiter of [...waiters]) {
    if (waiter.predicate(event)) { waiters.splice(waiters.indexOf(waiter), 1); waiter.resolve(event); }
  }
});
stream.on("error", (error) => { if (error.code !== grpc.status.CANCELLED) console.error("stream error", error.message); });

const { agent } = await call("RegisterAgent", { image });
const { session } = await call("StartSession", { agent_id: agent.id, wallet_address: wallet });
const mine = (kind, change) => (e) => e.session_id === session.id && e.kind === kind && (!change || e.change === change);

await waitFor(mine("EVENT_KIND_EXECUTION", "finished"), "an execution to finish");
const confirmed = await waitFor(mine("EVENT_KIND_TRANSACTION", "confirmed"), "a confirmed transaction");
await waitFor(mine("EVENT_KIND_LOG"), "a log line");
await call("PauseSession", { session_id: session.id });
await waitFor(mine("EVENT_KIND_SESSION", "paused"), "the pause");
await call("ResumeSession", { session_id: session.id });
await waitFor((e) => mine("EVENT_KIND_SESSION", "running")(e) && seen.indexOf(e) > seen.findIndex(mine("EVENT_KIND_SESSION", "paused")), "the resume");
await call("StopSession", { session_id: session.id });
const stopped = await waitFor(mine("EVENT_KIND_SESSION", "stopped"), "the stop");
const { executions } = await call("ListExecutions", { session_id: session.id });
const errors = {
  unknown_agent: await refusal("StartSession", { agent_id: "999999", wallet_address: wallet }),
  pause_stopped: await refusal("PauseSession", { session_id: session.id }),
};
stream.cancel();
api.close();

const ids = seen.map((e) => Number(e.id));
console.log(JSON.stringify({
  session_id: session.id,
  events: seen.filter((e) => e.session_id === session.id).map((e) => ({ kind: e.kind, change: e.change, object: e.object })),
  ids_increasing: ids.every((id, i) => i === 0 || id > ids[i - 1]),
  tx_hash: confirmed.transaction.tx_hash,
  stopped_status: stopped.session.status,
  executions: executions.length,
  errors,
}));
