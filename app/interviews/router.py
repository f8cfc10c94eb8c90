"""The testimony API: interviews, transcript upload, identified and pseudonymised views, review, search.

Every route is a plain `def`: FastAPI runs it in the thread pool, so parsing, pseudonymising and encrypting a
large upload never blocks the event loop.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from app.context import Context
from app.deps import reads_only
from app.errors import PayloadTooLargeError
from app.interviews import service as interviews
from app.interviews.dependencies import (
    IdentifiedReader,
    InterviewLister,
    InterviewManager,
    TranscriptReader,
    TranscriptUploader,
)
from app.interviews.models import TranscriptVersion
from app.interviews.schemas import (
    FlagDecide,
    FlagDecided,
    FlagRead,
    IdentifiedTranscriptRead,
    InterviewCreate,
    InterviewRead,
    PersonLink,
    PseudonymisedTranscriptRead,
    SearchHitRead,
    TranscriptVersionRead,
)

router = APIRouter(prefix="/api/v1", tags=["interviews"])


def read_upload(ctx: Context, file: UploadFile) -> bytes:
    """The uploaded bytes, refusing (413) anything beyond the configured limit without reading further."""
    limit = ctx.runtime.settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"the file is larger than the limit of {limit} bytes")
    return data


def version_read(ctx: Context, version_id: uuid.UUID) -> TranscriptVersionRead:
    """A version with its turn and flag counts."""
    version = ctx.session.get(TranscriptVersion, version_id)
    assert version is not None  # noqa: S101 - the caller just stored or approved it
    turns, flags = interviews.counts(ctx.session, version_id=version_id)
    return TranscriptVersionRead.of(version, turns=turns, flags=flags)


@router.post("/projects/{project_id}/interviews", status_code=201)
def create_interview(ctx: InterviewManager, project_id: uuid.UUID, body: InterviewCreate) -> InterviewRead:
    """Record an interview with a registered person of the project (month precision only)."""
    interview = interviews.create(
        ctx,
        project_id=project_id,
        interviewee_person_id=body.interviewee_person_id,
        interview_month=body.interview_month,
        mode=body.mode,
        languages=body.languages,
        interpreter_used=body.interpreter_used,
        linked_person_ids=body.linked_person_ids,
    )
    return InterviewRead.of(interviews.summary(ctx, interview))


@router.get("/projects/{project_id}/interviews")
def list_interviews(ctx: InterviewLister, project_id: uuid.UUID) -> list[InterviewRead]:
    """A project's interviews; coders see only those with an approved transcript."""
    return [InterviewRead.of(item) for item in interviews.list(ctx, project_id=project_id)]


@router.get("/interviews/{interview_id}")
def get_interview(ctx: InterviewLister, interview_id: uuid.UUID) -> InterviewRead:
    """One interview's metadata (no identity)."""
    return InterviewRead.of(interviews.summary(ctx, interviews.get_or_raise(ctx, interview_id=interview_id)))


@router.post("/interviews/{interview_id}/persons")
def link_person(ctx: InterviewManager, interview_id: uuid.UUID, body: PersonLink) -> InterviewRead:
    """Link another person the interview mentions; their names are pseudonymised in the next upload."""
    interview = interviews.link_person(ctx, interview_id=interview_id, person_id=body.person_id)
    return InterviewRead.of(interviews.summary(ctx, interview))


@router.post("/interviews/{interview_id}/transcripts", status_code=201)
def upload_transcript(
    ctx: TranscriptUploader, interview_id: uuid.UUID, file: Annotated[UploadFile, File()]
) -> TranscriptVersionRead:
    """Upload a transcript (txt, md, vtt, srt, json, docx, odt, pdf): the next version, pending review."""
    data = read_upload(ctx, file)
    version = interviews.upload(ctx, interview_id=interview_id, filename=file.filename or "", data=data)
    return version_read(ctx, version.id)


@router.get("/interviews/{interview_id}/transcripts/latest/identified")
@reads_only
def read_identified(ctx: IdentifiedReader, interview_id: uuid.UUID) -> IdentifiedTranscriptRead:
    """The latest version's identified text with speaker labels (audited)."""
    return IdentifiedTranscriptRead.of(interviews.read_identified(ctx, interview_id=interview_id))


@router.get("/interviews/{interview_id}/transcripts/latest/pseudonymised")
@reads_only
def read_pseudonymised(ctx: TranscriptReader, interview_id: uuid.UUID) -> PseudonymisedTranscriptRead:
    """The pseudonymised text: the latest approved version for coders (audited)."""
    return PseudonymisedTranscriptRead.of(interviews.read_pseudonymised(ctx, interview_id=interview_id))


class SpeakerOut(BaseModel):
    """A speaker label of the version under review (a name: interviewers only) and its role."""

    index: int
    label: str
    role: str
    turns: int


class SpeakerRoles(BaseModel):
    """Roles to give speakers, by their index in the speaker list."""

    model_config = ConfigDict(extra="forbid")
    roles: dict[int, str] = Field(max_length=100)


class SpeakerRolesSet(BaseModel):
    """How many turns changed role."""

    changed: int


@router.get("/interviews/{interview_id}/speakers")
def list_speakers(ctx: InterviewManager, interview_id: uuid.UUID) -> list[SpeakerOut]:
    """The speakers of the version under review, with the role their turns have (audited)."""
    return [
        SpeakerOut(index=item.index, label=item.label.reveal(), role=item.role, turns=item.turns)
        for item in interviews.speakers(ctx, interview_id=interview_id)
    ]


@router.put("/interviews/{interview_id}/speakers")
def set_speaker_roles(ctx: InterviewManager, interview_id: uuid.UUID, body: SpeakerRoles) -> SpeakerRolesSet:
    """Say which speaker is the interviewer, the interviewee or the interpreter (before approval)."""
    return SpeakerRolesSet(
        changed=interviews.assign_speaker_roles(ctx, interview_id=interview_id, roles=body.roles)
    )


@router.get("/interviews/{interview_id}/flags")
def list_flags(ctx: InterviewManager, interview_id: uuid.UUID) -> list[FlagRead]:
    """The flagged candidate identifiers of the version under review (audited)."""
    return [FlagRead.of(flag) for flag in interviews.list_flags(ctx, interview_id=interview_id)]


@router.post("/interviews/{interview_id}/flags/{flag_id}")
def decide_flag(
    ctx: InterviewManager, interview_id: uuid.UUID, flag_id: uuid.UUID, body: FlagDecide
) -> FlagDecided:
    """Decide one flag: redact, replace (with a replacement text) or ignore (audited)."""
    flag = interviews.decide_flag(
        ctx,
        interview_id=interview_id,
        flag_id=flag_id,
        decision=body.decision,
        replacement=body.replacement,
    )
    return FlagDecided(id=flag.id, decision=flag.decision)


@router.post("/interviews/{interview_id}/transcripts/latest/approve")
def approve(ctx: InterviewManager, interview_id: uuid.UUID) -> TranscriptVersionRead:
    """Approve the version under review: decisions applied, readable by coders, searchable (audited)."""
    version = interviews.approve(ctx, interview_id=interview_id)
    return version_read(ctx, version.id)


@router.get("/search")
@reads_only
def search(
    ctx: TranscriptReader, q: Annotated[str, Query(min_length=1, max_length=interviews.MAX_QUERY)]
) -> list[SearchHitRead]:
    """Approved segments containing every word of `q`, in the caller's projects (pseudonymised snippets)."""
    return [SearchHitRead.of(hit) for hit in interviews.search(ctx, query=q)]
