"""The auditor's page: the log with filters, and whether it verifies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from app.audit.router import EventFilters, run_verify, search
from app.auth.deps import AuditReader
from app.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    ctx: AuditReader,
    action: Annotated[str, Query(max_length=64)] = "",
    outcome: Annotated[str, Query(max_length=16)] = "",
    object_id: Annotated[str, Query(max_length=64)] = "",
    before_seq: int | None = None,
    verify: bool = False,
) -> HTMLResponse:
    """Recent entries with filters; with `verify=1`, the verification status of the whole chain."""
    error = None
    try:
        filters = EventFilters(
            action=action or None, outcome=outcome or None, object_id=object_id or None, before_seq=before_seq
        )
    except ValidationError:
        filters = EventFilters()
        error = "Those filters are not valid; showing everything."
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
            "error": error,
            "filters": {"action": action, "outcome": outcome, "object_id": object_id},
        },
    )
