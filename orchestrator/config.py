"""Orchestrator settings: a TOML file validated by pydantic, with embedded defaults
(SQLite file, a local anvil as ethereum:31337, the Docker engine)."""

from __future__ import annotations

import ipaddress
import re
import socket
import string
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

import grpc
import tomli
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from corral.hosts import Ceiling, HostRuleError
from corral.limits import LOG_LINES_DEFAULT, OUTPUT_BYTES_DEFAULT
from corral.networks import parse_or_none


def _explorer_template(value: str | None) -> str | None:
    """An explorer link template: http(s), with {tx_hash} and no other field, format or
    escaped brace (links are made by replacing {tx_hash}: see `explorer_link`)."""
    if value is None:
        return value
    try:
        fields = [(field, spec, conversion) for _, field, spec, conversion in string.Formatter().parse(value)
                  if field is not None or spec or conversion]
    except ValueError:
        fields = []
    if not fields or any(field != ("tx_hash", "", None) for field in fields) or "{{" in value or "}}" in value \
            or not re.fullmatch(r"https?://[^\s/{}]+(/\S*)?", value):
        raise ValueError(f"explorer_tx_url {value!r} must be an http(s) URL with {{tx_hash}} where the hash goes, and no other "
                         "{...} field, e.g. \"https://etherscan.io/tx/{tx_hash}\"")
    return value


def explorer_link(template: str, tx_hash: str) -> str:
    """The explorer's link to a transaction: the hash put where {tx_hash} is, URL-quoted."""
    return template.replace("{tx_hash}", quote(tx_hash, safe=""))


class ChainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rpc_url: str
    # Format string for a transaction link, e.g. "https://etherscan.io/tx/{tx_hash}".
    explorer_tx_url: str | None = None
    # Seconds to wait for a receipt before giving up on the call (the tx stays tracked).
    receipt_timeout_seconds: float = 120.0
    # A Uniswap-V2-compatible router on this chain: enables the uniswap-v2 swap engine here.
    uniswap_v2_router: str | None = None

    @field_validator("uniswap_v2_router")
    @classmethod
    def _router(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
            raise ValueError(f"uniswap_v2_router {value!r} must be a 0x-prefixed 20-byte hex address")
        return value

    _explorer = field_validator("explorer_tx_url")(_explorer_template)


class SolanaConfig(BaseModel):
    """The Solana cluster sessions of `walletType = "solana"` agents use (network "solana")."""

    model_config = ConfigDict(extra="forbid")

    rpc_url: str
    # Format string for a transaction link, e.g. "https://solscan.io/tx/{tx_hash}".
    explorer_tx_url: str | None = None
    # Seconds to wait for a sent transaction to be confirmed before giving up on the call
    # (the transaction stays tracked; its blockhash expires after ~60-90 s on a real cluster).
    confirmation_timeout_seconds: float = Field(default=90.0, gt=0)

    _explorer = field_validator("explorer_tx_url")(_explorer_template)


class SandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # "docker" (images from the Docker engine) or "bubblewrap" (directory images, for
    # hosts without a Docker daemon; see sandbox_runner/host/bwrap_backend.py).
    backend: Literal["docker", "bubblewrap"] = "docker"
    # Docker runtime: None/"runc" (the engine's default) or "runsc" for gVisor.
    runtime: str | None = None
    # The privileged launcher's socket (`corral launcher serve`): sandboxes and their
    # socket directories are then made by it, and this orchestrator needs no access to
    # the Docker socket and no root. `backend` and `runtime` are the launcher's then.
    launcher_socket: Path | None = None
    memory_mb: int = Field(default=256, ge=32)
    cpus: float = Field(default=0.5, gt=0)
    pids: int = Field(default=64, ge=8)
    tmpfs_mb: int = Field(default=64, ge=1)
    deadline_seconds: float = Field(default=120.0, gt=0)
    # Bytes of stdout+stderr kept per execution (stored with it; the launcher's ceiling is 4 MiB).
    output_bytes: int = Field(default=OUTPUT_BYTES_DEFAULT, ge=1024, le=4 * 2**20)
    nofile: int = Field(default=256, ge=32)
    fsize_mb: int = Field(default=64, ge=1)
    # SDK calls one execution may make, and log lines it may store; past them calls
    # are refused (RESOURCE_EXHAUSTED) and lines dropped and counted.
    max_sdk_calls: int = Field(default=5000, ge=10)
    max_log_lines: int = Field(default=LOG_LINES_DEFAULT, ge=10)
    # Pre-started sandboxes kept per image (0: every execution starts cold), and how
    # long one waits unused before it is replaced.
    warm_pool_size: int = Field(default=1, ge=0, le=16)
    warm_pool_idle_seconds: float = Field(default=300.0, ge=10)
    # How often orphaned sandboxes and socket directories are looked for.
    reap_interval_seconds: float = Field(default=30.0, gt=0)


class EgressLimits(BaseModel):
    """What one execution may do through the egress proxy (orchestrator/egress/proxy.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Every HTTPS tunnel, plain request and chain read is one connection.
    max_connections: int = Field(default=256, ge=1, le=10_000)
    max_concurrent: int = Field(default=8, ge=1, le=256)
    # Averaged; bursts of `max_concurrent` or a second's worth, whichever is more.
    connections_per_second: float = Field(default=20.0, gt=0)
    bytes_out: int = Field(default=1024 * 1024, ge=1024)
    bytes_in: int = Field(default=32 * 1024 * 1024, ge=1024)
    connection_seconds: float = Field(default=60.0, gt=0)
    idle_seconds: float = Field(default=20.0, gt=0)
    head_seconds: float = Field(default=10.0, gt=0)
    head_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    connect_seconds: float = Field(default=10.0, gt=0)


class EgressConfig(BaseModel):
    """The installation's ceiling on what agents may reach (SECURITY.md, "Egress").

    An agent declares hosts in circuit.toml `[network] allow`; a session starts only if every
    one is within `allow_hosts`. `["*"]` permits any public HTTPS host on port 443; the
    default, `[]`, permits none (the sandbox then has no way out at all)."""

    model_config = ConfigDict(extra="forbid")

    allow_hosts: list[str] = Field(default_factory=list)
    # Non-public ranges agents may reach (e.g. an internal price service at 10.1.2.3/32).
    # Loopback, private, link-local and metadata addresses are refused unless listed here.
    allow_networks: list[str] = Field(default_factory=list)
    # Names resolved from this table before DNS (as `curl --resolve`): name -> addresses.
    resolve: dict[str, list[str]] = Field(default_factory=dict)
    # PEM certificates agents' HTTPS clients trust besides the image's bundle (a TLS-inspecting
    # corporate proxy's CA, or a stand-in's in tests).
    extra_ca_file: Path | None = None
    # 32 random bytes that seal sessions' secrets in the database (SetSessionSecret is refused
    # without it). The CA that intercepts TLS to hosts with secrets is made beside it.
    secrets_key_file: Path | None = None
    # Where that CA's key (0600) and certificate are kept: a directory the orchestrator may
    # write, or one holding a CA already. Default: the secrets key's directory.
    interception_ca_dir: Path | None = None
    limits: EgressLimits = Field(default_factory=EgressLimits)

    @field_validator("allow_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        try:
            Ceiling.parse(hosts)
        except HostRuleError as exc:
            raise ValueError(str(exc)) from None
        return hosts

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, networks: list[str]) -> list[str]:
        for network in networks:
            try:
                ipaddress.ip_network(network)
            except ValueError:
                raise ValueError(f"egress.allow_networks: {network!r} is not a network such as '10.1.2.0/24' (host bits unset)") from None
        return networks

    @field_validator("resolve")
    @classmethod
    def _resolve(cls, table: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, addresses in table.items():
            for address in addresses:
                try:
                    ipaddress.ip_address(address)
                except ValueError:
                    raise ValueError(f"egress.resolve.{name}: {address!r} is not an IP address") from None
        return table

    @property
    def ceiling(self) -> Ceiling:
        return Ceiling.parse(self.allow_hosts)


class SchedulerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The scheduler sleeps until the earliest due time or until a committed change wakes it
    # (in this process, and from other replicas by PostgreSQL NOTIFY); whatever happens it
    # looks again after this long, so a lost notification delays a run, never skips it.
    # The event feed behind WatchEvents re-checks on the same interval.
    recheck_seconds: float = Field(default=30.0, gt=0, le=86_400)
    # The old polling interval: no longer used (the scheduler waits on changes instead);
    # accepted so that configs that set it still load.
    tick_seconds: float | None = Field(default=None, gt=0)
    # Length of one "minute" of runtimeIntervalMinutes. 60 in production; tests and
    # demos shorten it here instead of faking the clock.
    minute_seconds: float = Field(default=60.0, gt=0)
    max_parallel_executions: int = Field(default=4, ge=1)
    # Several orchestrators on one database lease the sessions they run for this long,
    # renewing it while they run; a replica silent for this long is dead and another one
    # takes over its sessions and recovers its work.
    lease_seconds: float = Field(default=30.0, ge=1)


class RetentionConfig(BaseModel):
    """How long history that only grows is kept (`[retention]`); 0 keeps it forever. The
    defaults outlast a yearly audit: the transactions, executions and the signer's audit log
    are never pruned, only the change feed and agents' log lines."""

    model_config = ConfigDict(extra="forbid")

    # The change feed WatchEvents replays from (`after_event_id`): a frontend that was away
    # longer than this starts from what is left.
    events_days: float = Field(default=90.0, ge=0, le=36_500)
    # Agents' log lines (execution_logs), shown with each execution.
    execution_logs_days: float = Field(default=400.0, ge=0, le=36_500)
    # Execution recordings (sessions with record_executions), for replay.
    recordings_days: float = Field(default=30.0, ge=0, le=36_500)
    # Recorded market data ([market_data]), what backtests by time can run over.
    market_data_days: float = Field(default=90.0, ge=0, le=36_500)
    # How often old rows are looked for, and how many are deleted per statement (short
    # transactions: the database and the event loop are never held for long).
    interval_seconds: float = Field(default=3600.0, gt=0)
    batch_rows: int = Field(default=1000, ge=1, le=100_000)

    @field_validator("events_days", "execution_logs_days")
    @classmethod
    def _a_day_or_forever(cls, days: float) -> float:
        # Less than a day would prune the events the hourly breakers count (signing refusals).
        if days != 0 and days < 1:
            raise ValueError("keep at least 1 day, or 0 to keep forever")
        return days


class RecordingConfig(BaseModel):
    """Execution recordings (`[recording]`): what sessions with record_executions keep of each
    execution's SDK calls."""

    model_config = ConfigDict(extra="forbid")

    # Requests and answers kept per execution; calls past it are counted, not kept. At most
    # 1 MiB: a recording is served whole in one reply, which stays under the API's 1.5 MB.
    max_bytes_per_execution: int = Field(default=1024 * 1024, ge=16 * 1024, le=1024 * 1024)


# Half of Hyperliquid's per-IP request weight a minute: what sampling market data may use.
MARKET_DATA_WEIGHT_PER_MINUTE = 600


class MarketDataConfig(BaseModel):
    """Recorded market data (`[market_data]`): venues' public reads this orchestrator samples,
    which backtests by time (on hypercore:*) fill against (docs/api.md, "Backtests")."""

    model_config = ConfigDict(extra="forbid")

    # Hyperliquid coins whose L2 book is sampled, with all mids, e.g. ["BTC", "ETH"] (none by
    # default: nothing is sampled). About 2 KB per book and 4 KB of mids per sample, compressed.
    hyperliquid_coins: list[str] = Field(default_factory=list, max_length=50)
    every_seconds: float = Field(default=60.0, ge=1.0, le=86_400.0)
    # A backtest's step fills against the newest sample at or before its time, if at most this old.
    max_age_seconds: float = Field(default=300.0, gt=0, le=86_400.0)

    @field_validator("hyperliquid_coins")
    @classmethod
    def _coin_names(cls, coins: list[str]) -> list[str]:
        for coin in coins:
            if not re.fullmatch(r"[A-Za-z0-9@/:._-]{1,40}", coin):
                raise ValueError(f"{coin!r} is not a Hyperliquid coin name (e.g. BTC, PURR/USDC, @107)")
        return coins

    @model_validator(mode="after")
    def _within_the_venues_rate_limit(self) -> MarketDataConfig:
        # Each sample is one info request of weight 2 per series (the mids and each book); the
        # venue allows about 1,200 a minute per IP, which the platform's real orders share:
        # sampling may take half of it.
        weight_per_minute = (1 + len(self.hyperliquid_coins)) * 2 * 60 / self.every_seconds
        if self.hyperliquid_coins and weight_per_minute > MARKET_DATA_WEIGHT_PER_MINUTE:
            raise ValueError(f"sampling {len(self.hyperliquid_coins)} coins every {self.every_seconds:g}s asks Hyperliquid for "
                             f"{weight_per_minute:.0f} request weight a minute, more than {MARKET_DATA_WEIGHT_PER_MINUTE}: "
                             "raise every_seconds or list fewer coins")
        if self.max_age_seconds < self.every_seconds:
            raise ValueError("max_age_seconds must be at least every_seconds: a step between two samples would find none")
        return self


class PaperConfig(BaseModel):
    """Paper sessions (`[paper]`): each runs on its own fork of its chain, an `anvil
    --fork-url` process this orchestrator starts on loopback and keeps its state in
    `state_dir` (so a restart takes the fork up where it was)."""

    model_config = ConfigDict(extra="forbid")

    # The anvil binary (Foundry); found on PATH by default.
    anvil_path: str = "anvil"
    # Where forks keep their state; default: beside socket_root, in "paper-forks".
    state_dir: Path | None = None
    # Paper sessions' forks running at once on this orchestrator; a start past it is refused.
    max_forks: int = Field(default=8, ge=1, le=256)


class PlatformBreakerConfig(BaseModel):
    """Breakers every session has, whatever its user set."""

    model_config = ConfigDict(extra="forbid")

    # Signing requests the signer refused (policy or malformed) per session per hour
    # before the session is paused and no more of its requests reach the signer. A
    # refused request costs the signer a decision and an audit line; an agent probing its
    # policy, or filling the audit log, stops here.
    max_signer_refusals_per_hour: int = Field(default=20, ge=1, le=10_000)


class SwapConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # How long a quote may be executed after it was made; later, QUOTE_STALE.
    quote_ttl_seconds: float = Field(default=30.0, gt=0)


class ReconciliationConfig(BaseModel):
    """Each cycle, what the sessions on a wallet hold (allocations plus their ledgers) is
    compared with the chain; a shortfall is reported, and a large one pauses the wallet's
    running sessions (funds left the wallet some other way)."""

    model_config = ConfigDict(extra="forbid")

    interval_seconds: float = Field(default=60.0, gt=0)
    # Pause when the chain holds less than the sessions' total by more than this fraction.
    pause_above_fraction: float = Field(default=0.01, ge=0)


class HyperliquidConfig(BaseModel):
    """The Hyperliquid venue (`[hyperliquid]`): its info and exchange HTTP API. Enables
    sessions whose starting asset is on hypercore:perp or hypercore:spot."""

    model_config = ConfigDict(extra="forbid")

    api_url: str = "https://api.hyperliquid.xyz"
    # Mainnet ("a") or testnet ("b") signatures; the wallet's policy must name the same.
    mainnet: bool = True
    request_timeout_seconds: float = Field(default=10.0, gt=0)


class PolymarketConfig(BaseModel):
    """Polymarket (`[polymarket]`): the CLOB and data APIs, and the contracts on its chain
    (defaults: Polygon's). `network` must be one of the configured `chains`: redemptions are
    transactions there."""

    model_config = ConfigDict(extra="forbid")

    clob_url: str = "https://clob.polymarket.com"
    data_url: str = "https://data-api.polymarket.com"
    network: str = "ethereum:137"
    exchange_address: str = "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E"
    neg_risk_exchange_address: str = "0xC5d563A36AE78145C45a50134d48A1215220f80a"
    conditional_tokens_address: str = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"
    # USDC.e: the collateral positions are redeemed for.
    collateral_address: str = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    # Orders expire this long after they are signed (a fill-or-kill order is matched at once;
    # the expiry bounds what a signed order is worth to anyone who kept it). The signer's
    # policy caps it (polymarket.max_ttl_seconds, default 600).
    order_ttl_seconds: int = Field(default=120, ge=70, le=3600)

    @field_validator("exchange_address", "neg_risk_exchange_address", "conditional_tokens_address", "collateral_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
            raise ValueError(f"{value!r} is not a 0x-prefixed 20-byte address")
        return value

    @property
    def chain_id(self) -> int:
        return int(self.network.removeprefix("ethereum:"))


class PriceSource(BaseModel):
    """`[[prices]]`: where the USD price of one (network, asset) comes from, set by the owner
    (never by an agent): a fixed `usd` rate, or an HTTP(S) JSON `url` with the dotted
    `json_path` of the number in its reply (e.g. "ethereum.usd"). Without one, no USD is shown."""

    model_config = ConfigDict(extra="forbid")

    network: str
    # The token's address; the native coin is 0xeeee…eeee (EVM) or 1111…1111 (Solana).
    asset: str
    usd: str | None = None
    url: str | None = None
    json_path: str | None = None
    # How long a price read from `url` is used before it is read again.
    cache_seconds: float = Field(default=60.0, gt=0, le=86_400)
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("network")
    @classmethod
    def _network(cls, network: str) -> str:
        if parse_or_none(network) is None:
            raise ValueError(f"{network!r} is not a network such as 'ethereum:1' or 'solana'")
        return network

    @field_validator("usd")
    @classmethod
    def _rate(cls, usd: str | None) -> str | None:
        if usd is not None and not re.fullmatch(r"[0-9]{1,30}(\.[0-9]{1,30})?", usd):
            raise ValueError(f"usd = {usd[:40]!r} is not a plain decimal number; write it like \"1.00\" or \"3120.5\"")
        return usd

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is not None and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
            raise ValueError(f"url = {url[:100]!r} is not an http(s) URL")
        return url

    @model_validator(mode="after")
    def _one_source(self) -> PriceSource:
        if (self.usd is None) == (self.url is None):
            raise ValueError(f"price of {self.asset} on {self.network}: give exactly one of usd (a fixed rate) or url (with json_path)")
        if self.url is not None and not self.json_path:
            raise ValueError(f"price of {self.asset} on {self.network}: url needs json_path, the dotted path of the number, e.g. \"ethereum.usd\"")
        return self


# The largest request message either transport of the frontend API reads (gRPC's own default,
# set explicitly so that the browser port bounds its request bodies to the same size).
API_MAX_REQUEST_BYTES = 4 * 1024 * 1024


class BrowserConfig(BaseModel):
    """The frontend API for browsers (`[browser]`): the same OrchestratorService over the
    Connect protocol and gRPC-Web, on an HTTP port of its own beside the native gRPC one.
    Off unless `listen` is set: a console in a browser is a choice, and every port is surface."""

    model_config = ConfigDict(extra="forbid")

    # "host:port", e.g. "127.0.0.1:8080". Served with the API's TLS certificate when
    # tls_cert_file/tls_key_file are set; off this machine it needs them and the API token.
    listen: str | None = None
    # Web pages allowed to call the API (CORS), each an exact origin such as
    # "https://console.example.com" or "http://127.0.0.1:5173"; no wildcard.
    allowed_origins: list[str] = Field(default_factory=list)
    # The web console's built files, served at /console/ on this port: default, the checkout's
    # console/dist (what scripts/setup builds); not served when that has no index.html.
    console_dir: Path | None = None

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, listen: str | None) -> str | None:
        return checked_host_and_port(listen)

    @field_validator("allowed_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            problem = origin_problem(origin)
            if problem:
                raise ValueError(f"{origin[:100]!r} {problem}")
        return origins

    @model_validator(mode="after")
    def _origins_need_a_port(self) -> BrowserConfig:
        if self.allowed_origins and self.listen is None:
            raise ValueError("allowed_origins is set but listen is not: set listen (e.g. '127.0.0.1:8080') to serve browsers")
        return self


def checked_host_and_port(listen: str | None) -> str | None:
    """An HTTP listen address ("host:port", "[v6]:port"), or None (off)."""
    if listen is not None:
        host, port = split_listen(listen)
        if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{listen!r} is not host:port, e.g. '127.0.0.1:8080' or '[::1]:8080'")
    return listen


class TelemetryConfig(BaseModel):
    """Prometheus metrics (`[telemetry]`): `/metrics` on an HTTP port of its own, served with
    the API's TLS certificate when one is set. Off unless `metrics_listen` is set. The series
    name no session, wallet or agent (orchestrator/metrics.py); off this machine the port needs
    TLS and a scraper the bearer token in `metrics_token_file`, as Prometheus's
    `authorization` setting sends it."""

    model_config = ConfigDict(extra="forbid")

    # "host:port", e.g. "127.0.0.1:9464".
    metrics_listen: str | None = None
    metrics_token_file: Path | None = None
    # OpenTelemetry traces, off unless set: an OTLP/HTTP collector's base URL, e.g.
    # "http://127.0.0.1:4318" (spans go to <it>/v1/traces; OTEL_EXPORTER_OTLP_HEADERS adds headers).
    otlp_endpoint: str | None = None
    # "json": one JSON object per log line, with trace, span, session, execution and request ids.
    log_format: Literal["text", "json"] = "text"

    @field_validator("metrics_listen")
    @classmethod
    def _host_and_port(cls, listen: str | None) -> str | None:
        return checked_host_and_port(listen)

    @field_validator("otlp_endpoint")
    @classmethod
    def _collector_url(cls, endpoint: str | None) -> str | None:
        if endpoint is not None:
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.query:
                raise ValueError(f"{endpoint[:100]!r} is not a collector's base URL, e.g. 'http://127.0.0.1:4318' "
                                 "(no credentials in it: set OTEL_EXPORTER_OTLP_HEADERS)")
        return endpoint

    @model_validator(mode="after")
    def _token_off_loopback(self) -> TelemetryConfig:
        if self.metrics_listen is not None and not listens_on_loopback(self.metrics_listen) and self.metrics_token_file is None:
            raise ValueError(f"telemetry.metrics_listen = {self.metrics_listen!r} is reachable from other machines: set "
                             "telemetry.metrics_token_file (a bearer token the scraper sends), or listen on 127.0.0.1")
        return self

    def metrics_token(self) -> str | None:
        return _read_token(self.metrics_token_file, "telemetry.metrics_token_file")


def split_listen(listen: str) -> tuple[str, str]:
    """("host", "port") of "host:port" or "[v6]:port"."""
    host, _, port = listen.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), port


def origin_problem(origin: str) -> str | None:
    """Why `origin` is not an origin as a browser sends it (None when it is one)."""
    if "*" in origin:
        return ("has a wildcard: any web page could then call the API with its user's token; "
                "list each console's origin exactly, e.g. 'https://console.example.com'")
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return "is not an origin such as 'https://console.example.com'"
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return "is not an origin: scheme://host[:port] with no path, e.g. 'https://console.example.com'"
    canonical = f"{parts.scheme}://{parts.netloc.lower()}"
    if port == {"http": 80, "https": 443}[parts.scheme]:
        canonical = canonical.rsplit(":", 1)[0]
    if origin != canonical:
        return f"is not written as browsers send it: write {canonical!r}"
    return None


class NotificationsConfig(BaseModel):
    """Webhook and apprise deliveries (orchestrator/notifications/, docs/operators.md "Notifications")."""

    model_config = ConfigDict(extra="forbid")

    # Destinations are given by API callers: loopback, private, link-local and metadata
    # addresses are refused (SSRF) unless this is on (a receiver on this host or network).
    allow_private_destinations: bool = False
    # Each POST (or apprise send) gives up after this; the response body is read at most `response_bytes`.
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    response_bytes: int = Field(default=4096, ge=0, le=1024 * 1024)
    # Retries: exponential back-off from `backoff_initial_seconds`, doubled per attempt up to
    # `backoff_max_seconds`, with full jitter; a delivery is dead-lettered after `max_attempts`
    # or once `max_age_seconds` have passed since its event.
    max_attempts: int = Field(default=12, ge=1, le=100)
    max_age_seconds: float = Field(default=86400.0, gt=0)
    backoff_initial_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=3600.0, gt=0)
    # How long a replica holds a delivery it is sending; another takes it over after that.
    lease_seconds: float = Field(default=60.0, gt=0)
    # Deliveries sent at once by one replica (each to a different queue).
    concurrency: int = Field(default=8, ge=1, le=256)
    # Fallback wake-up when nothing announces a due retry.
    poll_seconds: float = Field(default=5.0, gt=0)
    # `suggestion.expiring` is sent this long before a suggestion expires (half its life for a
    # shorter-lived one); expiry itself is applied within `expiry_sweep_seconds`.
    expiring_lead_seconds: float = Field(default=300.0, gt=0)
    expiry_sweep_seconds: float = Field(default=10.0, gt=0, le=300)

    @model_validator(mode="after")
    def _lease_outlives_a_send(self) -> NotificationsConfig:
        if self.lease_seconds <= self.timeout_seconds:
            raise ValueError(f"lease_seconds ({self.lease_seconds}) must exceed timeout_seconds ({self.timeout_seconds}): "
                             "a replica would take over a delivery still being sent")
        return self


class OrchestratorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listen: str = "127.0.0.1:50051"
    # "sqlite:///path" (one orchestrator) or "postgresql+psycopg://user:password@host/db"
    # (any number of orchestrators sharing it).
    database_url: str = "sqlite:///var/orchestrator.db"
    # This orchestrator among those sharing the database; keep it stable across restarts
    # (a restarted replica recovers its own unfinished work at once). Default: the host name.
    replica_id: str = Field(default_factory=socket.gethostname, min_length=1, max_length=64)
    signer_socket: Path = Path("var/signer/signer.sock")
    # Per-execution socket directories are made under this directory.
    socket_root: Path = Path("var/run/executions")
    # API keys of `corral user add` (principals with roles and wallets, docs/api.md "Who may
    # call what"): every frontend call must carry `authorization: Bearer corral_…`.
    api_keys: bool = False
    # The older single token: every frontend call must carry `authorization: Bearer <token>`,
    # and that token may do anything. Not with api_keys.
    api_token_file: Path | None = None
    # The credential that lifts a platform halt (ResumePlatform), apart from the API token:
    # whoever runs sessions must not be able to undo an operator's emergency stop. With an
    # API token set and no resume token, a halt is lifted only by an operator who sets one.
    resume_token_file: Path | None = None
    # TLS for the frontend API: both set, or neither (plaintext, for local use).
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    chains: dict[str, ChainConfig] = Field(
        default_factory=lambda: {"ethereum:31337": ChainConfig(rpc_url="http://127.0.0.1:8545")}
    )
    # Off unless set: `[solana] rpc_url = "..."` enables Solana sessions.
    solana: SolanaConfig | None = None
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    egress: EgressConfig = Field(default_factory=EgressConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    reconciliation: ReconciliationConfig = Field(default_factory=ReconciliationConfig)
    breakers: PlatformBreakerConfig = Field(default_factory=PlatformBreakerConfig)
    swaps: SwapConfig = Field(default_factory=SwapConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    recording: RecordingConfig = Field(default_factory=RecordingConfig)
    market_data: MarketDataConfig = Field(default_factory=MarketDataConfig)
    paper: PaperConfig = Field(default_factory=PaperConfig)
    # Connect and gRPC-Web for browsers: off unless `[browser] listen` is set.
    browser: BrowserConfig = Field(default_factory=BrowserConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    # Prometheus metrics: off unless `[telemetry] metrics_listen` is set.
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    # Venues: off unless their table is present.
    hyperliquid: HyperliquidConfig | None = None
    polymarket: PolymarketConfig | None = None
    # USD price sources per (network, asset), for GetSessionSummary: none by default.
    prices: list[PriceSource] = Field(default_factory=list)

    def chain_nodes(self) -> dict[str, str]:
        """Every configured network's JSON-RPC URL (EVM chains and Solana)."""
        nodes = {network: chain.rpc_url for network, chain in self.chains.items()}
        if self.solana is not None:
            nodes["solana"] = self.solana.rpc_url
        return nodes

    @field_validator("socket_root")
    @classmethod
    def _short_enough_for_sockets(cls, root: Path) -> Path:
        # A Unix socket path holds at most 107 bytes; "<root>/sbx-<16 hex>/runtime.sock" must fit.
        if len(str(root.resolve())) > 107 - len("/sbx-0123456789abcdef/runtime.sock"):
            raise ValueError(f"socket_root {root} is too long for Unix socket paths; choose a shorter directory (e.g. /run/corral)")
        return root

    @field_validator("chains")
    @classmethod
    def _network_ids(cls, chains: dict[str, ChainConfig]) -> dict[str, ChainConfig]:
        for network in chains:
            parsed = parse_or_none(network)
            if parsed is None or not parsed.is_evm:
                raise ValueError(f"chain {network!r}: EVM networks are named 'ethereum:<chainId>'")
        return chains

    @model_validator(mode="after")
    def _polymarket_chain(self) -> OrchestratorConfig:
        if self.polymarket is not None and self.polymarket.network not in self.chains:
            raise ValueError(f"polymarket.network {self.polymarket.network!r} is not one of the configured chains ({sorted(self.chains)})")
        return self

    @model_validator(mode="after")
    def _tls_pair(self) -> OrchestratorConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together: set both (PEM files) or neither")
        return self

    @model_validator(mode="after")
    def _not_exposed_without_guards(self) -> OrchestratorConfig:
        # Off this machine, a plaintext or token-less API hands sessions, suggestions and
        # the kill switch to anyone on the network.
        if self.api_keys and self.api_token_file is not None:
            raise ValueError("api_keys and api_token_file both set: API keys replace the single token; remove api_token_file")
        authenticated = self.api_keys or self.api_token_file is not None
        for field, listen in (("listen", self.listen), ("browser.listen", self.browser.listen)):
            if listen is not None and not listens_on_loopback(listen) and (not authenticated or self.tls_cert_file is None):
                raise ValueError(
                    f"{field} = {listen!r} is reachable from other machines: set api_keys = true (or api_token_file) and "
                    "tls_cert_file/tls_key_file, or listen on 127.0.0.1 (a TLS-terminating proxy in front "
                    "then connects to the loopback address)"
                )
        metrics = self.telemetry.metrics_listen
        if metrics is not None and not listens_on_loopback(metrics) and self.tls_cert_file is None:
            raise ValueError(f"telemetry.metrics_listen = {metrics!r} is reachable from other machines: set tls_cert_file/tls_key_file "
                             "(its bearer token would otherwise cross the network in the clear), or listen on 127.0.0.1")
        if self.resume_token_file is not None and self.resume_token_file == self.api_token_file:
            raise ValueError("resume_token_file must be its own file, with a credential different from the API token")
        return self

    def server_credentials(self) -> grpc.ServerCredentials | None:
        if self.tls_cert_file is None:
            return None
        return grpc.ssl_server_credentials([(self.tls_key_file.read_bytes(), self.tls_cert_file.read_bytes())])

    def api_token(self) -> str | None:
        return _read_token(self.api_token_file, "api_token_file")

    def resume_token(self) -> str | None:
        token = _read_token(self.resume_token_file, "resume_token_file")
        if token is not None and token == self.api_token():
            raise ValueError("resume_token_file holds the API token: the resume credential must be a different secret")
        return token


def _read_token(path: Path | None, field: str) -> str | None:
    if path is None:
        return None
    token = path.read_text().strip()
    if not token:
        # An empty file must not silently turn the guard off.
        raise ValueError(f"{field} {path} is empty: write the token into it (e.g. `openssl rand -hex 32 > {path}`)")
    return token


def listens_on_loopback(listen: str) -> bool:
    """Whether a gRPC listen address ("host:port", "[v6]:port", "unix:path") is reachable
    only from this machine."""
    if listen.startswith(("unix:", "unix-abstract:")):
        return True
    host = split_listen(listen)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: whatever it resolves to may be public


def config_problem(exc: Exception) -> str:
    """What is wrong with a config, in the config's own terms (field: what to do)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()
        )
    return str(exc)


def load_config(path: Path | None) -> OrchestratorConfig:
    if path is None:
        return OrchestratorConfig()
    return OrchestratorConfig.model_validate(tomli.loads(path.read_text()))
