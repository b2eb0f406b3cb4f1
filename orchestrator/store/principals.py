"""Principals: who calls the frontend API, with which roles, on which wallets.

A principal's API key is `corral_<key id>_<secret>`: the key id (public, 16 hex characters)
finds the row, and the secret (32 random bytes, base64url) is compared with the stored
SHA-256 of it in constant time. A fast hash is enough because the secret is 256 random bits:
nothing short of guessing them finds a key from a leaked database (the reasoning behind
GitHub's and Stripe's token hashing); a slow password hash would only slow every call.
The key is shown once, by `corral user add`, and never stored or logged.

Revocation holds from the next call on: every call reads its principal (one indexed read).
Two built-in principals are never stored: LOCAL (an API without keys, on loopback only) and
API_TOKEN (the single `api_token_file` token); both may do anything on every wallet.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orchestrator.store.db import utcnow
from orchestrator.store.models import NotificationSubscriptionRow, PrincipalRow, PrincipalWalletRow

KEY_PREFIX = "corral_"
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
# The built-in principals' names, which no user may take.
RESERVED_NAMES = frozenset({"local", "api-token", "platform", "api", "resume-credential", "nobody"})
_KEY = re.compile(r"corral_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
# A wallet as the signer holds them: an EVM address, or a Solana one (base58, 32 to 44 characters).
_WALLET = re.compile(r"0x[0-9a-fA-F]{40}|[1-9A-HJ-NP-Za-km-z]{32,44}")


class Role(StrEnum):
    """What a principal may do (api/access.py maps every method to one). Every role reads."""

    VIEWER = "viewer"
    OPERATOR = "operator"  # start, stop, pause, resume, unwind, update sessions; their secrets
    APPROVER = "approver"  # approve and reject suggestions
    ADMIN = "admin"  # register agents, halt the platform (lifting a halt takes the resume credential)


class PrincipalError(ValueError):
    """A principal that cannot be made or changed as asked; the message says why."""


def _checked_wallets(wallets: list[str]) -> set[str]:
    for wallet in wallets:
        if _WALLET.fullmatch(wallet) is None:
            raise PrincipalError(f"wallet {wallet[:70]!r} is not an address: give an EVM address (0x and 40 hex digits) "
                                 "or a Solana one (base58), as `corral signer wallet list` shows them")
    return {wallet_key(w) for w in wallets}


def wallet_key(address: str) -> str:
    """A wallet address as ownership compares it: hex (EVM) addresses in any case are one
    address, base58 (Solana) addresses are case-sensitive."""
    return address.lower() if address.startswith(("0x", "0X")) else address


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[Role]
    # wallet_key()s of the wallets it owns; None: every wallet (the built-in principals).
    wallets: frozenset[str] | None

    def may(self, role: Role) -> bool:
        return role in self.roles

    def owns(self, wallet_address: str) -> bool:
        return self.wallets is None or wallet_key(wallet_address) in self.wallets


LOCAL = Principal("local", frozenset(Role), None)
API_TOKEN = Principal("api-token", frozenset(Role), None)


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret: str

    @property
    def text(self) -> str:
        return f"{KEY_PREFIX}{self.key_id}_{self.secret}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_key(text: str) -> bool:
    return _KEY.fullmatch(text) is not None


def authenticate(db: Session, key: str) -> Principal | None:
    """The principal whose key `key` is, or None (malformed, unknown, wrong or revoked: the
    caller is told no more than that)."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    key_id, secret = match.groups()
    row = db.scalar(select(PrincipalRow).where(PrincipalRow.key_id == key_id))
    if row is None:
        hmac.compare_digest(_hash(secret), "0" * 64)  # as long as a known key id's check
        return None
    if not hmac.compare_digest(_hash(secret), row.key_hash) or row.revoked_at is not None:
        return None
    return _principal(row)


def _principal(row: PrincipalRow) -> Principal:
    return Principal(row.name, frozenset(Role(r) for r in row.roles), frozenset(w.wallet_address for w in row.wallets))


def add(db: Session, name: str, roles: list[Role], wallets: list[str]) -> str:
    """Makes a principal and returns its API key (the only time it is ever seen). Commits."""
    if NAME.fullmatch(name) is None:
        raise PrincipalError(f"user name {name[:70]!r}: 1 to 64 of a-z, 0-9, '_', '.', '-', starting with a letter or digit")
    if name in RESERVED_NAMES:
        raise PrincipalError(f"user name {name!r} is reserved for the platform's own principals; choose another")
    if not roles:
        raise PrincipalError("give the user at least one role (--role viewer|operator|approver|admin)")
    if db.scalar(select(PrincipalRow.id).where(PrincipalRow.name == name)) is not None:
        raise PrincipalError(f"a user named {name!r} exists (revoked users keep their name, which events show); choose another")
    key = NewKey(secrets.token_hex(8), base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode())
    row = PrincipalRow(name=name, roles=sorted({str(r) for r in roles}), key_id=key.key_id, key_hash=_hash(key.secret),
                       created_at=utcnow(), revoked_at=None)
    row.wallets = [PrincipalWalletRow(wallet_address=w) for w in sorted(_checked_wallets(wallets))]
    db.add(row)
    db.commit()
    return key.text


def grant(db: Session, name: str, wallets: list[str]) -> bool:
    """Gives active user `name` these wallets too; False when there is no such user. Commits."""
    wanted = _checked_wallets(wallets)
    row = _active(db, name)
    if row is None:
        return False
    held = {w.wallet_address for w in row.wallets}
    row.wallets.extend(PrincipalWalletRow(wallet_address=w) for w in sorted(wanted - held))
    db.commit()
    return True


def revoke(db: Session, name: str) -> bool:
    """Revokes `name`'s key, and deletes its notification subscriptions (their pending
    deliveries become dead letters); False when there is no such user or it is revoked
    already. Commits."""
    row = _active(db, name)
    if row is None:
        return False
    row.revoked_at = utcnow()
    db.execute(update(NotificationSubscriptionRow).where(
        NotificationSubscriptionRow.owner == name, NotificationSubscriptionRow.deleted_at.is_(None)).values(deleted_at=row.revoked_at))
    db.commit()
    return True


def _active(db: Session, name: str) -> PrincipalRow | None:
    return db.scalar(select(PrincipalRow).where(PrincipalRow.name == name, PrincipalRow.revoked_at.is_(None)))


def is_active(db: Session, name: str) -> bool:
    return _active(db, name) is not None


def listed(db: Session) -> list[PrincipalRow]:
    return list(db.scalars(select(PrincipalRow).order_by(PrincipalRow.name)))


def wallets_of(db: Session, names: set[str]) -> dict[str, frozenset[str] | None]:
    """Of `names`, those that are users: each one's wallets (wallet_key()s), None for a revoked one."""
    rows = db.scalars(select(PrincipalRow).where(PrincipalRow.name.in_(names))) if names else []
    return {row.name: None if row.revoked_at is not None else frozenset(w.wallet_address for w in row.wallets) for row in rows}
