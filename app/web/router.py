"""The home page: a start page for visitors, and for users a home that lists what their roles let them do."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from app.auth.deps import PublicContext
from app.projects.models import Project
from app.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ctx: PublicContext) -> HTMLResponse:
    """The landing page, or the caller's home once logged in."""
    projects: list[Project] = []
    if ctx.actor is not None and ctx.actor.project_roles:
        projects = list(
            ctx.session.scalars(
                select(Project).where(Project.id.in_(ctx.actor.project_roles)).order_by(Project.name)
            )
        )
    return page(request, "web/home.html", ctx, {"projects": projects})
