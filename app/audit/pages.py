"""The auditor's page: the log with filters, and whether it verifies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import ColumnElement, func, select

from app.audit.models import AuditEvent
from app.audit.router import EventFilters, run_verify, search, visible_to
from app.auth.deps import AuditReader
from app.context import Context
from app.web.pagination import PagingDep
from app.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    ctx: AuditReader,
    paging: PagingDep,
    action: Annotated[str, Query(max_length=64)] = "",
    outcome: Annotated[str, Query(max_length=16)] = "",
    object_id: Annotated[str, Query(max_length=64)] = "",
    verify: bool = False,
) -> HTMLResponse:
    """Entries newest first, a page at a time, with filters; `verify=1` also verifies the whole chain."""
    error = None
    try:
        filters = EventFilters(action=action or None, outcome=outcome or None, object_id=object_id or None)
    except ValidationError:
        filters = EventFilters()
        error = "Those filters are not valid; showing everything."
    total = _count(ctx, filters)
    # Page N starts after the entries of the pages before it; the log itself is read by sequence (keyset).
    filters.before_seq = _start_of_page(ctx, filters, paging.offset)
    filters.limit = paging.limit
    results = search(ctx, filters)
    # Verification reads the whole log: it runs when the auditor asks, not on every page view.
    status = run_verify(ctx) if verify else None
    return page(
        request,
        "audit/events.html",
        ctx,
        {
            "results": results,
            "status": status,
            "pager": paging.pager(request, total),
            "error": error,
            "filters": {"action": action, "outcome": outcome, "object_id": object_id},
        },
    )


def _matching(ctx: Context, filters: EventFilters) -> list[ColumnElement[bool]]:
    """The page's scope and filters as conditions (the same ones `search` applies)."""
    conditions: list[ColumnElement[bool]] = [visible_to(ctx)]
    if filters.action:
        conditions.append(AuditEvent.action == filters.action)
    if filters.outcome:
        conditions.append(AuditEvent.outcome == filters.outcome.value)
    if filters.object_id:
        conditions.append(AuditEvent.object_id == filters.object_id)
    return conditions


def _count(ctx: Context, filters: EventFilters) -> int:
    """How many entries match the filters."""
    counted = select(func.count()).select_from(AuditEvent).where(*_matching(ctx, filters))
    return ctx.session.scalar(counted) or 0


def _start_of_page(ctx: Context, filters: EventFilters, offset: int) -> int | None:
    """The `before_seq` of the page `offset` entries into the log: the last seq of the page before."""
    if offset == 0:
        return None
    seq = ctx.session.scalar(
        select(AuditEvent.seq)
        .where(*_matching(ctx, filters))
        .order_by(AuditEvent.seq.desc())
        .offset(offset - 1)
        .limit(1)
    )
    return 0 if seq is None else int(seq)  # past the end: nothing comes before sequence 0
