"""API shapes of the testimony routes; coder-facing shapes carry pseudonyms, roles and pseudonymised text."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from app.interviews import service as interviews
from app.interviews.models import TranscriptVersion


class InterviewCreate(BaseModel):
    """A new interview with a registered person of the project."""

    interviewee_person_id: uuid.UUID
    interview_month: str = Field(max_length=7, description="YYYY-MM: month precision only")
    mode: str = Field(max_length=16, description="in_person, encrypted_call or written")
    languages: list[str] = Field(max_length=8, description="ISO 639-1 codes")
    interpreter_used: bool = False
    linked_person_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)


class PersonLink(BaseModel):
    """Another person the interview mentions, whose names are pseudonymised too."""

    person_id: uuid.UUID


class InterviewRead(BaseModel):
    """An interview without identity: the interviewee by pseudonym only."""

    id: uuid.UUID
    project_id: uuid.UUID
    interviewee_pseudonym: str
    interview_month: str
    mode: str
    languages: list[str]
    interpreter_used: bool
    status: str
    latest_version: int | None
    linked_pseudonyms: list[str]

    @classmethod
    def of(cls, summary: interviews.InterviewSummary) -> InterviewRead:
        """Serialise a summary."""
        return cls.model_validate(summary, from_attributes=True)


class TranscriptVersionRead(BaseModel):
    """A stored transcript version, after an upload or an approval."""

    id: uuid.UUID
    interview_id: uuid.UUID
    version: int
    status: str
    format: str
    turns: int
    flags: int

    @classmethod
    def of(cls, version: TranscriptVersion, *, turns: int, flags: int) -> TranscriptVersionRead:
        """Serialise a version with its counts."""
        return cls(
            id=version.id,
            interview_id=version.interview_id,
            version=version.version,
            status=version.status,
            format=version.format,
            turns=turns,
            flags=flags,
        )


class SegmentRead(BaseModel):
    """One speaker turn of the pseudonymised text (offsets into `text` of the transcript)."""

    id: uuid.UUID
    seq: int
    role: str
    start_ms: int | None
    end_ms: int | None
    char_start: int
    char_end: int
    text: str | None
    suppressed: bool


class IdentifiedSegmentRead(SegmentRead):
    """One speaker turn of the identified text, with its speaker label."""

    speaker: str | None


class PseudonymisedTranscriptRead(BaseModel):
    """A transcript version as coders read it."""

    interview_id: uuid.UUID
    version_id: uuid.UUID
    version: int
    status: str
    format: str
    interviewee_pseudonym: str
    text: str
    segments: list[SegmentRead]

    @classmethod
    def of(cls, read: interviews.TranscriptRead) -> PseudonymisedTranscriptRead:
        """Reveal the pseudonymised text for the response."""
        return cls(
            interview_id=read.interview_id,
            version_id=read.version_id,
            version=read.version,
            status=read.status,
            format=read.format,
            interviewee_pseudonym=read.interviewee_pseudonym,
            text=read.text.reveal(),
            segments=[
                SegmentRead(
                    id=segment.id,
                    seq=segment.seq,
                    role=segment.role,
                    start_ms=segment.start_ms,
                    end_ms=segment.end_ms,
                    char_start=segment.char_start,
                    char_end=segment.char_end,
                    text=segment.text.reveal() if segment.text is not None else None,
                    suppressed=segment.suppressed,
                )
                for segment in read.segments
            ],
        )


class IdentifiedTranscriptRead(BaseModel):
    """A transcript version as the interviewers of its project read it (identified)."""

    interview_id: uuid.UUID
    version_id: uuid.UUID
    version: int
    status: str
    format: str
    interviewee_pseudonym: str
    original_filename: str | None
    text: str
    segments: list[IdentifiedSegmentRead]

    @classmethod
    def of(cls, read: interviews.TranscriptRead) -> IdentifiedTranscriptRead:
        """Reveal the identified text for the response."""
        return cls(
            interview_id=read.interview_id,
            version_id=read.version_id,
            version=read.version,
            status=read.status,
            format=read.format,
            interviewee_pseudonym=read.interviewee_pseudonym,
            original_filename=read.original_filename.reveal() if read.original_filename else None,
            text=read.text.reveal(),
            segments=[
                IdentifiedSegmentRead(
                    id=segment.id,
                    seq=segment.seq,
                    role=segment.role,
                    start_ms=segment.start_ms,
                    end_ms=segment.end_ms,
                    char_start=segment.char_start,
                    char_end=segment.char_end,
                    text=segment.text.reveal() if segment.text is not None else None,
                    suppressed=segment.suppressed,
                    speaker=segment.speaker.reveal() if segment.speaker is not None else None,
                )
                for segment in read.segments
            ],
        )


class FlagRead(BaseModel):
    """A flagged candidate identifier under review, with a little context."""

    id: uuid.UUID
    segment_seq: int
    kind: str
    start: int
    end: int
    decision: str
    text: str
    before: str
    after: str
    replacement: str | None

    @classmethod
    def of(cls, flag: interviews.FlagRead) -> FlagRead:
        """Reveal the flagged text for the interviewer."""
        return cls(
            id=flag.id,
            segment_seq=flag.segment_seq,
            kind=flag.kind,
            start=flag.start,
            end=flag.end,
            decision=flag.decision,
            text=flag.text.reveal(),
            before=flag.before.reveal(),
            after=flag.after.reveal(),
            replacement=flag.replacement.reveal() if flag.replacement else None,
        )


class FlagDecide(BaseModel):
    """A decision on one flag: redact, replace (with `replacement`), ignore, or back to pending."""

    decision: str = Field(max_length=16)
    replacement: str | None = Field(default=None, max_length=200)


class FlagDecided(BaseModel):
    """The flag's decision as recorded."""

    id: uuid.UUID
    decision: str


class SearchHitRead(BaseModel):
    """One matching segment: where it is and a pseudonymised snippet."""

    interview_id: uuid.UUID
    project_id: uuid.UUID
    interviewee_pseudonym: str
    segment_id: uuid.UUID
    seq: int
    role: str
    start_ms: int | None
    snippet: str

    @classmethod
    def of(cls, hit: interviews.SearchHit) -> SearchHitRead:
        """Reveal the snippet for the response."""
        return cls(
            interview_id=hit.interview_id,
            project_id=hit.project_id,
            interviewee_pseudonym=hit.interviewee_pseudonym,
            segment_id=hit.segment_id,
            seq=hit.seq,
            role=hit.role,
            start_ms=hit.start_ms,
            snippet=hit.snippet.reveal(),
        )
