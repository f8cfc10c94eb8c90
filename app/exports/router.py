"""The exports API: which exports exist, and one project export as a file download (audited)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from app.auth.deps import require
from app.auth.policy import Action
from app.context import Context
from app.errors import NotFoundError
from app.exports import registry
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
def list_exports(ctx: Exporter, project_id: uuid.UUID) -> list[ExportFormatOut]:
    """The exports available for a project."""
    _project(ctx, project_id)
    return [
        ExportFormatOut(kind=e.kind, format=e.fmt, media_type=e.media_type, description=e.description)
        for e in registry.all_formats()
    ]


@router.get("/projects/{project_id}/exports/{kind}")
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
