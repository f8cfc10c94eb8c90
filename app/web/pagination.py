"""One pager for every list page: `?page=N&per_page=M` becomes a bounded offset and limit.

Pages ask for `Paging` (a dependency reading `page` and `per_page`, clamped to `MAX_PER_PAGE`), query with its
`offset` and `limit`, count the total, and hand `paging.pager(request, total)` to the template, which renders
`templates/web/pager.html`: "Showing 1-50 of 312" and page links, the current one marked `aria-current`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

PER_PAGE = 50
MAX_PER_PAGE = 200
WINDOW = 2  # page links shown either side of the current one


@dataclass(frozen=True)
class Paging:
    """The page asked for: a 1-based page number and its size."""

    page: int = 1
    per_page: int = PER_PAGE

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.per_page

    @property
    def limit(self) -> int:
        """Rows to fetch."""
        return self.per_page

    def pager(self, request: Request, total: int) -> Pager:
        """The pager for `total` rows, with links that keep the request's other query parameters."""
        return Pager(request=request, page=self.page, per_page=self.per_page, total=total)


def paging(
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = PER_PAGE,
) -> Paging:
    """Read `page` and `per_page` from the query (out of range is a 422)."""
    return Paging(page=page, per_page=per_page)


PagingDep = Annotated[Paging, Depends(paging)]


@dataclass(frozen=True)
class Pager:
    """What the pager template shows for one page of `total` rows."""

    request: Request
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """The number of pages (at least one)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        """The 1-based number of the first row shown (0 when there are none)."""
        return 0 if self.total == 0 else min(self.total, (self.page - 1) * self.per_page + 1)

    @property
    def last(self) -> int:
        """The 1-based number of the last row shown."""
        return min(self.total, self.page * self.per_page)

    @property
    def needed(self) -> bool:
        """Whether there is more than one page (otherwise only the count is shown)."""
        return self.pages > 1

    def links(self) -> list[int | None]:
        """Page numbers to link: the first, the last and a window around the current one; None is a gap."""
        wanted = {1, self.pages, *range(self.page - WINDOW, self.page + WINDOW + 1)}
        numbers = sorted(n for n in wanted if 1 <= n <= self.pages)
        shown: list[int | None] = []
        for number in numbers:
            if shown and shown[-1] is not None and number - shown[-1] > 1:
                shown.append(None)
            shown.append(number)
        return shown

    def href(self, number: int) -> str:
        """The current URL at another page number."""
        url = self.request.url.include_query_params(page=number)
        if self.per_page == PER_PAGE:
            url = url.remove_query_params("per_page")
        return f"{url.path}?{url.query}"
