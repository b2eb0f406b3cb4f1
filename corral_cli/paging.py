"""Every item of a List* call, following next_page_token: the server sends a bounded page at a
time, and a command shows all the user asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def every(call: Callable[..., Any], request: Any, field: str, metadata, limit: int = 0) -> list:
    """The items in `field` of each page of `call(request)`; at most `limit` of them (0: all)."""
    return list(_items(call, request, field, metadata, limit))


def _items(call: Callable[..., Any], request: Any, field: str, metadata, limit: int) -> Iterator:
    given = 0
    while True:
        if limit:
            request.page_size = min(limit - given, 1000)
        reply = call(request, metadata=metadata)
        for item in getattr(reply, field):
            yield item
            given += 1
        if not reply.next_page_token or (limit and given >= limit):
            return
        request.page_token = reply.next_page_token
