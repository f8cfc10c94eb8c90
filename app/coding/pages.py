"""Coding pages: code a transcript (select a span, pick codes), assignments, and adjudication side by side.

Plain `def` routes, Jinja2 templates without inline script or style, a CSRF token in every form. The coding
form works without JavaScript (start and end offsets typed by hand); static/coding.js fills them from a
mouse selection, filters the code tree and adds keyboard shortcuts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth.policy import Action
from app.coding import service as coding
from app.coding.router import Adjudicator, Coder, CodingPlanner
from app.context import Context
from app.errors import AppError, InvalidInputError, NotFoundError
from app.interviews import service as interviews
from app.projects.models import Project
from app.web.render import page

router = APIRouter(include_in_schema=False)

MESSAGES = {
    "coded": "Coding saved.",
    "deleted": "Coding deleted.",
    "done": "Marked done: your codings of this interview are handed in.",
    "assigned": "Coders assigned.",
    "decided": "Decision recorded.",
}


@dataclass
class Piece:
    """A run of a turn's text covered by the same codings."""

    start: int
    text: str
    labels: list[str] = field(default_factory=list)
    palette: int | None = None

    @property
    def classes(self) -> str:
        """CSS classes of the highlight (palette by code group; several codings are marked as such)."""
        names = ["coded", f"code-p{self.palette}"]
        if len(self.labels) > 1:
            names.append("coded-multi")
        return " ".join(names)


@dataclass
class Turn:
    """A turn with its text cut into pieces at coding boundaries."""

    seq: int
    role: str
    start_ms: int | None
    char_start: int
    withdrawn: bool
    pieces: list[Piece]


def _turns(
    turns: list[coding.TurnText], codings: list[coding.CodingRead], palettes: dict[uuid.UUID, int]
) -> list[Turn]:
    result = []
    for turn in turns:
        if turn.text is None:
            result.append(Turn(turn.seq, turn.role, turn.start_ms, turn.char_start, True, []))
            continue
        text = turn.text.reveal()
        inside = [c for c in codings if c.start < turn.char_end and turn.char_start < c.end]
        cuts = {0, len(text)}
        for item in inside:
            cuts.update(min(max(point - turn.char_start, 0), len(text)) for point in (item.start, item.end))
        ordered = sorted(cuts)
        pieces = []
        for left, right in zip(ordered, ordered[1:], strict=False):
            absolute = turn.char_start + left
            covering = [c for c in inside if c.start <= absolute < c.end]
            pieces.append(
                Piece(
                    start=absolute,
                    text=text[left:right],
                    labels=[c.mnemonic for c in covering],
                    palette=palettes.get(covering[0].code_id) if covering else None,
                )
            )
        result.append(Turn(turn.seq, turn.role, turn.start_ms, turn.char_start, False, pieces))
    return result


def _focus(request: Request, turns: list[coding.TurnText]) -> str | None:
    """The text of the span named by ?start=&end= (provenance links from incidents), if it is readable."""
    start, end = request.query_params.get("start", ""), request.query_params.get("end", "")
    if not (start.isdigit() and end.isdigit()) or int(start) >= int(end):
        return None
    pieces = []
    for turn in turns:
        if turn.text is None or turn.char_end <= int(start) or turn.char_start >= int(end):
            continue
        text = turn.text.reveal()
        pieces.append(text[max(int(start) - turn.char_start, 0) : int(end) - turn.char_start])
    return " … ".join(pieces) or None


def _coding_page(
    request: Request, ctx: Context, interview_id: uuid.UUID, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    interview = interviews.get_or_raise(ctx, interview_id=interview_id)
    version, turns = coding.read_for_coding(ctx, interview_id=interview_id)
    codes = coding.code_choices(ctx, project_id=interview.project_id)
    palettes = {code.id: code.palette for code in codes}
    codings = coding.list_for(ctx, interview_id=interview_id)
    me = ctx.actor.user_id if ctx.actor else None
    mine = [
        item
        for item in coding.assignments_for_interview(ctx, interview_id=interview_id)
        if item.coder_id == me
    ]
    return page(
        request,
        "coding/code.html",
        ctx,
        {
            "interview": interviews.summary(ctx, interview),
            "version": version,
            "turns": _turns(turns, codings, palettes),
            "codes": codes,
            "codings": codings,
            "palettes": palettes,
            "assignment": mine[0] if mine else None,
            "blind": coding.blind_open(ctx.session, interview.id),
            "adjudicate": ctx.actor is not None
            and ctx.actor.may_in(Action.CODING_ADJUDICATE, interview.project_id)
            and coding.all_done(ctx.session, interview.id),
            "message": MESSAGES.get(request.query_params.get("done", "")),
            "error": error,
            "focus": _focus(request, turns),
        },
        status=status,
    )


@router.get("/interviews/{interview_id}/code", response_class=HTMLResponse)
def code_page(request: Request, ctx: Coder, interview_id: uuid.UUID) -> HTMLResponse:
    """The coding page: the pseudonymised transcript with coded spans, the code tree and your codings."""
    return _coding_page(request, ctx, interview_id)


@router.post("/interviews/{interview_id}/code", response_class=HTMLResponse)
def code_submit(
    request: Request,
    ctx: Coder,
    interview_id: uuid.UUID,
    start: Annotated[str, Form(max_length=12)] = "",
    end: Annotated[str, Form(max_length=12)] = "",
    code_ids: Annotated[list[uuid.UUID] | None, Form()] = None,
    memo: Annotated[str, Form(max_length=coding.MAX_MEMO)] = "",
) -> Response:
    """Apply the chosen codes to the selected span, then return to the page."""
    try:
        if not start.strip().isdigit() or not end.strip().isdigit():
            raise InvalidInputError("select a span of the transcript first (or type its start and end)")
        coding.apply(
            ctx,
            interview_id=interview_id,
            start=int(start),
            end=int(end),
            code_ids=code_ids or [],
            memo=memo or None,
        )
    except AppError as exc:
        if exc.status_code not in (409, 422):
            raise
        ctx.session.rollback()
        return _coding_page(request, ctx, interview_id, error=exc.message, status=exc.status_code)
    return RedirectResponse(f"/interviews/{interview_id}/code?done=coded#codings", status_code=303)


@router.post("/codings/{coding_id}/delete", response_class=HTMLResponse)
def delete_submit(ctx: Coder, coding_id: uuid.UUID) -> Response:
    """Delete a coding and return to its interview's coding page."""
    interview_id = coding.get(ctx, coding_id=coding_id).interview_id
    coding.delete(ctx, coding_id=coding_id)
    return RedirectResponse(f"/interviews/{interview_id}/code?done=deleted#codings", status_code=303)


@router.post("/interviews/{interview_id}/done", response_class=HTMLResponse)
def done_submit(ctx: Coder, interview_id: uuid.UUID) -> Response:
    """Mark your assignment done."""
    coding.mark_done(ctx, interview_id=interview_id)
    return RedirectResponse(f"/interviews/{interview_id}/code?done=done", status_code=303)


def _assignments_page(
    request: Request, ctx: Context, project_id: uuid.UUID, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    project = ctx.session.get(Project, project_id)
    if project is None:
        raise NotFoundError()
    found = coding.assignments_for(ctx, project_id=project_id)
    return page(
        request,
        "coding/assignments.html",
        ctx,
        {
            "project": project,
            "assignments": found,
            "interviews": interviews.list(ctx, project_id=project_id),
            "coders": coding.project_coders(ctx, project_id=project_id),
            "me": ctx.actor.user_id if ctx.actor else None,
            "message": MESSAGES.get(request.query_params.get("done", "")),
            "error": error,
        },
        status=status,
    )


@router.get("/projects/{project_id}/assignments", response_class=HTMLResponse)
def assignments_page(request: Request, ctx: CodingPlanner, project_id: uuid.UUID) -> HTMLResponse:
    """Assign coders to interviews and follow their progress."""
    return _assignments_page(request, ctx, project_id)


@router.post("/projects/{project_id}/assignments", response_class=HTMLResponse)
def assignments_submit(
    request: Request,
    ctx: CodingPlanner,
    project_id: uuid.UUID,
    interview_id: Annotated[uuid.UUID, Form()],
    coder_ids: Annotated[list[uuid.UUID] | None, Form()] = None,
    blind: Annotated[bool, Form()] = False,
) -> Response:
    """Assign the chosen coders to the chosen interview."""
    try:
        interview = interviews.get_or_raise(ctx, interview_id=interview_id)
        if interview.project_id != project_id:
            raise NotFoundError()
        coding.assign(ctx, interview_id=interview_id, coder_ids=coder_ids or [], blind=blind)
    except AppError as exc:
        if exc.status_code not in (409, 422):
            raise
        ctx.session.rollback()
        return _assignments_page(request, ctx, project_id, error=exc.message, status=exc.status_code)
    return RedirectResponse(f"/projects/{project_id}/assignments?done=assigned", status_code=303)


@router.get("/interviews/{interview_id}/adjudicate", response_class=HTMLResponse)
def adjudication_page(request: Request, ctx: Adjudicator, interview_id: uuid.UUID) -> HTMLResponse:
    """The coders' disagreements side by side, with a decision for each."""
    interview = interviews.get_or_raise(ctx, interview_id=interview_id)
    try:
        found = coding.disagreements(ctx, interview_id=interview_id)
        error = None
    except AppError as exc:
        if exc.status_code != 409:
            raise
        found, error = [], exc.message
    return page(
        request,
        "coding/adjudicate.html",
        ctx,
        {
            "interview": interviews.summary(ctx, interview),
            "disagreements": found,
            "assignments": coding.assignments_for_interview(ctx, interview_id=interview_id),
            "message": MESSAGES.get(request.query_params.get("done", "")),
            "error": error,
        },
    )


@router.post("/interviews/{interview_id}/adjudicate", response_class=HTMLResponse)
def adjudication_submit(
    ctx: Adjudicator,
    interview_id: uuid.UUID,
    segment_id: Annotated[uuid.UUID, Form()],
    code_id: Annotated[uuid.UUID, Form()],
    decision: Annotated[str, Form(max_length=16)],
) -> Response:
    """Record a decision and return to the adjudication page."""
    coding.adjudicate(
        ctx, interview_id=interview_id, segment_id=segment_id, code_id=code_id, decision=decision
    )
    return RedirectResponse(f"/interviews/{interview_id}/adjudicate?done=decided", status_code=303)
