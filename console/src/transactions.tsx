// A session's transactions, newest first, a page at a time: status, what was called, its hash
// linked to the operator's block explorer (explorer_url: only http(s) becomes a link), the block
// and why it failed.
import { useEffect, useState } from "preact/hooks";
import { problem, whileCurrent, type Api } from "./api";
import { label, safeLink, when } from "./format";
import { shown, clipped } from "./text";
import { TransactionStatus, type Transaction } from "./gen/corral/v1/orchestrator_pb";

function Hash({ tx }: { tx: Transaction }) {
  if (!tx.txHash) return <span class="muted">not sent</span>;
  const link = safeLink(tx.explorerUrl);
  const short = `${tx.txHash.slice(0, 10)}…${tx.txHash.slice(-6)}`;
  return link
    ? <a href={link} target="_blank" rel="noopener noreferrer" title={tx.txHash}>{short}</a>
    : <code title={tx.txHash}>{short}</code>;
}

export function Transactions({ api, sessionId, version }: { api: Api; sessionId: bigint; version: number }) {
  const [transactions, setTransactions] = useState<Transaction[]>([]);
  const [pages, setPages] = useState<string[]>([""]);
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const page = pages[pages.length - 1];
  useEffect(() => {
    return whileCurrent(api.listTransactions({ sessionId, pageSize: 20, pageToken: page }),
      (answer) => { setTransactions(answer.transactions); setNext(answer.nextPageToken); setError(""); },
      (refused) => setError(problem(refused)));
  }, [api, sessionId, page, version]);
  return (
    <div>
      {error && <p role="alert" class="error">{error}</p>}
      {transactions.length === 0 ? <p>None.</p> : (
        <table aria-label="Transactions">
          <thead><tr>
            <th scope="col">id</th><th scope="col">time</th><th scope="col">status</th><th scope="col">to</th>
            <th scope="col">value</th><th scope="col">hash</th><th scope="col">block</th>
          </tr></thead>
          <tbody>
            {transactions.map((tx) => (
              <tr key={String(tx.id)} data-testid={`transaction-${tx.id}`}>
                <td>{String(tx.id)}</td>
                <td>{when(tx.createdAt)}</td>
                <td>{label(TransactionStatus, tx.status, "TRANSACTION_STATUS_")}
                  {tx.error && <div class="error">{shown(clipped(tx.error, 500))}</div>}</td>
                <td><code>{tx.toAddress}</code></td>
                <td>{tx.value}</td>
                <td><Hash tx={tx} /></td>
                <td>{tx.blockNumber !== undefined ? String(tx.blockNumber) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(pages.length > 1 || next) && (
        <nav aria-label="Transaction pages">
          <button disabled={pages.length === 1} onClick={() => setPages(pages.slice(0, -1))}>Newer</button>
          <button disabled={!next} onClick={() => setPages([...pages, next])}>Older</button>
        </nav>
      )}
    </div>
  );
}
