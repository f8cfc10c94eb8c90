"""Users and their roles in projects."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow
from app.encryption import EncryptedColumn, Sealed


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
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The TOTP secret, sealed under the user's DEK in the TOTP zone (AAD binds it to this row and column).
    totp_secret: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    totp_last_counter: Mapped[int | None] = mapped_column(BigInteger, default=None)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

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


class SessionStage(enum.StrEnum):
    """How far a login has got: only FULL sessions may do anything but finish logging in."""

    CHANGE_PASSWORD = "change_password"  # noqa: S105 - a stage name, not a secret
    ENROL_TOTP = "enrol_totp"
    FULL = "full"


class AuthSession(UUIDPrimaryKey, Base):
    """A server-side session. The cookie holds a 256-bit random id; only its keyed hash is stored."""

    __tablename__ = "auth_session"

    sid_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ApiToken(UUIDPrimaryKey, Base):
    """A bearer token for scripts: stored as a keyed hash, expiring, revocable."""

    __tablename__ = "api_token"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class LoginFailure(UUIDPrimaryKey, Base):
    """One failed login, keyed by a hash of the account name or of the client address (never stored plain).

    Rows older than the throttling window are deleted as new failures arrive.
    """

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_hash_occurred_at", "key_hash", "occurred_at"),)

    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RoleRequest(UUIDPrimaryKey, Base):
    """A role change that needs a second administrator: granting oneself a role, or making anyone admin."""

    __tablename__ = "role_request"

    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decision: Mapped[str | None] = mapped_column(String(16), default=None)
