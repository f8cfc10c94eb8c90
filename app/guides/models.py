"""Guides (topics and questions, versioned) and links from transcript segments to guide questions.

Topic titles and question texts are free text written by researchers; like every free text they are sealed,
here under the project's ANALYSIS-zone data key. A question keeps its `key` across guide versions, so links
made under one version still name the same question after the guide is revised.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey
from app.encryption import EncryptedColumn, Sealed
from app.keys.models import today


class LinkOrigin(enum.StrEnum):
    """Who made a link: a suggestion from matching the interviewer's turn, or a person."""

    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"


class InterviewGuide(UUIDPrimaryKey, Base):
    """One version of a project's guide; the highest version is current."""

    __tablename__ = "interview_guide"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=today)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)


class GuideTopic(UUIDPrimaryKey, Base):
    """A topic of a guide version."""

    __tablename__ = "guide_topic"

    guide_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("interview_guide.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)


class GuideQuestion(UUIDPrimaryKey, Base):
    """A question of a topic; `key` is stable across guide versions."""

    __tablename__ = "guide_question"

    topic_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("guide_topic.id", ondelete="CASCADE"), index=True)
    key: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)


class SegmentQuestion(UUIDPrimaryKey, Base):
    """A transcript segment that asks or answers a guide question (by the question's stable key)."""

    __tablename__ = "segment_question"
    __table_args__ = (UniqueConstraint("segment_id"),)

    segment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    question_key: Mapped[uuid.UUID] = mapped_column(index=True)
    origin: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), default=None)
