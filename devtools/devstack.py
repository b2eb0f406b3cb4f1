"""A whole local platform as real processes: anvil, the signer and the orchestrator.

Used by `corral demo` and by the end-to-end tests, so both exercise exactly what a
user runs: each component is started through the `corral` command, talks over its
real socket or port, and is stopped by the PID this module started.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import grpc
from web3 import Web3

from corral.v1 import orchestrator_pb2_grpc
from sandbox_runner.host.socket_dirs import remove_tree

REPO_ROOT = Path(__file__).resolve().parent.parent
ANVIL_CANDIDATES = [REPO_ROOT / ".tools/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"]
ANVIL_CHAIN_ID = 31337
# -P: the working directory (which holds e.g. a `signer/` home) must not shadow packages.
CORRAL_COMMAND = [sys.executable, "-P", "-m", "corral_cli.main"]


def find_anvil() -> str:
    for candidate in [os.environ.get("CORRAL_ANVIL"), *map(str, ANVIL_CANDIDATES), shutil.which("anvil")]:
        if candidate and Path(candidate).exists():
            return candidate
    raise FileNotFoundError("anvil not found: run scripts/setup (it installs @foundry-rs/anvil-linux-amd64 from npm)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(check, what: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up within {timeout}s")


def _channel_ready(channel: grpc.Channel) -> bool:
    """Whether `channel` connects within a second. The readiness future is cancelled either
    way: left running, its polling thread would outlive the channel."""
    future = grpc.channel_ready_future(channel)
    try:
        future.result(timeout=1)
        return True
    except grpc.FutureTimeoutError:
        return False
    finally:
        future.cancel()


SIGNER_USER = "corral-signer"
ORCHESTRATOR_USER = "corral-orchestrator"


def _service_user(name: str) -> str | None:
    """`name` when this process is root and the user exists (scripts/setup makes it)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        return None
    return name


def _toml(top: dict[str, object], tables: dict[str, dict[str, object]]) -> str:
    """A TOML document: top-level keys first (a key after a [table] would belong to it)."""
    lines = [f"{key} = {json.dumps(value)}" for key, value in top.items()]
    for name, values in tables.items():
        # Nested tables ([egress.limits], [egress.resolve]) after the table's own keys.
        lines += [f"[{name}]", *(f"{json.dumps(key)} = {json.dumps(value)}" for key, value in values.items() if not isinstance(value, dict))]
        for key, value in values.items():
            if isinstance(value, dict):
                lines += [f"[{name}.{json.dumps(key)}]", *(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items())]
    return "\n".join(lines) + "\n"


def _reachable_by_others(path: Path) -> bool:
    """Can a user other than the owner traverse every directory down to `path`?"""
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents] if p.exists())


class _BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds `authorization: Bearer <token>` to every call on a plaintext channel."""

    def __init__(self, token: str) -> None:
        self._metadata = ("authorization", f"Bearer {token}")

    def _with_token(self, details):
        return _Details(details, [*(details.metadata or ()), self._metadata])

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_token(details), request)


class _Details(grpc.ClientCallDetails):
    def __init__(self, details, metadata) -> None:
        self.method, self.timeout, self.credentials = details.method, details.timeout, details.credentials
        self.wait_for_ready, self.compression, self.metadata = details.wait_for_ready, details.compression, metadata


class DevStack:
    """Starts anvil, the signer and the orchestrator under `home`; `close()` stops them."""

    def __init__(
        self,
        home: Path,
        *,
        minute_seconds: float = 60.0,
        deadline_seconds: float = 60.0,
        sandbox: dict[str, object] | None = None,
        max_parallel_executions: int = 4,
        signer_user: str | None = "auto",
        orchestrator_user: str | None = "auto",
        api_token: str | None = None,
        resume_token: str | None = None,
        tls: tuple[Path, Path] | None = None,
        reconciliation: dict[str, object] | None = None,
        uniswap: bool = False,
        swaps: dict[str, object] | None = None,
        solana: bool = False,
        chain: dict[str, object] | None = None,
        database_url: str | None = None,
        replica_id: str | None = None,
        scheduler: dict[str, object] | None = None,
        venues: dict[str, dict[str, object]] | None = None,
        market_data: dict[str, object] | None = None,
        egress: dict[str, object] | None = None,
        browser_origins: list[str] | None = None,
        api_keys: bool = False,
        metrics: bool = False,
        telemetry: dict[str, object] | None = None,
        node: tuple[str, int] | None = None,
    ) -> None:
        """`orchestrator_user`: run the orchestrator as this unprivileged user ("auto":
        corral-orchestrator when started as root), with sandboxes started by a privileged
        launcher, the layout of docs/deploy.md.
        `api_token`: the orchestrator requires it (the stack's own client sends it).
        `resume_token`: the separate credential that lifts a platform halt.
        `tls`: (certificate, key) PEM files the orchestrator serves its API with; the
        stack's client trusts that certificate.
        `browser_origins`: serve the API to browsers too (`[browser]`, on `browser_address`),
        to pages of these origins.
        `api_keys`: callers need a key of `corral user add` (`add_user`); the stack's own
        client is the user "stack", with every role and every wallet `create_wallets` makes.
        `metrics`: serve Prometheus's /metrics (`[telemetry]`) at `metrics_url`.
        `telemetry`: more `[telemetry]` settings, e.g. {"otlp_endpoint": ..., "log_format": "json"}.
        `node`: (RPC URL, chain id) of a node to configure as the chain instead of starting
        anvil (a backtest's source chain); `chain` may name its uniswap_v2_router."""
        self.home = home.resolve()
        self.minute_seconds = minute_seconds
        self.max_parallel_executions = max_parallel_executions
        # The orchestrator's [sandbox] settings (see orchestrator/config.py).
        self.sandbox = {"deadline_seconds": deadline_seconds, **(sandbox or {})}
        self.processes: dict[str, subprocess.Popen] = {}
        self.api_token = api_token
        self.resume_token = resume_token
        self.api_keys = api_keys
        if api_keys and api_token:
            raise ValueError("api_keys and api_token: one or the other")
        self.tls = tls
        # The orchestrator's [reconciliation] and [swaps] settings (see orchestrator/config.py).
        self.reconciliation = reconciliation or {}
        # Extra settings of the anvil chain's [chains."ethereum:31337"] table.
        self.chain = chain or {}
        # Default: a SQLite file in `home`. PostgreSQL (devtools.devpostgres) for several replicas.
        self.database_url = database_url
        self.replica_id = replica_id
        # Extra [scheduler] settings, e.g. lease_seconds.
        self.scheduler = scheduler or {}
        # The orchestrator's [egress] settings; `extra_ca_file` is copied where it may read it.
        # A development platform permits any public HTTPS host (an installation's default is none).
        self.egress = egress if egress is not None else {"allow_hosts": ["*"]}
        self._secrets_key = os.urandom(32)  # the same across the stack's restarts: its secrets still open
        self.swaps = swaps or {}
        self.browser_origins = browser_origins
        self.browser_address = ""
        self.metrics = metrics
        self.metrics_url = ""
        self.telemetry = telemetry or {}
        # The orchestrator's venue tables, e.g. {"hyperliquid": {"api_url": ...}}; `venues`
        # may be filled in after construction (a venue's address known once anvil runs).
        self.venues = venues or {}
        # The orchestrator's [market_data] settings, e.g. {"hyperliquid_coins": ["BTC"], "every_seconds": 1}.
        self.market_data = market_data or {}
        # With `uniswap`, anvil gets a Uniswap-V2-compatible factory and router (contracts/)
        # and the orchestrator's uniswap-v2 swap engine is pointed at it.
        self.uniswap = uniswap
        self.uniswap_factory = self.uniswap_router = ""
        # With `solana`, a LiteSVM devchain (devtools.solana_devchain) runs as network "solana".
        self.solana = solana
        self.solana_rpc_url = ""
        # Started by root on a host with the `corral-signer` user (scripts/setup makes it),
        # the signer runs as that user, as in production.
        self.signer_user = signer_user if signer_user != "auto" else _service_user(SIGNER_USER)
        self.orchestrator_user = orchestrator_user if orchestrator_user != "auto" else _service_user(ORCHESTRATOR_USER)
        self.signer_home = self.home / "signer"
        self._signer_home_parent: Path | None = None
        if self.signer_user and not _reachable_by_others(self.home):
            # (pytest's temporary directories are private to root.)
            self._signer_home_parent = Path(tempfile.mkdtemp(prefix="corral-signer-"))
            self._signer_home_parent.chmod(0o711)
            self.signer_home = self._signer_home_parent / "signer"
        # Unix socket paths are limited to 108 bytes: execution sockets live under a short path.
        self.socket_root = Path(tempfile.mkdtemp(prefix="corral-")) / "x"
        # The sandbox user must be able to reach its socket directory (bubblewrap binds as that user).
        self.socket_root.parent.chmod(0o711)
        self.passphrase_file = self.home / "passphrase"
        # Where the orchestrator keeps its database (it must be able to write it), and where
        # its configuration and credentials are (it must be able only to read them).
        self.orchestrator_dir = self.home
        self.orchestrator_config_dir = self.home
        self.signer_socket = self.signer_home / "signer.sock"
        self.launcher_socket: Path | None = None
        if self.orchestrator_user:
            self._unprivileged_layout()
        self.node = node
        self.chain_id = node[1] if node else ANVIL_CHAIN_ID
        self.rpc_url = ""
        self.api_address = ""
        self.channel: grpc.Channel | None = None
        self.api: orchestrator_pb2_grpc.OrchestratorServiceStub | None = None
        self.web3: Web3 | None = None

    def _unprivileged_layout(self) -> None:
        """docs/deploy.md's layout, under one root-owned directory in /tmp: the
        orchestrator's own state (its user's, 0700), its configuration and credentials
        (root's, readable by its group: root never writes into a directory the orchestrator
        owns, where a link could send the write elsewhere), the signer's socket directory
        (the signer's user, the orchestrator's group, 2750), and the launcher's socket and
        sandbox directories (root's)."""
        account = pwd.getpwnam(self.orchestrator_user)
        shutil.rmtree(self.socket_root.parent)  # the launcher's directories replace it
        run = Path(tempfile.mkdtemp(prefix="corral-run-"))
        run.chmod(0o711)
        self.orchestrator_dir = run / "orchestrator"
        self.orchestrator_dir.mkdir(mode=0o700)
        os.chown(self.orchestrator_dir, account.pw_uid, account.pw_gid)
        self.orchestrator_config_dir = run / "config"
        self.orchestrator_config_dir.mkdir(mode=0o750)
        os.chown(self.orchestrator_config_dir, 0, account.pw_gid)
        self.signer_socket = run / "signer" / "signer.sock"
        self.launcher_socket = run / "launcher" / "launcher.sock"
        self.socket_root = run / "sandboxes"

    @property
    def database_path(self) -> Path:
        """The SQLite database (when no database_url was given)."""
        return self.orchestrator_dir / "orchestrator.db"

    def _write_config_file(self, name: str, content: bytes) -> Path:
        """A file of the orchestrator's configuration: root's, readable by the orchestrator's
        group (when it has its own user), never writable by it."""
        path = self.orchestrator_config_dir / name
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, content)
            if self.orchestrator_user:
                os.fchown(fd, 0, pwd.getpwnam(self.orchestrator_user).pw_gid)
                os.fchmod(fd, 0o640)
        finally:
            os.close(fd)
        return path

    # -- processes ----------------------------------------------------------------

    def corral(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """Runs a `corral` CLI command to completion (text mode, checked)."""
        return subprocess.run([*CORRAL_COMMAND, *args], cwd=self.home, text=True, capture_output=True, check=True, **kwargs)

    def _spawn(self, name: str, argv: list[str], crash_at: str | None = None) -> subprocess.Popen:
        """`crash_at`: a point of corral.failpoints at which the process kills itself."""
        log = open(self.home / f"{name}.log", "ab")
        env = {**os.environ, "CORRAL_CRASH_AT": crash_at} if crash_at else None
        process = subprocess.Popen(argv, cwd=self.home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.processes[name] = process
        return process

    def start(self) -> DevStack:
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            if self.node:
                self.rpc_url = self.node[0]
                self.web3 = Web3(Web3.HTTPProvider(self.rpc_url))
            else:
                self.start_anvil()
            if self.solana:
                self.start_solana_devchain()
            self.start_signer()
            self.start_orchestrator()
        except BaseException:
            self.close()
            raise
        return self

    def start_anvil(self) -> None:
        port = free_port()
        self.rpc_url = f"http://127.0.0.1:{port}"
        process = self._spawn("anvil", [find_anvil(), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(ANVIL_CHAIN_ID)])
        self.web3 = Web3(Web3.HTTPProvider(self.rpc_url))
        _wait_for(lambda: self.web3.eth.chain_id == ANVIL_CHAIN_ID, "anvil", 30, process)
        if self.uniswap:
            from devtools import contracts

            # From an account nothing else uses, so the addresses are the same on every run.
            deployer = self.web3.eth.accounts[9]
            self.uniswap_factory = contracts.deploy(self.web3, "UniswapV2Factory", sender=deployer)
            self.uniswap_router = contracts.deploy(self.web3, "UniswapV2Router02", self.uniswap_factory, sender=deployer)

    def start_solana_devchain(self) -> None:
        port = free_port()
        self.solana_rpc_url = f"http://127.0.0.1:{port}"
        process = self._spawn("solana-devchain", [sys.executable, "-m", "devtools.solana_devchain", "--port", str(port)])
        _wait_for(lambda: self.solana_rpc("getHealth") == "ok", "the Solana devchain", 30, process)

    def solana_rpc(self, method: str, *params: object) -> object:
        """One JSON-RPC call to the Solana devchain; returns its result (raises on an error)."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(self.solana_rpc_url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def start_signer(self, crash_at: str | None = None) -> None:
        if not self.passphrase_file.exists():
            fd = os.open(self.passphrase_file, os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, os.urandom(24).hex().encode())
            os.close(fd)
        self.signer_socket.unlink(missing_ok=True)  # a stale one would look ready
        serve = ["serve", "--user", self.signer_user, "--allow-uid", str(os.getuid())] if self.signer_user else ["serve"]
        if self.orchestrator_user:
            account = pwd.getpwnam(self.orchestrator_user)
            serve += ["--allow-uid", str(account.pw_uid), "--socket-dir", str(self.signer_socket.parent),
                      "--client-group", grp.getgrgid(account.pw_gid).gr_name]
        process = self._spawn(
            "signer", CORRAL_COMMAND + ["signer", "--home", str(self.signer_home), "--passphrase-file", str(self.passphrase_file), *serve],
            crash_at,
        )
        _wait_for(lambda: self.signer_socket.exists(), "the signer", 30, process)

    def start_launcher(self) -> None:
        """The privileged launcher the unprivileged orchestrator asks for sandboxes."""
        argv = ["launcher", "serve", "--client-user", self.orchestrator_user, "--socket", str(self.launcher_socket),
                "--socket-root", str(self.socket_root), "--backend", str(self.sandbox.get("backend", "docker"))]
        if self.sandbox.get("runtime"):
            argv += ["--runtime", str(self.sandbox["runtime"])]
        self.launcher_socket.unlink(missing_ok=True)
        process = self._spawn("launcher", CORRAL_COMMAND + argv)
        _wait_for(lambda: self.launcher_socket.exists(), "the launcher", 30, process)

    def _orchestrator_argv(self, config: Path) -> list[str]:
        return self._as_orchestrator_user(CORRAL_COMMAND + ["serve", "--config", str(config)])

    def _as_orchestrator_user(self, argv: list[str]) -> list[str]:
        if not self.orchestrator_user:
            return argv
        # Exec'd, not Popen(user=): no fork of this (gRPC-threaded) process runs Python.
        return ["setpriv", "--reuid", self.orchestrator_user, "--regid", self.orchestrator_user, "--clear-groups", *argv]

    def start_orchestrator(self, crash_at: str | None = None) -> None:
        if self.orchestrator_user and "launcher" not in self.processes:
            self.start_launcher()
        # Chosen at the first start and kept: a restarted orchestrator is where its clients
        # (a browser's open console, a scraper) left it, as a service's would be.
        self.api_address = self.api_address or f"127.0.0.1:{free_port()}"
        if self.browser_origins is not None:
            self.browser_address = self.browser_address or f"127.0.0.1:{free_port()}"
        if self.metrics:
            self.metrics_url = self.metrics_url or f"http://127.0.0.1:{free_port()}/metrics"
        config = self._orchestrator_config("orchestrator", self.api_address, self.replica_id, self.socket_root)
        if self.api_keys and self.api_token is None:
            self.api_token = self.add_user("stack", ["viewer", "operator", "approver", "admin"])
        process = self._spawn("orchestrator", self._orchestrator_argv(config), crash_at)
        self.channel = self.open_channel(token=self.api_token)
        self.api = orchestrator_pb2_grpc.OrchestratorServiceStub(self.channel)
        _wait_for(lambda: _channel_ready(self.channel), "the orchestrator", 60, process)

    def start_replica(self, name: str) -> str:
        """Another orchestrator on the stack's database (use PostgreSQL), with replica id
        `name`, its own API port and socket directory; returns its API address."""
        address = f"127.0.0.1:{free_port()}"
        socket_root = Path(tempfile.mkdtemp(prefix="corral-", dir=self.socket_root.parent)) / "x"
        config = self._orchestrator_config(name, address, name, socket_root)
        process = self._spawn(name, self._orchestrator_argv(config))
        with grpc.insecure_channel(address) as channel:
            _wait_for(lambda: _channel_ready(channel), f"orchestrator {name}", 60, process)
        return address

    def _orchestrator_config(self, name: str, listen: str, replica_id: str | None, socket_root: Path) -> Path:
        top: dict[str, object] = {
            "listen": listen,
            "database_url": self.database_url or f"sqlite:///{self.database_path}",
            "signer_socket": str(self.signer_socket),
            "socket_root": str(socket_root),
        }
        if replica_id:
            top["replica_id"] = replica_id
        if self.api_keys:
            top["api_keys"] = True
        for field, token in (("api_token_file", None if self.api_keys else self.api_token), ("resume_token_file", self.resume_token)):
            if token:
                top[field] = str(self._write_config_file(field.removesuffix("_file").replace("_", "-"), token.encode()))
        if self.tls:  # copied where the orchestrator's user may read them
            for field, source in (("tls_cert_file", self.tls[0]), ("tls_key_file", self.tls[1])):
                top[field] = str(self._write_config_file(f"tls-{source.name}", source.read_bytes()))
        chain: dict[str, object] = {"rpc_url": self.rpc_url, **self.chain}
        if self.uniswap_router:
            chain["uniswap_v2_router"] = self.uniswap_router
        scheduler = {"minute_seconds": self.minute_seconds, "max_parallel_executions": self.max_parallel_executions, **self.scheduler}
        sandbox = self.sandbox
        if self.launcher_socket:  # the backend and runtime are the launcher's
            sandbox = {k: v for k, v in sandbox.items() if k not in ("backend", "runtime")} | {"launcher_socket": str(self.launcher_socket)}
        tables = {
            f'chains."ethereum:{self.chain_id}"': chain, "sandbox": sandbox, "scheduler": scheduler,
            "reconciliation": self.reconciliation, "swaps": self.swaps,
        }
        tables.update(self.venues, **({"market_data": self.market_data} if self.market_data else {}))
        if self.browser_address and name == "orchestrator":
            tables["browser"] = {"listen": self.browser_address, "allowed_origins": self.browser_origins}
        telemetry = dict(self.telemetry)
        if self.metrics_url and name == "orchestrator":
            telemetry["metrics_listen"] = self.metrics_url.removeprefix("http://").removesuffix("/metrics")
        if telemetry:
            tables["telemetry"] = telemetry
        if self.egress:
            egress = dict(self.egress)
            if "extra_ca_file" in egress:
                source = Path(str(egress["extra_ca_file"]))
                egress["extra_ca_file"] = str(self._write_config_file(f"egress-{source.name}", source.read_bytes()))
            # Secrets on: a key among its credentials, the interception CA in its own state.
            egress.setdefault("secrets_key_file", str(self._write_config_file("secrets.key", self._secrets_key)))
            egress.setdefault("interception_ca_dir", str(self.orchestrator_dir))
            tables["egress"] = egress
        if self.solana_rpc_url:
            tables["solana"] = {"rpc_url": self.solana_rpc_url, "confirmation_timeout_seconds": 30.0}
        tables["paper"] = {"anvil_path": find_anvil(), "state_dir": str(self.orchestrator_dir / f"paper-forks-{name}")}
        return self._write_config_file(f"{name}.toml", _toml(top, tables).encode())

    def open_channel(self, token: str | None = None, tls: bool | None = None) -> grpc.Channel:
        """A channel to the API as a client would open it: over TLS when the stack serves
        TLS (unless `tls=False`), sending `token` on every call when given."""
        use_tls = bool(self.tls) if tls is None else tls
        if not use_tls:
            channel = grpc.insecure_channel(self.api_address)
            return grpc.intercept_channel(channel, _BearerToken(token)) if token else channel
        credentials = grpc.ssl_channel_credentials(root_certificates=self.tls[0].read_bytes())
        if token:
            credentials = grpc.composite_channel_credentials(credentials, grpc.access_token_call_credentials(token))
        return grpc.secure_channel(self.api_address, credentials)

    def restart_orchestrator(self, crash_at: str | None = None) -> None:
        """Stops the orchestrator (SIGTERM, as a service manager would, unless it is dead
        already) and starts it again on the same database; armed to crash at `crash_at`."""
        self._stop("orchestrator")
        self.channel.close()
        self.start_orchestrator(crash_at)

    def restart_signer(self, crash_at: str | None = None) -> None:
        """Stops the signer (unless it is dead already) and starts it again on the same home."""
        self._stop("signer")
        self.start_signer(crash_at)

    def wait_for_crash(self, name: str, timeout: float = 120.0) -> int:
        """Waits until the process (armed with `crash_at`) has died; returns its exit status."""
        return self.processes[name].wait(timeout=timeout)

    def _stop(self, name: str) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
        for _name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.processes.clear()
        # Holds the orchestrator's files: removed without following its links or opening them.
        remove_tree(self.socket_root.parent)
        if self._signer_home_parent is not None:
            shutil.rmtree(self._signer_home_parent, ignore_errors=True)

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- helpers for demos and tests ------------------------------------------------

    def create_wallet(self, *allowed_chains: int, recipients: list[str] | None = None) -> str:
        return self.create_wallets(1, *allowed_chains, recipients=recipients)[0]

    def create_wallets(self, count: int, *allowed_chains: int, recipients: list[str] | None = None) -> list[str]:
        """Wallets with the CLI's shorthand policy (its default caps per transaction and per
        day) on `allowed_chains` (default: anvil's); transfers may go to `recipients`, or,
        when None, anywhere (a development chain's wallet)."""
        args = ["signer", "--home", str(self.signer_home), "--passphrase-file", str(self.passphrase_file), "wallet", "create"]
        for chain_id in allowed_chains or (self.chain_id,):
            args += ["--allow-chain", str(chain_id)]
        if recipients is None:
            args.append("--allow-any-recipient")
        for recipient in recipients or []:
            args += ["--allow-recipient", recipient]
        # Throwaway keys on a development chain: geth's light scrypt cost keeps tests fast.
        wallets = self.corral(*args, "--count", str(count), "--light-kdf").stdout.split()
        if self.api_keys:
            self.user_command("grant", "stack", *[arg for w in wallets for arg in ("--wallet", w)])
        return wallets

    def user_command(self, *args: str) -> subprocess.CompletedProcess:
        """`corral user ARGS` on the stack's database, as the orchestrator's user (whose files it writes)."""
        argv = self._as_orchestrator_user([*CORRAL_COMMAND, "user", *args, "--config", str(self.orchestrator_config_dir / "orchestrator.toml")])
        return subprocess.run(argv, cwd=self.home, text=True, capture_output=True, check=False)

    def add_user(self, name: str, roles: list[str], wallets: list[str] = ()) -> str:  # type: ignore[assignment]
        """A user's API key (`corral user add`)."""
        args = ["add", name, *[a for r in roles for a in ("--role", r)], *[a for w in wallets for a in ("--wallet", w)]]
        done = self.user_command(*args)
        if done.returncode != 0:
            raise RuntimeError(f"corral user add {name}: {done.stderr.strip()}")
        return done.stdout.strip()

    def create_solana_wallet(self) -> str:
        """A Solana wallet; its policy allows nothing until `set_policy`."""
        args = ["signer", "--home", str(self.signer_home), "--passphrase-file", str(self.passphrase_file)]
        wallet = self.corral(*args, "wallet", "create", "--type", "solana", "--light-kdf").stdout.strip()
        if self.api_keys:
            self.user_command("grant", "stack", "--wallet", wallet)
        return wallet

    def airdrop(self, address: str, lamports: int) -> None:
        """Funds a Solana address on the devchain (requestAirdrop lands at once there)."""
        self.solana_rpc("requestAirdrop", address, lamports)

    def set_policy(self, wallet: str, policy: dict) -> None:
        """Replaces the wallet's policy as its owner does: `corral signer policy set --file`."""
        path = self.home / f"policy-{wallet}.json"
        path.write_text(json.dumps(policy))
        self.corral("signer", "--home", str(self.signer_home), "policy", "set", wallet, "--file", str(path))

    def fund(self, address: str, wei: int) -> None:
        """Sends ETH from one of anvil's unlocked development accounts."""
        funder = self.web3.eth.accounts[0]
        tx_hash = self.web3.eth.send_transaction({"from": funder, "to": Web3.to_checksum_address(address), "value": wei})
        self.web3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)

    def log_text(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""
