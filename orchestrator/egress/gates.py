"""Opening an execution's egress proxy and keeping what it recorded.

The runner calls `open` with the hosts recorded on the session (what its user saw), each
still checked against the installation's ceiling (an operator may have narrowed it since),
and the session's wallet type (it may read the chains of its kind through the operator's nodes),
and `store` once the execution ended: a row per connection, and for each refusal a line
in the execution's log, where the agent's author looks first. A session with secrets gets
them in its proxy, and its sandbox trusts the installation's interception CA
(interception.py) for the hosts they are bound to. An execution that records (its session's
record_executions) has all its HTTPS intercepted, so that its exchanges can be kept
(exchanges.py), and its sandbox trusts that CA for every host.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import aiohttp
from sqlalchemy.orm import Session

from corral.hosts import HostRuleError, parse_rules
from corral.limits import LOG_LINE_MAX_CHARS
from corral.networks import Network, NetworkKind
from orchestrator.config import EgressConfig
from orchestrator.egress.addresses import policy_from
from orchestrator.egress.chain_reads import ChainReads, ForkReads, readable_nodes
from orchestrator.egress.exchanges import ExchangeSink
from orchestrator.egress.interception import InterceptionCA
from orchestrator.egress.proxy import EgressGate
from orchestrator.egress.secrets import BoundSecret, SecretBox, SecretsKeyError
from orchestrator.store import EgressConnectionRow, ExecutionLogRow, utcnow
from orchestrator.store.statuses import EgressOutcome
from sandbox_runner.host.backend import EGRESS_CA_NAME, EGRESS_SOCKET_NAME

log = logging.getLogger("corral.egress")

# Refusals that also become log lines, per execution (each is recorded as a connection anyway).
LOGGED_REFUSALS = 20


class EgressGates:
    """`nodes`: network -> the JSON-RPC URL of the operator's node, for chain reads."""

    def __init__(self, config: EgressConfig, nodes: dict[str, str]) -> None:
        self._config = config
        self._nodes = nodes
        self._addresses = policy_from(config.allow_networks, config.resolve)
        self._http: aiohttp.ClientSession | None = None
        self._interception: InterceptionCA | None = None

    def secret_box(self) -> SecretBox | None:
        """The installation's key for sessions' secrets, or None when secrets are off or the
        key is unusable (said in the log; the executions then get no secrets)."""
        if self._config.secrets_key_file is None:
            return None
        try:
            return SecretBox.from_file(self._config.secrets_key_file)
        except SecretsKeyError as exc:
            log.error("%s", exc)
            return None

    def interception(self) -> InterceptionCA:
        """The installation's interception CA, in `interception_ca_dir` or beside the secrets
        key (made on first use)."""
        if self._interception is None:
            folder = self._config.interception_ca_dir or (self._config.secrets_key_file and self._config.secrets_key_file.parent)
            if folder is None:
                raise ValueError("neither [egress] interception_ca_dir nor secrets_key_file is set")
            self._interception = InterceptionCA.load_or_create(folder, self._config.extra_ca_file)
        return self._interception

    def _chain_reads(self, wallet_type: str, fork: ForkReads | None) -> ChainReads | None:
        """The networks a session of this wallet type may read (its wallet's kind of chain; a
        paper session's fork in place of the chain it forks)."""
        solana = wallet_type == NetworkKind.SOLANA
        endpoints = {network: url for network, url in readable_nodes(self._nodes, fork).items() if Network.parse(network).is_solana == solana}
        if not endpoints:
            return None
        if self._http is None:
            self._http = aiohttp.ClientSession()
        return ChainReads(endpoints, self._http)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def open(self, hosts: list[str], wallet_type: str, socket_dir: Path, hand_to_sandbox: Callable[[Path], None],
                   secrets: tuple[BoundSecret, ...] = (), exchanges: ExchangeSink | None = None,
                   fork: ForkReads | None = None) -> EgressGate | None:
        """The execution's proxy on `socket_dir/egress.sock`, or None when it may reach nothing
        (no socket then: the sandbox starts no forwarder and has no way out). `exchanges`: where
        a recording execution's exchanges are kept; `fork`: a paper session's chain reads."""
        try:
            declared = parse_rules(hosts, "the session's egress hosts")
        except HostRuleError:
            declared = ()  # recorded by an older parser and no longer valid: reach none of them
        ceiling = self._config.ceiling
        rules = tuple(rule for rule in declared if ceiling.permits(rule))
        chain_reads = self._chain_reads(wallet_type, fork)
        if not rules and chain_reads is None:
            return None
        secrets = tuple(secret for secret in secrets if any(secret.rule.within(rule) for rule in rules))
        interception = None
        if secrets or (exchanges is not None and rules):
            try:
                interception = self.interception()
            except (OSError, ValueError) as exc:  # the run goes on without its secrets (no value leaves) and unrecorded HTTPS
                log.error("no interception CA (set [egress] interception_ca_dir to a directory the orchestrator may write): %s", exc)
                secrets = ()
        trusted = self._config.extra_ca_file.read_bytes() if self._config.extra_ca_file is not None else b""
        if interception is not None:
            trusted += b"\n" + interception.certificate_pem
        if trusted:
            (socket_dir / EGRESS_CA_NAME).write_bytes(trusted)
            os.chmod(socket_dir / EGRESS_CA_NAME, 0o644)
        gate = EgressGate(rules, self._config.limits, self._addresses, chain_reads, secrets, interception, exchanges)
        # Bound under a temporary name and renamed once the sandbox user may use it, before
        # the runtime socket appears (a pooled sandbox looks for this one when that one does).
        binding = socket_dir / f".{EGRESS_SOCKET_NAME}.binding"
        await gate.start(binding)
        hand_to_sandbox(binding)
        os.rename(binding, socket_dir / EGRESS_SOCKET_NAME)
        return gate


def store(db: Session, execution_id: int, gate: EgressGate) -> None:
    """Adds the gate's records to `db`'s transaction (the caller commits with the outcome).
    The first refusals are also lines in the execution's log (bounded: the rest are counted)."""
    now = utcnow()
    refusals = 0
    for record in gate.records:
        db.add(EgressConnectionRow(
            execution_id=execution_id, method=record.method, host=record.host[:256], port=record.port, address=record.address,
            bytes_out=record.bytes_out, bytes_in=record.bytes_in, duration_ms=record.duration_ms, outcome=record.outcome,
            reason=record.reason[:320],
        ))
        if record.outcome is EgressOutcome.REFUSED:
            refusals += 1
            if refusals <= LOGGED_REFUSALS:
                target = f"{record.host}:{record.port}" if record.host else "a connection"
                message = f"egress refused {target}: {record.reason}"
                db.add(ExecutionLogRow(execution_id=execution_id, level="error", message=message[:LOG_LINE_MAX_CHARS], logged_at=now))
    unlogged = max(0, refusals - LOGGED_REFUSALS) + gate.records_dropped
    if unlogged:
        db.add(ExecutionLogRow(execution_id=execution_id, level="error", logged_at=now,
                               message=f"egress: {unlogged} more connections were refused (see the execution's egress connections)"))
