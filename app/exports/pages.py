"""Export pages: start a de-identified export as a background job, watch its progress, download its file.

The progress page polls a small JSON status route with plain JavaScript (static/jobs.js) and reloads when the
job ends; without JavaScript a `<noscript>` meta refresh reloads it every few seconds instead. Jobs are seen
only by the user who started them.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from app.auth.policy import Action
from app.context import Context
from app.errors import NotFoundError
from app.exports import jobs, registry
from app.exports.router import Exporter, ExportJobOut, download, runner
from app.projects.models import Project
from app.web.pagination import PagingDep
from app.web.render import page

router = APIRouter(include_in_schema=False)


def _project(ctx: Context, project_id: uuid.UUID) -> Project:
    project = ctx.session.get(Project, project_id)
    if project is None or ctx.actor is None or not ctx.actor.may_in(Action.EXPORT_DEIDENTIFIED, project_id):
        raise NotFoundError()
    return project


def _projects(ctx: Context) -> dict[uuid.UUID, Project]:
    if ctx.actor is None:
        return {}
    ids = ctx.actor.project_ids(Action.EXPORT_DEIDENTIFIED)
    return {
        project.id: project for project in ctx.session.scalars(select(Project).where(Project.id.in_(ids)))
    }


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request, ctx: Exporter, paging: PagingDep) -> HTMLResponse:
    """Every export job of the caller, newest first, with where to start a new one."""
    total = jobs.count(ctx)
    return page(
        request,
        "exports/jobs.html",
        ctx,
        {
            "project": None,
            "projects": _projects(ctx),
            "jobs": jobs.list_jobs(ctx, offset=paging.offset, limit=paging.limit),
            "pager": paging.pager(request, total),
            "formats": registry.all_formats(),
        },
    )


@router.get("/projects/{project_id}/exports", response_class=HTMLResponse)
def project_exports_page(
    request: Request, ctx: Exporter, project_id: uuid.UUID, paging: PagingDep
) -> HTMLResponse:
    """The exports of one project: the start form and the caller's jobs there."""
    project = _project(ctx, project_id)
    total = jobs.count(ctx, project_id=project_id)
    return page(
        request,
        "exports/jobs.html",
        ctx,
        {
            "project": project,
            "projects": {project.id: project},
            "jobs": jobs.list_jobs(ctx, project_id=project_id, offset=paging.offset, limit=paging.limit),
            "pager": paging.pager(request, total),
            "formats": registry.all_formats(),
        },
    )


@router.post("/projects/{project_id}/exports", response_class=HTMLResponse)
def start_export(
    request: Request,
    ctx: Exporter,
    project_id: uuid.UUID,
    export: Annotated[str, Form(max_length=80)],
) -> Response:
    """Start an export job (the form's value is `kind:format`) and go to its progress page."""
    kind, _sep, fmt = export.partition(":")
    job = jobs.start(ctx, project_id=project_id, kind=kind, fmt=fmt)
    runner(request).submit_after_commit(ctx.session, job.id)
    return RedirectResponse(f"/exports/{job.id}", status_code=303)


@router.get("/exports/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, ctx: Exporter, job_id: uuid.UUID) -> HTMLResponse:
    """One job: progress while it runs, then its download or why it failed."""
    job = jobs.get(ctx, job_id=job_id)
    project = _project(ctx, job.project_id)
    return page(
        request,
        "exports/job.html",
        ctx,
        {"job": job, "project": project, "filename": jobs.filename(job, project.name)},
    )


@router.get("/exports/{job_id}/status")
def job_status(ctx: Exporter, job_id: uuid.UUID) -> JSONResponse:
    """The job's status as JSON, for the progress page's script."""
    job = ExportJobOut.of(jobs.get(ctx, job_id=job_id))
    return JSONResponse(
        {"status": job.status, "progress": job.progress, "message": job.message},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/exports/{job_id}/file")
def job_file(ctx: Exporter, job_id: uuid.UUID) -> Response:
    """Download a finished job's file (audited `export_job.download`)."""
    found = jobs.open_result(ctx, job_id=job_id)
    return download(found.data, media_type=found.media_type, filename=found.filename)
