"""The exports API: which exports exist, one project export as a file download (audited), and export jobs.

The synchronous download (`GET /projects/{id}/exports/{kind}`) stays for scripts; long exports run as jobs
(`POST /projects/{id}/export-jobs`), polled at `GET /export-jobs/{id}` and fetched from
`GET /export-jobs/{id}/file` by the user who started them (anyone else gets 404).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from app.auth.deps import require
from app.auth.policy import Action
from app.context import Context
from app.deps import reads_only
from app.errors import NotFoundError
from app.exports import jobs, registry
from app.exports.models import ExportJob, JobStatus
from app.projects.models import Project

router = APIRouter(prefix="/api/v1", tags=["exports"])

Exporter = Annotated[Context, Depends(require(Action.EXPORT_DEIDENTIFIED))]


class ExportFormatOut(BaseModel):
    """One kind of export in one format."""

    kind: str
    format: str
    media_type: str
    description: str


def download(data: bytes, *, media_type: str, filename: str) -> Response:
    """A file download that no cache keeps (the file name reduced to safe characters)."""
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return Response(
        content=data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _project(ctx: Context, project_id: uuid.UUID) -> Project:
    project = ctx.session.get(Project, project_id)
    if project is None or (
        ctx.actor is not None and not ctx.actor.may_in(Action.EXPORT_DEIDENTIFIED, project_id)
    ):
        raise NotFoundError()
    return project


@router.get("/projects/{project_id}/exports")
@reads_only
def list_exports(ctx: Exporter, project_id: uuid.UUID) -> list[ExportFormatOut]:
    """The exports available for a project."""
    _project(ctx, project_id)
    return [
        ExportFormatOut(kind=e.kind, format=e.fmt, media_type=e.media_type, description=e.description)
        for e in registry.all_formats()
    ]


@router.get("/projects/{project_id}/exports/{kind}")
@reads_only
def export(
    ctx: Exporter,
    project_id: uuid.UUID,
    kind: str,
    fmt: Annotated[str, Query(alias="format", max_length=32)] = "csv",
) -> Response:
    """One de-identified export of a project as a file (audited `export.<kind>`)."""
    project = _project(ctx, project_id)
    exporter, data = registry.run(ctx, kind=kind, fmt=fmt, project_id=project.id)
    return download(
        data, media_type=exporter.media_type, filename=f"{project.name}-{kind}{exporter.filename_suffix}"
    )


class ExportJobCreate(BaseModel):
    """What to export: a registered kind in one of its formats."""

    kind: str
    format: str = "csv"


class ExportJobOut(BaseModel):
    """One export job as its owner sees it."""

    id: uuid.UUID
    project_id: uuid.UUID
    kind: str
    format: str
    status: str
    progress: int
    message: str | None
    size: int | None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime
    download_url: str | None

    @classmethod
    def of(cls, job: ExportJob) -> ExportJobOut:
        """The API view of a job row (never its file)."""
        done = job.status == JobStatus.DONE.value
        return cls(
            id=job.id,
            project_id=job.project_id,
            kind=job.kind,
            format=job.fmt,
            status=job.status,
            progress=job.progress,
            message=job.message,
            size=job.size,
            created_at=job.created_at,
            finished_at=job.finished_at,
            expires_at=job.expires_at,
            download_url=f"/api/v1/export-jobs/{job.id}/file" if done else None,
        )


def runner(request: Request) -> jobs.JobRunner:
    """The process's job runner (made by `create_app`)."""
    found: jobs.JobRunner = request.app.state.export_jobs
    return found


@router.post("/projects/{project_id}/export-jobs", status_code=202)
def start_export_job(
    request: Request, ctx: Exporter, project_id: uuid.UUID, body: ExportJobCreate
) -> ExportJobOut:
    """Start a de-identified export in the background (audited `export_job.start`); poll it by id."""
    job = jobs.start(ctx, project_id=project_id, kind=body.kind, fmt=body.format)
    runner(request).submit_after_commit(ctx.session, job.id)
    return ExportJobOut.of(job)


@router.get("/export-jobs")
def list_export_jobs(
    ctx: Exporter,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ExportJobOut]:
    """The caller's export jobs, newest first."""
    jobs.count(ctx)
    return [ExportJobOut.of(job) for job in jobs.list_jobs(ctx, offset=offset, limit=limit)]


@router.get("/export-jobs/{job_id}")
def get_export_job(ctx: Exporter, job_id: uuid.UUID) -> ExportJobOut:
    """One of the caller's export jobs, with its progress."""
    return ExportJobOut.of(jobs.get(ctx, job_id=job_id))


@router.get("/export-jobs/{job_id}/file")
def download_export_job(ctx: Exporter, job_id: uuid.UUID) -> Response:
    """The file of a finished job (audited `export_job.download`)."""
    found = jobs.open_result(ctx, job_id=job_id)
    return download(found.data, media_type=found.media_type, filename=found.filename)
