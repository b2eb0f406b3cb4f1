"""A session's named secrets: what they may be, how they are sealed in the database, and how
the egress proxy puts them into a request's headers.

An agent writes `{{secret:NAME}}` in a header value; the proxy replaces it with the value on
the way to the one host the secret is bound to, so the sandbox never holds the value. Values
are sealed with AES-GCM under the installation's key (`[egress] secrets_key_file`); the
associated data binds each ciphertext to its (session, name, host), so a row copied to
another session, name or host does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from corral.hosts import HostRule, HostRuleError, Scheme

NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
MAX_VALUE_BYTES = 4096
KEY_BYTES = 32
_NONCE_BYTES = 12
_VALUE = re.compile(r"[\x20-\x7e]+")
PLACEHOLDER = re.compile(r"\{\{secret:([^{}]{0,80})\}\}")


class SecretError(ValueError):
    """A secret that cannot be set; the message names the field and the fix."""


class SecretsKeyError(Exception):
    """The installation's secrets key is missing or unusable; the message names the setting."""


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise SecretError(f"name {name[:80]!r} must be 1 to 64 of A-Z, 0-9 and _, starting with a letter (e.g. COINGECKO_KEY)")
    return name


def check_value(value: str) -> str:
    if not value:
        raise SecretError("value is empty; pass the secret (on stdin with `corral secret set`)")
    if len(value) > MAX_VALUE_BYTES:
        raise SecretError(f"value is {len(value)} characters; a secret is at most {MAX_VALUE_BYTES} (it goes into an HTTP header)")
    if not _VALUE.fullmatch(value):
        # Never echo the value, not even a part of it.
        raise SecretError("value must be printable ASCII without line breaks or tabs (it goes into an HTTP header value)")
    return value


def bind_host(host: str, declared: tuple[HostRule, ...]) -> HostRule:
    """The rule a secret is bound to: one exact host (no wildcard: a secret goes to one
    server, not to whoever holds a subdomain), within a host the session declared."""
    try:
        rule = HostRule.parse(host)
    except HostRuleError as exc:
        raise SecretError(f"host: {exc}") from None
    if rule.host.startswith("*."):
        raise SecretError(f"host {host!r} is a wildcard; bind the secret to the one host it is for (e.g. api.{rule.host[2:]})")
    if not any(rule.within(allowed) for allowed in declared):
        shown = ", ".join(str(r) for r in declared) or "none"
        raise SecretError(f"host {host!r} is not one of the session's declared hosts ({shown}); bind the secret to one of them")
    return rule


@dataclass(frozen=True)
class BoundSecret:
    """One secret of an execution, as the proxy holds it."""

    name: str
    rule: HostRule
    value: str

    def __repr__(self) -> str:  # never the value, in a traceback or a debugger
        return f"BoundSecret({self.name!r}, {str(self.rule)!r})"


class SecretBox:
    """Seals and opens secret values with the installation's key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretsKeyError(f"the secrets key must be {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)
        # A key of its own for fingerprints, so no output of it is ever computed under the sealing key.
        self._fingerprint_key = hmac.new(key, b"corral-request-fingerprint", hashlib.sha256).digest()

    @classmethod
    def from_file(cls, path: Path | None) -> SecretBox:
        if path is None:
            raise SecretsKeyError("secrets are off: set [egress] secrets_key_file to a file of 32 random bytes "
                                  "(e.g. `head -c 32 /dev/urandom > var/secrets.key; chmod 600 var/secrets.key`)")
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise SecretsKeyError(f"[egress] secrets_key_file {path} cannot be read ({exc.strerror})") from None
        if len(key) != KEY_BYTES:
            raise SecretsKeyError(f"[egress] secrets_key_file {path} holds {len(key)} bytes; it must hold exactly {KEY_BYTES} random bytes")
        return cls(key)

    def fingerprint(self, data: bytes) -> str:
        """HMAC-SHA256 of `data` (hex): what a request carrying a secret value is stored as
        (orchestrator/api/idempotency.py), telling nothing about the value without the key."""
        return hmac.new(self._fingerprint_key, data, hashlib.sha256).hexdigest()

    @staticmethod
    def _context(session_id: int, name: str, host: str) -> bytes:
        return f"corral-secret\x00{session_id}\x00{name}\x00{host}".encode()

    def seal(self, session_id: int, name: str, host: str, value: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, value.encode("ascii"), self._context(session_id, name, host))

    def open(self, session_id: int, name: str, host: str, sealed: bytes) -> str | None:
        """The value, or None when the row does not open under this key and binding."""
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], self._context(session_id, name, host)).decode("ascii")
        except (InvalidTag, ValueError):
            return None


class PlaceholderRefused(Exception):
    """A header names a secret this request may not carry; the message names the secret only."""


def substitute(headers: list[tuple[str, str]], secrets: tuple[BoundSecret, ...], scheme: Scheme, host: str,
               port: int) -> list[tuple[str, str]]:
    """`headers` with every `{{secret:NAME}}` in a value replaced by the value of NAME bound
    to (scheme, host, port). A placeholder naming anything else is refused rather than sent on:
    the author learns at once that the name or the host is wrong."""
    values = {s.name: s.value for s in secrets if s.rule.matches(scheme, host, port)}

    def replace(match: re.Match[str]) -> str:
        name = match[1]
        if name not in values:
            shown = name if NAME.fullmatch(name) else "(not a secret name)"
            raise PlaceholderRefused(f"corral egress: no secret {shown} for {host}:{port} in this session "
                                     "(`corral secret list SESSION` shows the names and their hosts)")
        return values[name]

    return [(name, PLACEHOLDER.sub(replace, value)) for name, value in headers]


def has_placeholder(headers: list[tuple[str, str]]) -> bool:
    return any("{{secret:" in value for _, value in headers)
