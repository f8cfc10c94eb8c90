"""Consent records, and the content-free tombstones a withdrawal leaves behind.

Consent evidence (a reference to a recorded verbal consent, a signed sheet) belongs to the identity vault and
is sealed under the person's IDENTITY-zone data key. A withdrawal removes the withdrawn material and keeps
only a tombstone: which consent, which scope, when, by whom, and the opaque ids of what was suppressed.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey
from app.encryption import EncryptedColumn, Sealed
from app.keys.models import today

SCOPES = (
    "participate",
    "audio",
    "retain_transcript",
    "quote_anonymised",
    "incident_db",
    "family_information",
    "archive_deposit",
    "share_partners",
    "recontact",
)


class ConsentStatus(enum.StrEnum):
    """Whether consent stands, was partly withdrawn, or withdrawn in full."""

    ACTIVE = "active"
    PARTIALLY_WITHDRAWN = "partially_withdrawn"
    WITHDRAWN = "withdrawn"


class WithdrawalScope(enum.StrEnum):
    """What a withdrawal covers: everything, chosen segments, a guide topic, or everything about a person."""

    ALL = "all"
    SEGMENTS = "segments"
    TOPIC = "topic"
    PERSON = "person"


class Consent(UUIDPrimaryKey, Base):
    """What one person agreed to, for one interview or for all of theirs in the project."""

    __tablename__ = "consent"

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    interview_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("interview.id", ondelete="CASCADE"), default=None
    )
    info_sheet_version: Mapped[str] = mapped_column(String(32))
    recorded_on: Mapped[date] = mapped_column(Date)
    withdrawal_deadline: Mapped[date | None] = mapped_column(Date, default=None)
    participate: Mapped[bool] = mapped_column(Boolean, default=False)
    audio: Mapped[bool] = mapped_column(Boolean, default=False)
    retain_transcript: Mapped[bool] = mapped_column(Boolean, default=False)
    quote_anonymised: Mapped[bool] = mapped_column(Boolean, default=False)
    incident_db: Mapped[bool] = mapped_column(Boolean, default=False)
    family_information: Mapped[bool] = mapped_column(Boolean, default=False)
    archive_deposit: Mapped[bool] = mapped_column(Boolean, default=False)
    share_partners: Mapped[bool] = mapped_column(Boolean, default=False)
    recontact: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    status: Mapped[str] = mapped_column(String(24), default=ConsentStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=today)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)


class ConsentWithdrawal(UUIDPrimaryKey, Base):
    """A content-free tombstone of one withdrawal and its cascade."""

    __tablename__ = "consent_withdrawal"

    consent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=today)
    performed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    segments_suppressed: Mapped[int] = mapped_column(Integer, default=0)


class WithdrawalTarget(UUIDPrimaryKey, Base):
    """An opaque id a withdrawal named or suppressed (segment, interview, guide topic key or person)."""

    __tablename__ = "withdrawal_target"

    withdrawal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("consent_withdrawal.id", ondelete="CASCADE"), index=True
    )
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID] = mapped_column()
