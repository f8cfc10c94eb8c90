"""The codebook and the codings applied to pseudonymised transcripts.

Codebook texts (names, definitions, use-when, not-when) are free text and are sealed under the project's
ANALYSIS-zone data key; what stays clear is structure: ids (stable across renames, used as REFI-QDA GUIDs),
the parent, the short mnemonic (such as "B1"), the colour, the incident variable mapping (vocabulary terms)
and versions. Every change to the codebook makes a new codebook version and a sealed snapshot of the code.

A coding is a span of a transcript version's pseudonymised text in Unicode code points, with a keyed hash of
the quoted text (provenance that re-verifies without storing the text) and an optional memo sealed under the
interview's TESTIMONY data key. A coding made on a version later replaced becomes `obsolete` when its span
changed, and is listed for re-coding.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow
from app.encryption import EncryptedColumn, Sealed


class CodingStatus(enum.StrEnum):
    """Current; obsolete (its span changed in a newer version); or an adjudicator's recorded rejection."""

    ACTIVE = "active"
    OBSOLETE = "obsolete"
    REJECTED = "rejected"


class CodingOrigin(enum.StrEnum):
    """Made by a coder, or the result of adjudicating two or more coders' codings."""

    CODER = "coder"
    ADJUDICATED = "adjudicated"


class CodebookVersion(UUIDPrimaryKey, Base):
    """One version of a project's codebook; codings record the version they were made under."""

    __tablename__ = "codebook_version"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)


class Code(UUIDPrimaryKey, Base):
    """A code of a project's codebook (its id never changes; it is the REFI-QDA guid)."""

    __tablename__ = "code"
    __table_args__ = (UniqueConstraint("project_id", "mnemonic"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("code.id"), default=None, index=True)
    mnemonic: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    definition: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    use_when: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    not_when: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    colour: Mapped[str] = mapped_column(String(7), default="#888888")
    is_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    # Incident-bearing codes (groups B-E): the incident field they fill and its value (vocabulary terms).
    variable_field: Mapped[str | None] = mapped_column(String(64), default=None)
    variable_value: Mapped[str | None] = mapped_column(String(64), default=None)
    created_in_version: Mapped[int] = mapped_column(Integer, default=1)
    retired_in_version: Mapped[int | None] = mapped_column(Integer, default=None)


class CodeRevision(UUIDPrimaryKey, Base):
    """A sealed snapshot of a code as it stood in one codebook version (its history)."""

    __tablename__ = "code_revision"
    __table_args__ = (UniqueConstraint("code_id", "version"),)

    code_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Coding(UUIDPrimaryKey, Base):
    """One code applied to one span of a transcript version's pseudonymised text."""

    __tablename__ = "coding"

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    interview_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interview.id", ondelete="CASCADE"), index=True
    )
    transcript_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transcript_version.id", ondelete="CASCADE"), index=True
    )
    code_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code.id"), index=True)
    coder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    # HMAC of the quoted text (INDEX zone, per project): provenance without storing the text.
    span_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    memo: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    codebook_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=CodingStatus.ACTIVE)
    origin: Mapped[str] = mapped_column(String(16), default=CodingOrigin.CODER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Assignment(UUIDPrimaryKey, Base):
    """An interview assigned to a coder for (double) coding; blind assignments hide others' codings."""

    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("interview_id", "coder_id"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    interview_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interview.id", ondelete="CASCADE"), index=True
    )
    coder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    assigned_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    blind: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
