"""A stand-in HTTPS data service (as DefiLlama's price API would answer) with a certificate
authority of its own, for tests of the egress path: sandboxes trust the CA only through the
operator's `egress.extra_ca_file`, as they would a corporate proxy's.

`HttpsService(names=[...])` serves `GET /prices/current/<coin>` with a fixed price, records
every request (path and headers), and can be started on any loopback address and port (443 on
an address of its own, as a real API is reached, needs root). `service.required_headers`, when
set, makes it answer 401 to a request without those exact header values, as a keyed API does."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PRICE = 3141.5


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca_and_certificate(folder: Path, names: list[str]) -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key) in `folder`: a CA and a server certificate for `names`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name("Corral test CA")).issuer_name(_name("Corral test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


class HttpsService:
    """`with HttpsService(folder, ["prices.test"]) as service:` — service.port, service.ca_file, service.requests.

    `GET /prices/current/COIN` answers a price (`POST` too, its body kept in the request);
    `GET /echo` answers the request's headers as JSON; `GET /large/N` answers N bytes."""

    def __init__(self, folder: Path, names: list[str], tls: bool = True, address: str = "127.0.0.1", port: int = 0) -> None:
        self.ca_file, cert, key = make_ca_and_certificate(folder, names)
        self.requests: list[dict] = []
        self.required_headers: dict[str, str] = {}  # lower-case name -> the only value answered with 200
        self.price = PRICE
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 — the stdlib's name
                self._answer(b"")

            def do_POST(self) -> None:  # noqa: N802 — the stdlib's name
                self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def _answer(self, sent_body: bytes) -> None:
                service.requests.append({"path": self.path, "headers": dict(self.headers), "body": sent_body})
                sent = {name.lower(): value for name, value in self.headers.items()}
                if any(sent.get(name) != value for name, value in service.required_headers.items()):
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path = self.path.split("?", 1)[0]
                if path == "/echo":
                    body = json.dumps(dict(self.headers)).encode()
                elif path.startswith("/large/"):
                    body = b"x" * int(path.rsplit("/", 1)[-1])
                else:
                    coin = path.rsplit("/", 1)[-1]
                    body = json.dumps({"coins": {coin: {"price": service.price, "symbol": "ETH", "confidence": 0.99}}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((address, port), Handler)
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpsService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
