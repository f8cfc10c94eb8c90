"""The home page: a start page for visitors, a role-aware home for users."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.auth.deps import PublicContext
from app.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ctx: PublicContext) -> HTMLResponse:
    """The landing page, or the caller's home once logged in."""
    return page(request, "web/home.html", ctx)
