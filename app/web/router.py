"""Public pages. Pages that need a login arrive with the auth domain."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """The landing page."""
    return request.app.state.templates.TemplateResponse(request, "web/home.html", {})  # type: ignore[no-any-return]
