"""API shapes of the coding routes: spans in code points, quotes from the pseudonymised text only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.coding import service as coding


class CodingCreate(BaseModel):
    """Codes to apply to a span [start, end) of the latest approved version, in code points."""

    model_config = ConfigDict(extra="forbid")
    start: int = Field(ge=0, description="code-point offset into the pseudonymised full text")
    end: int = Field(gt=0, description="exclusive end offset, in code points")
    code_ids: list[uuid.UUID] = Field(min_length=1, max_length=coding.MAX_CODES_PER_APPLY)
    memo: str | None = Field(default=None, max_length=coding.MAX_MEMO)


class CodingUpdate(BaseModel):
    """A new memo for one of the caller's codings (null or empty removes it)."""

    model_config = ConfigDict(extra="forbid")
    memo: str | None = Field(default=None, max_length=coding.MAX_MEMO)


class CodingRead(BaseModel):
    """A coding with its quoted (pseudonymised) text and memo."""

    id: uuid.UUID
    interview_id: uuid.UUID
    transcript_version_id: uuid.UUID
    code_id: uuid.UUID
    mnemonic: str
    coder_id: uuid.UUID
    coder: str
    start: int
    end: int
    quote: str | None
    memo: str | None
    status: str
    origin: str
    codebook_version: int
    created_at: datetime

    @classmethod
    def of(cls, item: coding.CodingRead) -> CodingRead:
        """Serialise a service read (revealing the quote and memo to this permitted reader)."""
        return cls(
            id=item.id,
            interview_id=item.interview_id,
            transcript_version_id=item.transcript_version_id,
            code_id=item.code_id,
            mnemonic=item.mnemonic,
            coder_id=item.coder_id,
            coder=item.coder,
            start=item.start,
            end=item.end,
            quote=item.quote.reveal() if item.quote is not None else None,
            memo=item.memo.reveal() if item.memo is not None else None,
            status=item.status,
            origin=item.origin,
            codebook_version=item.codebook_version,
            created_at=item.created_at,
        )


class CodingCreated(BaseModel):
    """The codings just made (one per code), without their text."""

    id: uuid.UUID
    code_id: uuid.UUID
    start: int
    end: int
    transcript_version_id: uuid.UUID
    codebook_version: int


class ProvenanceRead(BaseModel):
    """Whether a coding's stored span hash matches the text it points at now."""

    coding_id: uuid.UUID
    verified: bool


class AssignmentCreate(BaseModel):
    """Coders to assign to an interview; blind double coding needs two or more."""

    model_config = ConfigDict(extra="forbid")
    coder_ids: list[uuid.UUID] = Field(min_length=1, max_length=coding.MAX_CODERS)
    blind: bool = True


class AssignmentRead(BaseModel):
    """One coder's assignment with progress (their active codings of the interview)."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    project_id: uuid.UUID
    interview_id: uuid.UUID
    interviewee_pseudonym: str
    coder_id: uuid.UUID
    coder: str
    blind: bool
    done_at: datetime | None
    codings: int


class AssignmentDone(BaseModel):
    """The caller's assignment, marked done."""

    id: uuid.UUID
    interview_id: uuid.UUID
    done_at: datetime | None


class CoderSpanRead(BaseModel):
    """One coder's coding of the code inside the segment."""

    coder_id: uuid.UUID
    coder: str
    start: int
    end: int
    quote: str


class DisagreementRead(BaseModel):
    """A segment where some assigned coders applied a code and others did not."""

    segment_id: uuid.UUID
    seq: int
    role: str
    start_ms: int | None
    char_start: int
    char_end: int
    text: str
    code_id: uuid.UUID
    mnemonic: str
    applied_by: list[str]
    not_applied_by: list[str]
    spans: list[CoderSpanRead]
    decision: str | None

    @classmethod
    def of(cls, item: coding.DisagreementRead) -> DisagreementRead:
        """Serialise a service read."""
        return cls(
            segment_id=item.segment_id,
            seq=item.seq,
            role=item.role,
            start_ms=item.start_ms,
            char_start=item.char_start,
            char_end=item.char_end,
            text=item.text.reveal(),
            code_id=item.code_id,
            mnemonic=item.mnemonic,
            applied_by=item.applied_by,
            not_applied_by=item.not_applied_by,
            spans=[
                CoderSpanRead(
                    coder_id=span.coder_id,
                    coder=span.coder,
                    start=span.start,
                    end=span.end,
                    quote=span.quote.reveal(),
                )
                for span in item.spans
            ],
            decision=item.decision,
        )


class AdjudicationCreate(BaseModel):
    """A decision on one code in one segment (or an explicit span of it)."""

    model_config = ConfigDict(extra="forbid")
    code_id: uuid.UUID
    decision: Literal["apply", "reject"]
    segment_id: uuid.UUID | None = None
    start: int | None = Field(default=None, ge=0)
    end: int | None = Field(default=None, gt=0)


class AdjudicationRead(BaseModel):
    """The recorded decision."""

    id: uuid.UUID
    code_id: uuid.UUID
    start: int
    end: int
    decision: str
    adjudicator_id: uuid.UUID
