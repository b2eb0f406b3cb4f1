"""A session's ledger (`asset_changes`) a page at a time, newest first, for the SDK's
`transactions()`: a call reads at most one page (an indexed range of the session's entries,
through the shared keyset pages of orchestrator.store.pages), never the whole history, which
grows with every trade for as long as the session lives. A page token is tied to the session:
an agent's tokens name only its own entries.
"""

from __future__ import annotations

from sqlalchemy import Connection, Row, select

from orchestrator.store import AssetChangeRow, pages

PAGE_MAX = 1000


def page_size(asked: int) -> int:
    """The entries a page holds: 0 means the most; past the most, the most."""
    return pages.page_size(asked, PAGE_MAX, PAGE_MAX)


def page(db: Connection, session_id: int, size: int, token: str) -> tuple[list[Row], str]:
    """(entries oldest first, as rows of `asset_changes`; the next page's token, or "" when
    there are no older ones)."""
    table = AssetChangeRow.__table__
    found = pages.read(db, select(table).where(table.c.session_id == session_id), table.c.id,
                       pages.Query("asset_changes", (session_id,)), size, token, scalars=False)
    rows = list(found.rows)
    next_token = found.query.token(rows[-1].id) if found.more else ""
    rows.reverse()
    return rows, next_token
