"""Testimony pages: interviews per project, one interview with its upload form, review, reading and search.

Plain `def` routes (the thread pool), Jinja2 templates without inline script or style, a CSRF token in
every form. The upload form works without JavaScript; static/upload.js adds a progress bar.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from app.auth.policy import Action
from app.context import Context
from app.errors import AppError
from app.identities.models import Person
from app.ingest.formats import SpeakerRole
from app.interviews import service as interviews
from app.interviews.dependencies import (
    InterviewLister,
    InterviewManager,
    TranscriptReader,
    TranscriptUploader,
)
from app.interviews.languages import MAX_LANGUAGES
from app.interviews.models import InterviewMode, TranscriptVersion, VersionStatus
from app.interviews.router import read_upload
from app.projects.models import Project
from app.web.pagination import Paging, PagingDep
from app.web.render import page

router = APIRouter(include_in_schema=False)

UPLOAD_MESSAGES = {
    "created": "Interview recorded. Upload its transcript below.",
    "uploaded": "Transcript uploaded and parsed; review the flagged identifiers, then approve.",
    "decided": "Decision saved.",
    "approved": "Transcript approved: coders can now read and search it.",
    "speakers": "Speaker roles saved.",
}


def _projects(ctx: Context, action: Action) -> list[Project]:
    query = select(Project).order_by(Project.name)
    if ctx.actor is not None:
        query = query.where(Project.id.in_(ctx.actor.project_ids(action)))
    return list(ctx.session.scalars(query).all())


def _persons(ctx: Context, project_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """Pseudonyms of the project's persons, for the interviewee and linked-person choices."""
    rows = ctx.session.execute(
        select(Person.id, Person.pseudonym)
        .where(Person.project_id == project_id, Person.erased_at.is_(None))
        .order_by(Person.pseudonym)
    ).all()
    return [(row[0], row[1]) for row in rows]


def _may(ctx: Context, action: Action, project_id: uuid.UUID) -> bool:
    return ctx.actor is None or ctx.actor.may_in(action, project_id)


def _list_page(
    request: Request,
    ctx: Context,
    *,
    paging: Paging | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    paging = paging or Paging()
    sections = []
    for project in _projects(ctx, Action.INTERVIEW_LIST):
        manage = _may(ctx, Action.INTERVIEW_MANAGE, project.id)
        every = interviews.list(ctx, project_id=project.id)
        sections.append(
            {
                "project": project,
                "interviews": every[paging.offset : paging.offset + paging.limit],
                "pager": paging.pager(request, len(every)),
                "manage": manage,
                "persons": _persons(ctx, project.id) if manage else [],
            }
        )
    return page(
        request,
        "interviews/list.html",
        ctx,
        {"sections": sections, "modes": [mode.value for mode in InterviewMode], "error": error},
        status=status,
    )


@router.get("/interviews", response_class=HTMLResponse)
def interviews_page(request: Request, ctx: InterviewLister, paging: PagingDep) -> HTMLResponse:
    """Interviews of each of the caller's projects, a page at a time, with a "New interview" form."""
    return _list_page(request, ctx, paging=paging)


@router.post("/interviews", response_class=HTMLResponse)
def create_interview(
    request: Request,
    ctx: InterviewManager,
    project_id: Annotated[uuid.UUID, Form()],
    interviewee_person_id: Annotated[uuid.UUID, Form()],
    interview_month: Annotated[str, Form(max_length=7)],
    mode: Annotated[str, Form(max_length=16)],
    languages: Annotated[str, Form(max_length=64)],
    interpreter_used: Annotated[bool, Form()] = False,
    linked_person_ids: Annotated[list[uuid.UUID] | None, Form()] = None,
) -> Response:
    """Record a new interview and go to its page."""
    codes = [code for code in languages.replace(",", " ").split() if code][: MAX_LANGUAGES + 1]
    try:
        interview = interviews.create(
            ctx,
            project_id=project_id,
            interviewee_person_id=interviewee_person_id,
            interview_month=interview_month,
            mode=mode,
            languages=codes,
            interpreter_used=interpreter_used,
            linked_person_ids=linked_person_ids or [],
        )
    except AppError as exc:
        if exc.status_code != 422:
            raise
        ctx.session.rollback()
        return _list_page(request, ctx, error=exc.message, status=422)
    return RedirectResponse(f"/interviews/{interview.id}?done=created", status_code=303)


def _versions(ctx: Context, interview_id: uuid.UUID, *, approved_only: bool) -> list[TranscriptVersion]:
    query = select(TranscriptVersion).where(TranscriptVersion.interview_id == interview_id)
    if approved_only:
        query = query.where(TranscriptVersion.status == VersionStatus.APPROVED)
    return list(ctx.session.scalars(query.order_by(TranscriptVersion.version.desc())).all())


def _interview_page(
    request: Request, ctx: Context, interview_id: uuid.UUID, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    interview = interviews.get_or_raise(ctx, interview_id=interview_id)
    project_id = interview.project_id
    manage = _may(ctx, Action.INTERVIEW_MANAGE, project_id)
    versions = _versions(ctx, interview.id, approved_only=not manage)
    latest = versions[0] if versions else None
    return page(
        request,
        "interviews/interview.html",
        ctx,
        {
            "interview": interviews.summary(ctx, interview),
            "versions": [
                (version, *interviews.counts(ctx.session, version_id=version.id)) for version in versions
            ],
            "latest": latest,
            "manage": manage,
            "upload": _may(ctx, Action.TRANSCRIPT_UPLOAD, project_id),
            "read": _may(ctx, Action.TRANSCRIPT_READ_PSEUDONYMISED, project_id),
            "message": UPLOAD_MESSAGES.get(request.query_params.get("done", "")),
            "error": error,
            "max_upload_mb": ctx.runtime.settings.max_upload_bytes // (1024 * 1024),
        },
        status=status,
    )


@router.get("/interviews/{interview_id}", response_class=HTMLResponse)
def interview_page(request: Request, ctx: InterviewLister, interview_id: uuid.UUID) -> HTMLResponse:
    """One interview: metadata, versions and their parsing status, the upload form."""
    return _interview_page(request, ctx, interview_id)


@router.post("/interviews/{interview_id}/transcripts", response_class=HTMLResponse)
def upload(
    request: Request,
    ctx: TranscriptUploader,
    interview_id: uuid.UUID,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Upload a transcript from the browser (with or without JavaScript)."""
    try:
        data = read_upload(ctx, file)
        interviews.upload(ctx, interview_id=interview_id, filename=file.filename or "", data=data)
    except AppError as exc:
        if exc.status_code not in (413, 415, 422):
            raise
        ctx.session.rollback()  # nothing of a refused file stays, not even in this transaction
        return _interview_page(request, ctx, interview_id, error=exc.message, status=exc.status_code)
    return RedirectResponse(f"/interviews/{interview_id}?done=uploaded", status_code=303)


@router.get("/interviews/{interview_id}/review", response_class=HTMLResponse)
def review_page(request: Request, ctx: InterviewManager, interview_id: uuid.UUID) -> HTMLResponse:
    """The version under review: pseudonymised text with flagged spans and a decision form for each."""
    interview = interviews.get_or_raise(ctx, interview_id=interview_id)
    version, segments = interviews.review(ctx, interview_id=interview_id)
    flags = [piece.flag for segment in segments for piece in segment.pieces if piece.flag is not None]
    return page(
        request,
        "interviews/review.html",
        ctx,
        {
            "interview": interviews.summary(ctx, interview),
            "version": version,
            "segments": segments,
            "flags": flags,
            "pending": sum(flag.decision == "pending" for flag in flags),
            "speakers": interviews.speakers(ctx, interview_id=interview_id),
            "roles": [role.value for role in SpeakerRole],
            "message": UPLOAD_MESSAGES.get(request.query_params.get("done", "")),
        },
    )


@router.post("/interviews/{interview_id}/flags/{flag_id}", response_class=HTMLResponse)
def decide_flag(
    ctx: InterviewManager,
    interview_id: uuid.UUID,
    flag_id: uuid.UUID,
    decision: Annotated[str, Form(max_length=16)],
    replacement: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Save the decision on one flag and return to the review."""
    interviews.decide_flag(
        ctx, interview_id=interview_id, flag_id=flag_id, decision=decision, replacement=replacement or None
    )
    return RedirectResponse(f"/interviews/{interview_id}/review?done=decided#flag-{flag_id}", status_code=303)


@router.post("/interviews/{interview_id}/speakers", response_class=HTMLResponse)
async def speaker_roles(request: Request, ctx: InterviewManager, interview_id: uuid.UUID) -> Response:
    """Save the role of each speaker from the review form (fields `speaker-N`)."""
    form = await request.form()
    roles = {
        int(name.removeprefix("speaker-")): str(value)
        for name, value in form.items()
        if name.startswith("speaker-") and name.removeprefix("speaker-").isdigit()
    }
    await run_in_threadpool(interviews.assign_speaker_roles, ctx, interview_id=interview_id, roles=roles)
    return RedirectResponse(f"/interviews/{interview_id}/review?done=speakers", status_code=303)


@router.post("/interviews/{interview_id}/approve", response_class=HTMLResponse)
def approve(ctx: InterviewManager, interview_id: uuid.UUID) -> Response:
    """Approve the version under review."""
    interviews.approve(ctx, interview_id=interview_id)
    return RedirectResponse(f"/interviews/{interview_id}?done=approved", status_code=303)


@router.get("/interviews/{interview_id}/read", response_class=HTMLResponse)
def read_page(request: Request, ctx: TranscriptReader, interview_id: uuid.UUID) -> HTMLResponse:
    """The coders' reading page: speaker turns with roles and timestamps, pseudonymised only."""
    interview = interviews.get_or_raise(ctx, interview_id=interview_id)
    transcript = interviews.read_pseudonymised(ctx, interview_id=interview_id)
    return page(
        request,
        "interviews/read.html",
        ctx,
        {"interview": interviews.summary(ctx, interview), "transcript": transcript},
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    ctx: TranscriptReader,
    q: Annotated[str, Query(max_length=interviews.MAX_QUERY)] = "",
) -> HTMLResponse:
    """Search the approved pseudonymised transcripts of the caller's projects."""
    hits: list[interviews.SearchHit] = []
    error = None
    if q.strip():
        try:
            hits = interviews.search(ctx, query=q)
        except AppError as exc:
            if exc.status_code != 422:
                raise
            error = exc.message
    return page(
        request, "search/search.html", ctx, {"q": q, "hits": hits, "error": error, "searched": bool(q)}
    )
