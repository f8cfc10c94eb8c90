"""Users and their roles in projects."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow


class Role(enum.StrEnum):
    """What a user may be: admin is global, the others are held per project."""

    ADMIN = "admin"
    INTERVIEWER = "interviewer"
    CODER = "coder"
    AUDITOR = "auditor"


PROJECT_ROLES = (Role.INTERVIEWER, Role.CODER, Role.AUDITOR)


class UserStatus(enum.StrEnum):
    """A disabled user keeps their history but can do nothing."""

    ACTIVE = "active"
    DISABLED = "disabled"


class User(UUIDPrimaryKey, Base):
    """A person who logs in. Usernames are operator-chosen handles, not legal names."""

    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=UserStatus.ACTIVE)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def is_active(self) -> bool:
        """Whether the account may act at all."""
        return self.status == UserStatus.ACTIVE


class Membership(UUIDPrimaryKey, Base):
    """One role of one user in one project; a user may hold several."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "project_id", "role"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
