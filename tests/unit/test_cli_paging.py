"""The CLI's lists show everything asked for: they follow next_page_token, page after page,
and stop at --limit."""

from __future__ import annotations

from corral.v1 import orchestrator_pb2 as pb
from corral_cli.paging import every


class PagedApi:
    """Transactions 1..total, `size` a page, with a token that says where the next page starts."""

    def __init__(self, total: int, size: int) -> None:
        self.total, self.size, self.requests = total, size, []

    def ListTransactions(self, request, metadata=None):  # noqa: N802 (the RPC's name)
        self.requests.append(pb.ListTransactionsRequest.FromString(request.SerializeToString()))
        start = int(request.page_token or 0)
        end = min(start + min(request.page_size or self.size, self.size), self.total)
        return pb.ListTransactionsResponse(transactions=[pb.Transaction(id=i + 1) for i in range(start, end)],
                                           next_page_token=str(end) if end < self.total else "")


def test_every_page_is_followed():
    api = PagedApi(total=2500, size=1000)
    listed = every(api.ListTransactions, pb.ListTransactionsRequest(session_id=3), "transactions", ())
    assert [t.id for t in listed] == list(range(1, 2501))
    assert [r.page_token for r in api.requests] == ["", "1000", "2000"] and {r.session_id for r in api.requests} == {3}


def test_a_limit_stops_early_and_asks_for_no_more_than_it_needs():
    api = PagedApi(total=2500, size=1000)
    listed = every(api.ListTransactions, pb.ListTransactionsRequest(session_id=3), "transactions", (), limit=50)
    assert [t.id for t in listed] == list(range(1, 51)) and [r.page_size for r in api.requests] == [50]
