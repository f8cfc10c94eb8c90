"""Server-side sessions and API tokens.

A session id is 256 random bits, sent only in a cookie (`__Host-` prefixed, Secure, HttpOnly,
SameSite=Strict); the database stores HMAC-SHA-256(session key, id), so a stolen database cannot be replayed
as cookies. A new id is issued at every login stage, so a pre-login id can never be fixed on a victim.
Sessions end after `session_idle_minutes` without use and `session_absolute_hours` after login, and every
session of a user is revoked when their password, TOTP secret or roles change and when they are disabled.
The CSRF token of a session is derived from its id (HMAC with another purpose), so it needs no storage.
API tokens work the same way: random, shown once, stored as a keyed hash, expiring and revocable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.actor import Actor
from app.auth.models import ApiToken, AuthSession, Membership, Role, SessionStage, User, UserStatus
from app.db import touch
from app.runtime import Runtime
from crypto.keyring import Zone

TOKEN_PREFIX = "hbt_"  # noqa: S105 - a public prefix, not a secret
_TOUCH_EVERY = timedelta(seconds=60)


def _key(runtime: Runtime, purpose: str) -> bytes:
    return runtime.keys.zone_key(Zone.INDEX, purpose, version=1)


def hash_secret(runtime: Runtime, purpose: str, value: str) -> bytes:
    """Keyed hash of a session id, token or throttling key."""
    return hmac.new(_key(runtime, purpose), value.encode(), hashlib.sha256).digest()


def csrf_token(runtime: Runtime, sid: str) -> str:
    """The CSRF token bound to one session id."""
    return hmac.new(_key(runtime, "csrf"), sid.encode(), hashlib.sha256).hexdigest()


def csrf_matches(runtime: Runtime, sid: str, submitted: str | None) -> bool:
    """Constant-time comparison of a submitted CSRF token with the session's."""
    return submitted is not None and hmac.compare_digest(csrf_token(runtime, sid), submitted)


@dataclass(frozen=True)
class NewSession:
    """A session row and the id to put in the cookie (shown nowhere else)."""

    row: AuthSession
    sid: str


def start(session: Session, runtime: Runtime, *, user: User, stage: SessionStage) -> NewSession:
    """Open a new session for a user at a login stage."""
    sid = secrets.token_urlsafe(32)
    now = runtime.clock()
    row = AuthSession(
        sid_hash=hash_secret(runtime, "session-id", sid),
        user_id=user.id,
        stage=stage,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=runtime.settings.session_absolute_hours),
    )
    session.add(row)
    session.flush()
    return NewSession(row=row, sid=sid)


def find(session: Session, runtime: Runtime, *, sid: str) -> AuthSession | None:
    """The live session for a cookie value, or None if unknown, revoked, idle too long or expired."""
    row = session.scalars(
        select(AuthSession).where(AuthSession.sid_hash == hash_secret(runtime, "session-id", sid))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    now = runtime.clock()
    idle = timedelta(minutes=runtime.settings.session_idle_minutes)
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        # Through `touch`: a read-only unit of work (app.deps.reads_only) keeps it for its group commit.
        touch(session, update(AuthSession).where(AuthSession.id == row.id).values(last_seen_at=now))
    return row


def revoke(session: Session, runtime: Runtime, *, row: AuthSession) -> None:
    """End one session."""
    row.revoked_at = runtime.clock()
    session.flush()


def revoke_all(session: Session, runtime: Runtime, *, user_id: uuid.UUID) -> None:
    """End every session and API token of a user (credential, role or status change)."""
    now = runtime.clock()
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def issue_token(
    session: Session, runtime: Runtime, *, user: User, lifetime: timedelta
) -> tuple[ApiToken, str]:
    """Create an API token; the clear token is returned once and never stored."""
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = runtime.clock()
    row = ApiToken(
        token_hash=hash_secret(runtime, "api-token", clear),
        user_id=user.id,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return row, clear


def find_token(session: Session, runtime: Runtime, *, clear: str) -> ApiToken | None:
    """The live API token for a bearer value, or None."""
    if not clear.startswith(TOKEN_PREFIX) or len(clear) > 100:
        return None
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_secret(runtime, "api-token", clear))
    ).one_or_none()
    now = runtime.clock()
    if row is None or row.revoked_at is not None or now >= row.expires_at:
        return None
    touch(session, update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return row


def actor_for(
    session: Session,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID | None = None,
    token_id: uuid.UUID | None = None,
) -> Actor | None:
    """Build the Actor of an active user with their current roles (read fresh on every request)."""
    user = session.get(User, user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        return None
    project_roles: dict[uuid.UUID, set[Role]] = {}
    for project_id, role in session.execute(
        select(Membership.project_id, Membership.role).where(Membership.user_id == user_id)
    ):
        project_roles.setdefault(project_id, set()).add(Role(role))
    return Actor(
        user_id=user.id,
        username=user.username,
        is_admin=user.is_admin,
        project_roles={pid: frozenset(roles) for pid, roles in project_roles.items()},
        session_id=session_id,
        token_id=token_id,
    )


def parse_lifetime(value: str) -> timedelta:
    """Parse '90m', '1h', '7d' (at most 30 days) into a timedelta; ValueError otherwise."""
    units = {"m": 60, "h": 3600, "d": 86400}
    value = value.strip().lower()
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit():
        raise ValueError("use a number followed by m, h or d, such as 90m, 1h or 7d")
    lifetime = timedelta(seconds=int(value[:-1]) * units[value[-1]])
    if not timedelta(minutes=1) <= lifetime <= timedelta(days=30):
        raise ValueError("a token lives between 1 minute and 30 days")
    return lifetime
