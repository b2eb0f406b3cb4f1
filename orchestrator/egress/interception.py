"""TLS interception for the hosts a session has secrets for, and for every host of a
session that records its executions (exchanges.py): the installation's own CA (generated on
first use beside the secrets key, its key file 0600), a leaf certificate per host (the newest
LEAVES_KEPT cached: an agent declaring a wildcard cannot grow the cache by naming new hosts),
the server context the proxy answers an agent's TLS with, and the client context it opens
verified TLS to the real host with (system CAs plus `egress.extra_ca_file`). Making a leaf
takes milliseconds of CPU: callers on an event loop make it in a thread.

Sandboxes trust the CA through their socket directory's egress-ca.pem, only in executions
whose session has secrets or records. Other executions' hosts are never intercepted.
"""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_KEY_NAME = "egress-interception-ca.key"
CA_CERT_NAME = "egress-interception-ca.pem"
_LEAF_DAYS = 7
_LEAF_REUSE_SECONDS = 24 * 3600
LEAVES_KEPT = 256
_ALPN = ["http/1.1"]  # one request per connection, in HTTP/1.1: the proxy reads nothing else


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Corral"), x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False)


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


class InterceptionCA:
    """`InterceptionCA.load_or_create(folder)`; `.certificate_pem` for sandboxes' trust,
    `.server_context(host)` for the agent's side of an intercepted connection."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate, extra_ca_file: Path | None = None) -> None:
        self._key = key
        self._certificate = certificate
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
        self._leaves: OrderedDict[str, tuple[float, ssl.SSLContext]] = OrderedDict()
        self._lock = threading.Lock()
        self.upstream = ssl.create_default_context()
        if extra_ca_file is not None:
            self.upstream.load_verify_locations(cafile=str(extra_ca_file))
        self.upstream.set_alpn_protocols(_ALPN)

    @classmethod
    def load_or_create(cls, folder: Path, extra_ca_file: Path | None = None) -> InterceptionCA:
        key_path, cert_path = folder / CA_KEY_NAME, folder / CA_CERT_NAME
        if not key_path.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            now = datetime.datetime.now(datetime.UTC)
            name = _name(f"Corral egress interception CA {os.urandom(4).hex()}")
            certificate = (
                x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(_usage(ca=True), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256())
            )
            folder.mkdir(parents=True, exist_ok=True)
            try:
                _write_private(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
            except FileExistsError:  # another orchestrator made it first: use that one
                return cls.load_or_create(folder, extra_ca_file)
            cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        for _ in range(50):  # the replica that made the key writes the certificate next
            if cert_path.exists():
                break
            time.sleep(0.1)
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path} is not the EC key Corral made; remove it and {cert_path} to make a new CA")
        return cls(loaded, x509.load_pem_x509_certificate(cert_path.read_bytes()), extra_ca_file)

    def server_context(self, host: str) -> ssl.SSLContext:
        """A TLS server context presenting a leaf for `host` (made once a day per host)."""
        with self._lock:
            cached = self._leaves.get(host)
            if cached is not None and time.monotonic() - cached[0] < _LEAF_REUSE_SECONDS:
                self._leaves.move_to_end(host)
                return cached[1]
            context = self._make_context(host)
            self._leaves[host] = (time.monotonic(), context)
            self._leaves.move_to_end(host)
            while len(self._leaves) > LEAVES_KEPT:
                self._leaves.popitem(last=False)
            return context

    def _make_context(self, host: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        leaf = (
            x509.CertificateBuilder().subject_name(_name(host)).issuer_name(self._certificate.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=_LEAF_DAYS))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(_ALPN)
        # The stdlib loads a chain from files only: a private directory, removed at once.
        with tempfile.TemporaryDirectory(prefix="corral-leaf-") as folder:
            chain, key_file = Path(folder) / "chain.pem", Path(folder) / "key.pem"
            chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + self.certificate_pem)
            _write_private(key_file, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
            context.load_cert_chain(chain, key_file)

        def only_this_host(ssl_object: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> int | None:
            # The tunnel was opened to `host`; a ClientHello naming another is refused, as in a pass-through tunnel.
            return None if server_name == host else ssl.ALERTDESCRIPTION_UNRECOGNIZED_NAME

        context.sni_callback = only_this_host
        return context
