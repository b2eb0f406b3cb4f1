"""Keyset pages for every list the APIs serve (the frontend API's List* RPCs and the SDK's
ListAssetChanges): a call reads at most one page, an indexed range after the previous page's
last key, never an OFFSET and never the whole table.

A page token is opaque to clients: base64url of the listing's name, a digest of the query's
filters and the last key of the page before. A token is refused (INVALID_ARGUMENT naming
`page_token`) when it is not one this API made, or was made for another list or other filters:
a client that changes its filters starts from the first page, so a page never mixes queries.
Tokens are not secrets and not signed; a client that forges a well-formed one only chooses
where its own query starts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Select
from sqlalchemy.orm import Session

from orchestrator.errors import invalid

Key = int | str
R = TypeVar("R")
M = TypeVar("M", bound="Sized")
# A reply stays well under gRPC's and the browser port's 4 MiB: a page ends early (always
# holding at least one item) once its items' encoded size passes this.
REPLY_BUDGET_BYTES = 1_500_000
_TOKEN_VERSION = 1
_TOKEN_MAX_CHARS = 400
_BAD_TOKEN = ("page_token is not one this API gave for this list and these filters: pass the previous reply's "
              "next_page_token unchanged with the same filters, or none for the first page")


class Sized(Protocol):
    def ByteSize(self) -> int: ...  # noqa: N802 (protobuf's name)


def page_size(asked: int, default: int, maximum: int, field: str = "page_size") -> int:
    """AIP-158: 0 means the default; past the maximum, the maximum; negative is refused
    (naming `field`, for a count that is not called page_size)."""
    if asked < 0:
        raise invalid(f"{field} must be 0 (for {default}) or more, not {asked}; at most {maximum} are used")
    return min(asked or default, maximum)


@dataclass(frozen=True)
class Query:
    """What a page token is tied to: the list and the filters that select its items."""

    listing: str
    filters: tuple[Any, ...] = ()

    def digest(self) -> str:
        canonical = json.dumps([self.listing, list(self.filters)], sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def token(self, key: Key) -> str:
        text = json.dumps([_TOKEN_VERSION, self.listing, self.digest(), key], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def after(self, token: str) -> Key | None:
        """The last key of the page before (None for the first page)."""
        if not token:
            return None
        if len(token) > _TOKEN_MAX_CHARS:
            raise invalid(_BAD_TOKEN)
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise invalid(_BAD_TOKEN) from None
        if not (isinstance(decoded, list) and len(decoded) == 4):
            raise invalid(_BAD_TOKEN)
        version, listing, digest, key = decoded
        # bool is an int to Python: refuse it, and anything but the exact text this API makes.
        if (version, listing, digest) != (_TOKEN_VERSION, self.listing, self.digest()) or isinstance(key, bool) \
                or not isinstance(key, int | str) or self.token(key) != token:
            raise invalid(_BAD_TOKEN)
        if isinstance(key, int) and not 0 <= key < 2**63:
            raise invalid(_BAD_TOKEN)
        return key


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page's rows in the list's order, and whether more follow them."""

    rows: list[R]
    more: bool
    query: Query
    key_of: Callable[[R], Key]

    def reply(self, messages: Sequence[M], budget: int = REPLY_BUDGET_BYTES) -> tuple[list[M], str]:
        """The rows' messages (one per row, in order) that fit the reply, and the next page's
        token ("" when this page is the last)."""
        kept: list[M] = []
        used = 0
        for message in messages:
            used += message.ByteSize() + 8  # the field's tag and length
            if kept and used > budget:
                break
            kept.append(message)
        if len(kept) < len(self.rows) or self.more:
            return kept, self.query.token(self.key_of(self.rows[len(kept) - 1]))
        return kept, ""


def read(db: Session | Connection, statement: Select, key: Any, query: Query, size: int, token: str, *,
         newest_first: bool = True, scalars: bool = True) -> Page:
    """A page of `statement`'s rows ordered by the unique column `key` (descending when
    newest_first), starting after the token's key; `scalars` for ORM entities, else table rows."""
    after = query.after(token)
    if after is not None and not isinstance(after, key.type.python_type):  # well-formed, but not this list's kind of key
        raise invalid(_BAD_TOKEN)
    if after is not None:
        statement = statement.where(key < after if newest_first else key > after)
    statement = statement.order_by(key.desc() if newest_first else key).limit(size + 1)  # one more: is there another page?
    result = db.scalars(statement) if scalars else db.execute(statement)
    rows = list(result)
    name = key.key
    return Page(rows[:size], len(rows) > size, query, lambda row: getattr(row, name))
