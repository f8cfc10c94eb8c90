"""Incident tables (CODEBOOK.md Part A: A.1 incident_mention, A.2 incident, incident_link, A.6 reprisals).

Structure stays clear (vocabulary terms, ISO2 states, date windows, opaque ids); free text is sealed: the
verbatim onset phrase of a mention under the interview's TESTIMONY data key, an incident's or a reprisal's
summary under the project's ANALYSIS data key. A mention belongs to the coding it was drafted from (deleted
with it, ON DELETE CASCADE), so nothing survives the coding a consent withdrawal removes.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow
from app.encryption import EncryptedColumn, Sealed


def _empty() -> list[Any]:
    return []


def _no_overrides() -> dict[str, Any]:
    return {}


class Incident(UUIDPrimaryKey, Base):
    """One incident (one tactic, one onset window, one country); fields resolved from its mentions."""

    __tablename__ = "incident"

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    tactic: Mapped[str] = mapped_column(String(40))
    stage: Mapped[int] = mapped_column(Integer)
    target_person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), default=None, index=True
    )
    origin_state: Mapped[str | None] = mapped_column(String(2), default=None)
    locus_state: Mapped[str | None] = mapped_column(String(2), default=None)
    residence_state: Mapped[str | None] = mapped_column(String(2), default=None)
    onset_min: Mapped[date | None] = mapped_column(Date, default=None)
    onset_max: Mapped[date | None] = mapped_column(Date, default=None)
    onset_precision: Mapped[str] = mapped_column(String(16), default="unknown")
    onset_basis: Mapped[str | None] = mapped_column(String(32), default=None)
    completion_status: Mapped[str | None] = mapped_column(String(32), default=None)
    perpetrator_type: Mapped[str | None] = mapped_column(String(32), default=None)
    host_cooperation: Mapped[str | None] = mapped_column(String(32), default=None)
    legal_instrument: Mapped[str | None] = mapped_column(String(32), default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    occurrence_confidence: Mapped[str | None] = mapped_column(String(16), default=None)
    attribution_confidence: Mapped[str | None] = mapped_column(String(16), default=None)
    evidence_basis: Mapped[str | None] = mapped_column(String(16), default=None)
    conflict_flags: Mapped[list[Any]] = mapped_column(JSON, default=_empty, server_default=text("'[]'"))
    # Adjudicated values that win over the resolution from mentions (field -> vocabulary term).
    overrides: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=_no_overrides, server_default=text("'{}'")
    )
    fh_comparable: Mapped[bool] = mapped_column(Boolean, default=False)
    n_mentions: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    locked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    summary: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FamilyReprisalEvent(UUIDPrimaryKey, Base):
    """Proxy repression of an exile's relative at home (A.6); resolved from family reprisal mentions."""

    __tablename__ = "family_reprisal_event"

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    linked_exile_person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), default=None, index=True
    )
    relative_person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), default=None
    )
    origin_state: Mapped[str | None] = mapped_column(String(2), default=None)
    reprisal_type: Mapped[str] = mapped_column(String(40))
    onset_min: Mapped[date | None] = mapped_column(Date, default=None)
    onset_max: Mapped[date | None] = mapped_column(Date, default=None)
    onset_precision: Mapped[str] = mapped_column(String(16), default="unknown")
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    evidence_basis: Mapped[str | None] = mapped_column(String(16), default=None)
    conflict_flags: Mapped[list[Any]] = mapped_column(JSON, default=_empty, server_default=text("'[]'"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IncidentMention(UUIDPrimaryKey, Base):
    """One narrated mention of an incident or a family reprisal, drafted from one coding (A.1)."""

    __tablename__ = "incident_mention"
    __table_args__ = (UniqueConstraint("coding_id"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    interview_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interview.id", ondelete="CASCADE"), index=True
    )
    coding_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coding.id", ondelete="CASCADE"))
    code_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("code.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    tactic: Mapped[str | None] = mapped_column(String(40), default=None)
    reprisal_type: Mapped[str | None] = mapped_column(String(40), default=None)
    stage: Mapped[int | None] = mapped_column(Integer, default=None)
    target_person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), default=None
    )
    relative_person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), default=None
    )
    origin_state: Mapped[str | None] = mapped_column(String(2), default=None)
    onset_min: Mapped[date | None] = mapped_column(Date, default=None)
    onset_max: Mapped[date | None] = mapped_column(Date, default=None)
    onset_precision: Mapped[str] = mapped_column(String(16), default="unknown")
    onset_basis: Mapped[str | None] = mapped_column(String(32), default=None)
    onset_hedged: Mapped[bool] = mapped_column(Boolean, default=False)
    self_correction: Mapped[bool] = mapped_column(Boolean, default=False)
    onset_phrase: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    locus_state: Mapped[str | None] = mapped_column(String(2), default=None)
    residence_state: Mapped[str | None] = mapped_column(String(2), default=None)
    completion_status: Mapped[str | None] = mapped_column(String(32), default=None)
    perpetrator_type: Mapped[str | None] = mapped_column(String(32), default=None)
    host_cooperation: Mapped[str | None] = mapped_column(String(32), default=None)
    legal_instrument: Mapped[str | None] = mapped_column(String(32), default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    occurrence_confidence: Mapped[str | None] = mapped_column(String(16), default=None)
    attribution_confidence: Mapped[str | None] = mapped_column(String(16), default=None)
    evidence_basis: Mapped[str] = mapped_column(String(16), default="direct")
    is_repeat_mention: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    incident_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("incident.id", ondelete="SET NULL"), default=None, index=True
    )
    reprisal_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("family_reprisal_event.id", ondelete="SET NULL"), default=None, index=True
    )
    coder_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IncidentLink(UUIDPrimaryKey, Base):
    """A chain-of-events link from one incident to another (precedes, causes, part_of)."""

    __tablename__ = "incident_link"
    __table_args__ = (UniqueConstraint("from_id", "to_id", "kind"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    from_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    to_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IncidentTarget(UUIDPrimaryKey, Base):
    """A person an incident targets, with a role (CODEBOOK.md A.2 `incident_target`: primary, co_target).

    The incident's main target (resolved from its mentions) is kept as its one `primary` row; coders add
    further targets as `co_target`. Rows go with the incident and with the person (ON DELETE CASCADE).
    """

    __tablename__ = "incident_target"
    # Explicit names: the conventions would repeat `incident.target_person_id`'s index and foreign key names.
    __table_args__ = (
        UniqueConstraint("incident_id", "person_id"),
        Index("ix_incident_target_person", "person_id"),
    )

    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE", name="fk_incident_target_person")
    )
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
