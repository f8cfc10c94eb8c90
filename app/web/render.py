"""Render a page with what every template needs: the caller, their CSRF token and flash messages."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from app.auth import sessions
from app.context import Context


def page(
    request: Request,
    template: str,
    ctx: Context | None,
    values: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """Render a template for the caller of `ctx` (or an anonymous visitor)."""
    sid = getattr(request.state, "sid", None)
    runtime = request.app.state.runtime
    context = {
        "actor": ctx.actor if ctx else None,
        "csrf_token": sessions.csrf_token(runtime, sid) if sid and runtime.keystore is not None else "",
        "flash": request.query_params.get("done"),
        "session_idle_minutes": runtime.settings.session_idle_minutes,
        **(values or {}),
    }
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status
    )
    return response
