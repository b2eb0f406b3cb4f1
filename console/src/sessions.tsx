// The sessions list: status, mode, what each holds, its PnL on the starting asset and whether a
// transaction is in flight; filtered by status, agent and wallet, a page at a time (the API's
// keyset pages: a filter change starts again from the first page).
import { useEffect, useState } from "preact/hooks";
import { problem, whileCurrent, type Api } from "./api";
import { assetName, label, minus, nativeDecimals, units } from "./format";
import { shown, clipped } from "./text";
import { ExecutionMode } from "./gen/corral/v1/common_pb";
import { SessionStatus, type Agent, type Session, type Wallet } from "./gen/corral/v1/orchestrator_pb";

// "" is the API's default: every status but stopped.
const STATUS_FILTERS: [string, string, SessionStatus[]][] = [
  ["", "not stopped", []],
  ["running", "running", [SessionStatus.RUNNING]],
  ["paused", "paused", [SessionStatus.PAUSED]],
  ["unwinding", "unwinding", [SessionStatus.UNWINDING]],
  ["stopped", "stopped", [SessionStatus.STOPPED]],
  ["all", "all", [SessionStatus.CREATED, SessionStatus.RUNNING, SessionStatus.PAUSED, SessionStatus.UNWINDING, SessionStatus.STOPPED]],
];

interface Filters {
  status: string;
  agentId: bigint;
  wallet: string;
}

// What the session holds of its starting asset less its allocation (smallest units): the
// summary's realised PnL, read from the list's own fields.
export function startingAssetPnl(session: Session): string {
  const allocation = session.allocation;
  if (!allocation) return "";
  const held = session.positions.find((p) => p.network === allocation.network && p.assetAddress.toLowerCase() === allocation.assetAddress.toLowerCase());
  return minus(held?.currentQty ?? "0", allocation.currentQty);
}

function Holdings({ session }: { session: Session }) {
  const shownPositions = session.positions.slice(0, 3);
  return (
    <>
      {shownPositions.map((p) => (
        <div key={`${p.network}-${p.assetAddress}`}>
          {units(p.currentQty, nativeDecimals(p.assetAddress))} <span class="muted" title={p.assetAddress}>{assetName(p.assetAddress)}</span>
        </div>
      ))}
      {session.positions.length > shownPositions.length && <div class="muted">and {session.positions.length - shownPositions.length} more</div>}
    </>
  );
}

export function Sessions({ api, version, selected, onSelect }: {
  api: Api; version: number; selected: bigint | null; onSelect: (id: bigint) => void;
}) {
  const [sessions, setSessions] = useState<Session[] | null>(null);  // null: not loaded yet
  const [filters, setFilters] = useState<Filters>({ status: "", agentId: 0n, wallet: "" });
  const [agents, setAgents] = useState<Agent[]>([]);
  const [wallets, setWallets] = useState<Wallet[]>([]);
  const [pages, setPages] = useState<string[]>([""]);
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const page = pages[pages.length - 1];
  useEffect(() => {
    api.listAgents({ pageSize: 200 }).then((answer) => setAgents(answer.agents)).catch(() => setAgents([]));
    api.listWallets({}).then((answer) => setWallets(answer.wallets)).catch(() => setWallets([]));
  }, [api]);
  useEffect(() => {
    const statuses = STATUS_FILTERS.find(([value]) => value === filters.status)?.[2] ?? [];
    return whileCurrent(api.listSessions({ pageSize: 25, pageToken: page, statuses, agentId: filters.agentId, walletAddress: filters.wallet }),
      (answer) => { setSessions(answer.sessions); setNext(answer.nextPageToken); setError(""); },
      (refused) => setError(problem(refused)));
  }, [api, page, version, filters]);
  const filter = (change: Partial<Filters>) => { setFilters({ ...filters, ...change }); setPages([""]); };
  const agentName = (id: bigint) => agents.find((a) => a.id === id)?.name;
  return (
    <section aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Sessions</h2>
      <form class="filters" aria-label="Filter sessions" onSubmit={(e) => e.preventDefault()}>
        <label for="filter-status">Status</label>
        <select id="filter-status" value={filters.status} onChange={(e) => filter({ status: e.currentTarget.value })}>
          {STATUS_FILTERS.map(([value, name]) => <option key={value} value={value}>{name}</option>)}
        </select>
        <label for="filter-agent">Agent</label>
        <select id="filter-agent" value={String(filters.agentId)} onChange={(e) => filter({ agentId: BigInt(e.currentTarget.value) })}>
          <option value="0">any</option>
          {agents.map((a) => <option key={String(a.id)} value={String(a.id)}>{shown(clipped(a.name, 60))}</option>)}
        </select>
        <label for="filter-wallet">Wallet</label>
        <select id="filter-wallet" value={filters.wallet} onChange={(e) => filter({ wallet: e.currentTarget.value })}>
          <option value="">any</option>
          {wallets.map((w) => <option key={w.address} value={w.address}>{w.address}</option>)}
        </select>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      <table>
        <thead><tr>
          <th scope="col">id</th><th scope="col">agent</th><th scope="col">wallet</th><th scope="col">status</th><th scope="col">mode</th>
          <th scope="col">holds</th><th scope="col">PnL (starting asset)</th><th scope="col">pending</th>
        </tr></thead>
        <tbody>
          {(sessions ?? []).map((s) => (
            <tr key={String(s.id)} class={s.id === selected ? "selected" : ""}>
              <td><button class="link" onClick={() => onSelect(s.id)}>session {String(s.id)}</button></td>
              <td>{agentName(s.agentId) !== undefined ? shown(clipped(agentName(s.agentId)!, 40)) : String(s.agentId)}</td>
              <td>{s.paperOfWalletAddress
                ? <><span class="paper" data-testid={`paper-${s.id}`}>paper</span> <code>{s.paperOfWalletAddress}</code></>
                : <code>{s.walletAddress}</code>}</td>
              <td data-testid={`status-${s.id}`}>{label(SessionStatus, s.status, "SESSION_STATUS_")}</td>
              <td>{label(ExecutionMode, s.executionMode, "EXECUTION_MODE_")}</td>
              <td><Holdings session={s} /></td>
              <td data-testid={`pnl-${s.id}`}>{units(startingAssetPnl(s), nativeDecimals(s.allocation?.assetAddress ?? ""))}</td>
              <td>{s.hasPendingTransactions ? "transaction in flight" : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {sessions?.length === 0 && !error && <p>No session matches.</p>}
      <nav aria-label="Session pages">
        <button disabled={pages.length === 1} onClick={() => setPages(pages.slice(0, -1))}>Previous</button>
        <button disabled={!next} onClick={() => setPages([...pages, next])}>Next</button>
      </nav>
    </section>
  );
}
