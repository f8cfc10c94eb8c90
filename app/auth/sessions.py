"""Server-side sessions and API tokens.

A session id is 256 random bits, sent only in a cookie (`__Host-` prefixed, Secure, HttpOnly,
SameSite=Strict); the database stores HMAC-SHA-256(session key, id), so a stolen database cannot be replayed
as cookies. A new id is issued at every login stage, so a pre-login id can never be fixed on a victim.
Sessions end after `session_idle_minutes` without use and `session_absolute_hours` after login, and every
session of a user is revoked when their password, TOTP secret or roles change and when they are disabled.
The CSRF token of a session is derived from its id (HMAC with another purpose), so it needs no storage.
API tokens work the same way: random, shown once, stored as a keyed hash, expiring and revocable.

Every request authenticates, so this is the hot path of every read: the statements are built once, the
caller (token or user, and every membership) is one query, the HMAC keys are derived once per process
(`app.keys.service.derived_key`), and the bookkeeping writes (a session's `last_seen_at`, a token's
`last_used_at`) happen at most once a minute per session or token, not on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from app.auth.actor import Actor
from app.auth.models import ApiToken, AuthSession, Membership, Role, SessionStage, User, UserStatus
from app.db import touch
from app.keys.service import derived_key
from app.runtime import Runtime
from crypto.keyring import Zone

TOKEN_PREFIX = "hbt_"  # noqa: S105 - a public prefix, not a secret
# Sessions record `last_seen_at` and tokens `last_used_at` at most this often (idle timeouts are minutes).
TOUCH_EVERY = timedelta(seconds=60)


def _key(runtime: Runtime, purpose: str) -> bytes:
    return derived_key(runtime.keys, Zone.INDEX, purpose, version=1)


# The caller's user and every membership, one row per membership (one row of NULLs without any).
_CALLER = (User.id, User.username, User.is_admin, User.status, Membership.project_id, Membership.role)
_ACTOR_OF_USER = (
    select(*_CALLER)
    .outerjoin(Membership, Membership.user_id == User.id)
    .where(User.id == bindparam("user_id"))
)
_ACTOR_OF_TOKEN = (
    select(
        ApiToken.id.label("token_id"),
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        *_CALLER,
    )
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(Membership, Membership.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
_SESSION_OF_HASH = select(AuthSession).where(AuthSession.sid_hash == bindparam("sid_hash"))
_TOKEN_OF_HASH = select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))


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
        _SESSION_OF_HASH, {"sid_hash": hash_secret(runtime, "session-id", sid)}
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    now = runtime.clock()
    idle = timedelta(minutes=runtime.settings.session_idle_minutes)
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
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


def _token_touch(session: Session, token_id: uuid.UUID, last_used: datetime | None, now: datetime) -> None:
    """Record a token's use, at most once a minute (like a session's last-seen time)."""
    if last_used is None or now - last_used >= TOUCH_EVERY:
        # Through `touch`: a read-only unit of work (app.deps.reads_only) keeps it for its group commit.
        touch(session, update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def _live_token(clear: str) -> bool:
    return clear.startswith(TOKEN_PREFIX) and len(clear) <= 100


def find_token(session: Session, runtime: Runtime, *, clear: str) -> ApiToken | None:
    """The live API token for a bearer value, or None."""
    if not _live_token(clear):
        return None
    row = session.scalars(
        _TOKEN_OF_HASH, {"token_hash": hash_secret(runtime, "api-token", clear)}
    ).one_or_none()
    now = runtime.clock()
    if row is None or row.revoked_at is not None or now >= row.expires_at:
        return None
    _token_touch(session, row.id, row.last_used_at, now)
    return row


def token_actor(session: Session, runtime: Runtime, *, clear: str) -> Actor | None:
    """The Actor behind a live API token of an active user (one query), or None; records the use."""
    if not _live_token(clear):
        return None
    rows = session.execute(_ACTOR_OF_TOKEN, {"token_hash": hash_secret(runtime, "api-token", clear)}).all()
    if not rows:
        return None
    token = rows[0]
    now = runtime.clock()
    if token.revoked_at is not None or now >= token.expires_at:
        return None
    actor = _actor(rows, session_id=None, token_id=token.token_id)
    if actor is not None:
        _token_touch(session, token.token_id, token.last_used_at, now)
    return actor


def _actor(
    rows: Sequence[Row[*tuple[Any, ...]]], *, session_id: uuid.UUID | None, token_id: uuid.UUID | None
) -> Actor | None:
    """An Actor from the caller rows (user columns and one membership each); None unless active."""
    if not rows or rows[0].status != UserStatus.ACTIVE:
        return None
    user = rows[0]
    project_roles: dict[uuid.UUID, set[Role]] = {}
    for row in rows:
        if row.project_id is not None:
            project_roles.setdefault(row.project_id, set()).add(Role(row.role))
    return Actor(
        user_id=user.id,
        username=user.username,
        is_admin=user.is_admin,
        project_roles={pid: frozenset(roles) for pid, roles in project_roles.items()},
        session_id=session_id,
        token_id=token_id,
    )


def actor_for(
    session: Session,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID | None = None,
    token_id: uuid.UUID | None = None,
) -> Actor | None:
    """Build the Actor of an active user with their current roles (read fresh on every request, one query)."""
    rows = session.execute(_ACTOR_OF_USER, {"user_id": user_id}).all()
    return _actor(rows, session_id=session_id, token_id=token_id)


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
