"""The pager: bounded page sizes, "showing a-b of n", page links with gaps, the current page marked."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from starlette.requests import Request

from app.auth.models import Role
from app.context import Context
from app.web.pagination import MAX_PER_PAGE, Paging
from tests.auth_support import LoggedIn, use


def _request(query: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": "/audit", "query_string": query.encode(), "headers": []}
    )


def test_a_pager_counts_rows_and_links_pages_around_the_current_one() -> None:
    pager = Paging(page=5, per_page=50).pager(_request("action=auth.login&page=5"), 612)
    assert (pager.first, pager.last, pager.pages) == (201, 250, 13)
    assert pager.links() == [1, None, 3, 4, 5, 6, 7, None, 13]
    assert pager.href(6) == "/audit?action=auth.login&page=6"


def test_the_last_page_and_an_empty_list() -> None:
    last = Paging(page=3, per_page=20).pager(_request(""), 45)
    assert (last.first, last.last, last.links()) == (41, 45, [1, 2, 3])
    empty = Paging().pager(_request(""), 0)
    assert (empty.first, empty.last, empty.pages, empty.needed) == (0, 0, 1, False)


def test_the_audit_page_is_paged_with_the_current_page_marked(
    client: TestClient, ctx: Context, login_as: Callable[..., LoggedIn]
) -> None:
    auditor = login_as(Role.AUDITOR)
    for _ in range(60):
        ctx.audit("test.paging")
    use(client, auditor)
    first = client.get("/audit?action=test.paging")
    assert "Showing 1–50 of 60 entries" in first.text
    assert '<a href="/audit?action=test.paging&amp;page=1" aria-current="page">' in first.text
    assert first.text.count("<td>test.paging</td>") == 50
    second = client.get("/audit?action=test.paging&page=2")
    assert "Showing 51–60 of 60 entries" in second.text
    assert second.text.count("<td>test.paging</td>") == 10
    assert client.get(f"/audit?per_page={MAX_PER_PAGE + 1}").status_code == 422
    beyond = client.get("/audit?action=test.paging&page=9")
    assert "There are no entries this far back" in beyond.text
