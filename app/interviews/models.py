"""Interviews, transcript versions, segments (speaker turns), identifier flags and blind search tokens.

Everything said in an interview, every speaker label and the uploaded file and its name are sealed under the
interview's own TESTIMONY-zone data key (`app.keys.service.dek_for(..., owner_type="interview")`) through
`EncryptedColumn`, which refuses plaintext. What stays in clear is structure only: ids, the month of the
interview, mode, language codes, statuses, roles of speakers, timestamps and code-point offsets.

The uploaded original is bytes; `FieldCipher` seals text, so the service stores it base64-encoded inside an
`EncryptedText` (a 4/3 size overhead inside the ciphertext, in exchange for keeping the one guarded path:
the column still refuses anything but a `Sealed` value, and the AAD still binds table, column and row id).

Offsets: `segment.char_start/char_end` index the version's pseudonymised full text (what coders read and
code), `identified_start/identified_end` the identified full text; both texts are the turns joined by a
blank line ("\\n\\n"), counted in code points.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey
from app.encryption import EncryptedColumn, Sealed
from app.keys.models import today


class InterviewMode(enum.StrEnum):
    """How the interview was held."""

    IN_PERSON = "in_person"
    ENCRYPTED_CALL = "encrypted_call"
    WRITTEN = "written"


class InterviewStatus(enum.StrEnum):
    """Where an interview stands: coders see it from `approved` on."""

    DRAFT = "draft"
    AWAITING_REVIEW = "awaiting_review"
    APPROVED = "approved"
    PARTIALLY_WITHDRAWN = "partially_withdrawn"
    WITHDRAWN = "withdrawn"


class VersionStatus(enum.StrEnum):
    """A transcript version: waiting for its identifier review, approved, or replaced by a newer one."""

    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    SUPERSEDED = "superseded"


class FlagDecision(enum.StrEnum):
    """The interviewer's decision on one flagged identifier."""

    PENDING = "pending"
    REDACT = "redact"
    REPLACE = "replace"
    IGNORE = "ignore"


class Interview(UUIDPrimaryKey, Base):
    """One interview with one interviewee (a person of the identity vault, known here by id only)."""

    __tablename__ = "interview"

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id"), index=True)
    interviewee_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    interviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    # Month precision only ("2025-03"): an exact date lines an interview up with travel and phone records.
    interview_month: Mapped[str] = mapped_column(String(7))
    mode: Mapped[str] = mapped_column(String(16))
    # ISO 639-1 codes, comma-separated in a fixed order ("ru,uz").
    languages: Mapped[str] = mapped_column(String(64))
    interpreter_used: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(24), default=InterviewStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=today)


class InterviewPerson(UUIDPrimaryKey, Base):
    """Another person an interview mentions (a relative, a colleague): their names are pseudonymised too."""

    __tablename__ = "interview_person"
    __table_args__ = (UniqueConstraint("interview_id", "person_id"),)

    interview_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interview.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)


class TranscriptVersion(UUIDPrimaryKey, Base):
    """One uploaded transcript of an interview; a corrected upload is the next version."""

    __tablename__ = "transcript_version"
    __table_args__ = (UniqueConstraint("interview_id", "version"),)

    interview_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interview.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), default=VersionStatus.PENDING_REVIEW)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=today)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    # The uploaded bytes, base64 inside the ciphertext (see the module docstring).
    original: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    # File names leak ("interview_<real name>_<city>.docx").
    original_filename: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    identified_text: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    # Before approval: the automatic pseudonymisation; from approval on: with the reviewed decisions applied.
    pseudonymised_text: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    # JSON: what was replaced and flagged, and the decisions taken (the anonymisation log of UKDS practice).
    anonymisation_log: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)


class Segment(UUIDPrimaryKey, Base):
    """One speaker turn of a transcript version."""

    __tablename__ = "segment"
    __table_args__ = (UniqueConstraint("transcript_version_id", "seq"),)

    transcript_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transcript_version.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    # Speaker labels are usually names: sealed like the text.
    speaker: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    role: Mapped[str] = mapped_column(String(16))
    start_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    end_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    identified_start: Mapped[int] = mapped_column(Integer)
    identified_end: Mapped[int] = mapped_column(Integer)
    identified_text: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    pseudonymised_text: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    # Segment-level suppression, for partial consent withdrawal or a safety redaction.
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    suppression_reason: Mapped[str | None] = mapped_column(String(32), default=None)


class TranscriptFlag(UUIDPrimaryKey, Base):
    """A candidate identifier (phone, e-mail, document number...) the interviewer must decide on."""

    __tablename__ = "transcript_flag"

    transcript_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transcript_version.id", ondelete="CASCADE"), index=True
    )
    segment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Code-point offsets into the version's automatic (pre-review) pseudonymised full text.
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(16), default=FlagDecision.PENDING)
    replacement: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)


class SearchToken(Base):
    """One keyed HMAC of one normalised word of an approved segment's pseudonymised text (no plaintext).

    One row per distinct word of a segment: search answers with segments. The table is the largest of the
    schema (about 100,000 rows per MB of transcript), so it carries only what a query uses: the primary
    key (segment_id, token) keeps a segment's words unique and serves the deletes by segment (consent
    withdrawal, the foreign key's cascade); `token` serves search; `transcript_version_id` serves the
    deletes by version (a superseded version, the foreign key's cascade). No surrogate id: a random UUID
    key was one more index written at a random place for every row. On SQLite the table is WITHOUT ROWID
    (the rows live in the primary key's b-tree, so the key is not stored twice).
    """

    __tablename__ = "search_token"
    __table_args__ = {"sqlite_with_rowid": False}

    segment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True, index=True)
    transcript_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transcript_version.id", ondelete="CASCADE"), index=True
    )
