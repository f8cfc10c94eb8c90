"""The guide API: the project's guide, links from transcript turns to questions, and answers by question."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from app.auth.deps import require
from app.auth.policy import Action
from app.context import Context
from app.errors import NotFoundError
from app.guides import service as guides

router = APIRouter(prefix="/api/v1", tags=["guides"])


class QuestionBody(BaseModel):
    """A question; pass the key of an existing question to keep its identity across versions."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=2000)
    key: uuid.UUID | None = None


class TopicBody(BaseModel):
    """A topic and its questions."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=2000)
    key: uuid.UUID | None = None
    questions: list[QuestionBody] = Field(default_factory=list, max_length=500)


class GuideBody(BaseModel):
    """A whole guide: saving it makes a new version."""

    model_config = ConfigDict(extra="forbid")
    topics: list[TopicBody] = Field(max_length=100)


class QuestionOut(BaseModel):
    """A question of the current guide."""

    key: uuid.UUID
    text: str


class TopicOut(BaseModel):
    """A topic of the current guide."""

    key: uuid.UUID
    title: str
    questions: list[QuestionOut]


class GuideOut(BaseModel):
    """The current guide of a project."""

    project_id: uuid.UUID
    version: int
    topics: list[TopicOut]


class LinkOut(BaseModel):
    """A segment linked to a question."""

    segment_id: uuid.UUID
    seq: int
    role: str
    question_key: uuid.UUID
    origin: str


class LinkBody(BaseModel):
    """The question a segment belongs to, or null to remove its link."""

    model_config = ConfigDict(extra="forbid")
    question_key: uuid.UUID | None


class SuggestOut(BaseModel):
    """How many segments were linked by suggestion."""

    linked: int


class AnswerOut(BaseModel):
    """One pseudonymised answer to a question."""

    interview_id: uuid.UUID
    interviewee: str
    segment_id: uuid.UUID
    seq: int
    role: str
    text: str


def guide_out(guide: guides.GuideRead) -> GuideOut:
    """Serialise a guide."""
    return GuideOut.model_validate(guide, from_attributes=True)


GuideViewer = Annotated[Context, Depends(require(Action.INTERVIEW_LIST))]
InterviewManager = Annotated[Context, Depends(require(Action.INTERVIEW_MANAGE))]
TranscriptReader = Annotated[Context, Depends(require(Action.TRANSCRIPT_READ_PSEUDONYMISED))]


@router.get("/projects/{project_id}/guide")
def get_guide(ctx: GuideViewer, project_id: uuid.UUID) -> GuideOut:
    """The project's current interview guide."""
    guide = guides.current(ctx, project_id=project_id)
    if guide is None:
        raise NotFoundError("This project has no interview guide yet.")
    return guide_out(guide)


@router.put("/projects/{project_id}/guide", status_code=201)
def save_guide(ctx: InterviewManager, project_id: uuid.UUID, body: Annotated[GuideBody, Body()]) -> GuideOut:
    """Save the guide as a new version (questions keep their keys when you pass them)."""
    topics = [
        guides.TopicIn(
            title=topic.title,
            key=topic.key,
            questions=tuple(
                guides.QuestionIn(text=question.text, key=question.key) for question in topic.questions
            ),
        )
        for topic in body.topics
    ]
    guides.save(ctx, project_id=project_id, topics=topics)
    saved = guides.current(ctx, project_id=project_id)
    assert saved is not None  # noqa: S101 - just saved
    return guide_out(saved)


@router.post("/interviews/{interview_id}/question-links/suggest")
def suggest_links(ctx: InterviewManager, interview_id: uuid.UUID) -> SuggestOut:
    """Link the latest transcript's turns to guide questions where the interviewer's turn matches one."""
    return SuggestOut(linked=guides.suggest_links(ctx, interview_id=interview_id))


@router.get("/interviews/{interview_id}/question-links")
def list_links(ctx: InterviewManager, interview_id: uuid.UUID) -> list[LinkOut]:
    """The question links of the latest transcript version."""
    return [
        LinkOut.model_validate(link, from_attributes=True)
        for link in guides.links(ctx, interview_id=interview_id)
    ]


@router.put("/segments/{segment_id}/question", status_code=204)
def set_link(ctx: InterviewManager, segment_id: uuid.UUID, body: Annotated[LinkBody, Body()]) -> Response:
    """Confirm, change or remove the question a segment belongs to."""
    guides.set_link(ctx, segment_id=segment_id, question_key=body.question_key)
    return Response(status_code=204)


@router.get("/guide-questions/{question_key}/answers")
def answers(ctx: TranscriptReader, question_key: uuid.UUID) -> list[AnswerOut]:
    """Every pseudonymised answer to one guide question across the project's approved interviews."""
    return [
        AnswerOut.model_validate(answer, from_attributes=True)
        for answer in guides.answers(ctx, question_key=question_key)
    ]
