"""Coding-report pages: agreement of coders, code frequencies and co-occurrence, coded segments."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.coding import reports
from app.coding.reports_router import CoderIds, CodingWriter
from app.errors import NotFoundError
from app.exports import registry
from app.projects.models import Project
from app.web.render import page

router = APIRouter(include_in_schema=False)


def _project(ctx: CodingWriter, project_id: uuid.UUID) -> Project:
    project = ctx.session.get(Project, project_id)
    if project is None:
        raise NotFoundError()
    return project


@router.get("/projects/{project_id}/agreement", response_class=HTMLResponse)
def agreement_page(
    request: Request,
    ctx: CodingWriter,
    project_id: uuid.UUID,
    interview_id: Annotated[uuid.UUID | None, Query()] = None,
    coder_ids: CoderIds = None,
) -> HTMLResponse:
    """Agreement of the assigned coders (the project, or one interview): per code and overall."""
    if interview_id is not None:
        report = reports.agreement_report(ctx, interview_id=interview_id, coder_ids=coder_ids)
        if report.project_id != project_id:
            raise NotFoundError()
    else:
        report = reports.agreement_report(ctx, project_id=project_id, coder_ids=coder_ids)
    project = _project(ctx, project_id)
    names = reports.usernames(ctx, report.coder_ids)
    return page(
        request,
        "coding/agreement.html",
        ctx,
        {
            "project": project,
            "report": report,
            "interview_id": interview_id,
            "coders": [names.get(coder, "?") for coder in report.coder_ids],
        },
    )


@router.get("/projects/{project_id}/reports", response_class=HTMLResponse)
def reports_page(request: Request, ctx: CodingWriter, project_id: uuid.UUID) -> HTMLResponse:
    """Code frequencies, the co-occurrence matrix and the downloads of a project."""
    frequencies = reports.frequencies(ctx, project_id=project_id)
    cooccurrence = reports.cooccurrence(ctx, project_id=project_id)
    project = _project(ctx, project_id)
    return page(
        request,
        "coding/reports.html",
        ctx,
        {
            "project": project,
            "frequencies": frequencies,
            "cooccurrence": cooccurrence,
            "exports": registry.all_formats(),
        },
    )


@router.get("/projects/{project_id}/reports/codes/{code_id}", response_class=HTMLResponse)
def coded_segments_page(
    request: Request, ctx: CodingWriter, project_id: uuid.UUID, code_id: uuid.UUID
) -> HTMLResponse:
    """Every coded segment of one code with its pseudonymised context."""
    report = reports.coded_segments(ctx, project_id=project_id, code_id=code_id)
    project = _project(ctx, project_id)
    return page(request, "coding/report_segments.html", ctx, {"project": project, "report": report})
