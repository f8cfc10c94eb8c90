"""Guide pages: the project's guide (edited as an outline by interviewers) and the answers to one question."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth.policy import Action
from app.errors import InvalidInputError, NotFoundError
from app.guides import service as guides
from app.guides.router import GuideViewer, InterviewManager, TranscriptReader
from app.projects.models import Project
from app.web.render import page

router = APIRouter(include_in_schema=False)


def _outline(guide: guides.GuideRead | None) -> str:
    if guide is None:
        return ""
    lines = []
    for topic in guide.topics:
        lines.append(f"# {topic.title}")
        lines += [f"- {question.text}" for question in topic.questions]
        lines.append("")
    return "\n".join(lines)


def _guide_page(
    request: Request,
    ctx: GuideViewer,
    project_id: uuid.UUID,
    *,
    error: str | None = None,
    outline: str | None = None,
) -> HTMLResponse:
    project = ctx.session.get(Project, project_id)
    guide = guides.current(ctx, project_id=project_id)
    if project is None:
        raise NotFoundError()
    editable = ctx.actor is not None and ctx.actor.may_in(Action.INTERVIEW_MANAGE, project_id)
    readable = ctx.actor is not None and ctx.actor.may_in(Action.TRANSCRIPT_READ_PSEUDONYMISED, project_id)
    return page(
        request,
        "guides/guide.html",
        ctx,
        {
            "project": project,
            "guide": guide,
            "editable": editable,
            "answers_link": readable,
            "outline": outline if outline is not None else _outline(guide),
            "error": error,
        },
        status=422 if error else 200,
    )


@router.get("/projects/{project_id}/guide", response_class=HTMLResponse)
def guide_page(request: Request, ctx: GuideViewer, project_id: uuid.UUID) -> HTMLResponse:
    """The project's interview guide; interviewers edit it as an outline."""
    return _guide_page(request, ctx, project_id)


@router.post("/projects/{project_id}/guide", response_class=HTMLResponse)
def guide_save(
    request: Request,
    ctx: InterviewManager,
    project_id: uuid.UUID,
    outline: Annotated[str, Form(max_length=200_000)],
) -> Response:
    """Save the outline as a new guide version (a revised question text keeps its place and key)."""
    try:
        topics = guides.parse_outline(outline)
        previous = guides.current(ctx, project_id=project_id)
        guides.save(ctx, project_id=project_id, topics=guides.carry_keys(previous, topics))
    except InvalidInputError as exc:
        return _guide_page(request, ctx, project_id, error=exc.message, outline=outline)
    return RedirectResponse(f"/projects/{project_id}/guide?done=guide", status_code=303)


@router.get("/guide-questions/{question_key}/answers", response_class=HTMLResponse)
def answers_page(request: Request, ctx: TranscriptReader, question_key: uuid.UUID) -> HTMLResponse:
    """Every answer to one question across interviews, pseudonymised."""
    found = guides.answers(ctx, question_key=question_key)
    question = guides.question_text(ctx, question_key=question_key)
    return page(request, "guides/answers.html", ctx, {"answers": found, "question": question})


@router.post("/interviews/{interview_id}/question-links")
def suggest_links(ctx: InterviewManager, interview_id: uuid.UUID) -> Response:
    """Suggest links from the interview's turns to the guide's questions, then return to the interview."""
    guides.suggest_links(ctx, interview_id=interview_id)
    return RedirectResponse(f"/interviews/{interview_id}?done=links", status_code=303)
