"""Logging in: password and TOTP, throttling, and the stages of a first login.

Throttling counts failures per account name and per client address over a sliding minute; past
`MAX_FAILURES` the login answers 429 until the minute has passed, so there is no permanent lockout for an
attacker to inflict. Both keys are stored only as keyed hashes (no addresses or unknown usernames in the
database). An unknown user costs the same argon2 verification as a wrong password, and both get the same
answer, so neither the body nor the timing tells whether an account exists.

The argon2 work runs outside the database transaction and through the process's password gate
(app/runtime.py): a login storm neither holds SQLite's write lock during its hashes nor takes every core.
When the gate is full the login gets 503 with Retry-After, the same for known and unknown users.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from app.audit.service import Outcome
from app.auth import totp_store
from app.auth.models import LoginFailure, SessionStage, User, UserStatus
from app.auth.sessions import hash_secret
from app.context import Context
from crypto import totp

MAX_FAILURES = 5
WINDOW = timedelta(minutes=1)


class LoginOutcome(enum.StrEnum):
    """What a login attempt came to."""

    OK = "ok"
    INVALID = "invalid"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginResult:
    """The outcome, and for a success the user and the stage their session starts at."""

    outcome: LoginOutcome
    user: User | None = None
    stage: SessionStage | None = None


def _throttle_keys(ctx: Context, *, username: str, client: str) -> tuple[bytes, bytes]:
    return (
        hash_secret(ctx.runtime, "throttle", "account:" + username.strip().casefold()),
        hash_secret(ctx.runtime, "throttle", "client:" + client),
    )


def _throttled(ctx: Context, keys: tuple[bytes, bytes]) -> bool:
    since = ctx.runtime.clock() - WINDOW
    for key in keys:
        count = ctx.session.scalar(
            select(func.count()).where(LoginFailure.key_hash == key, LoginFailure.occurred_at > since)
        )
        if (count or 0) >= MAX_FAILURES:
            return True
    return False


def _record_failure(ctx: Context, keys: tuple[bytes, bytes]) -> None:
    now = ctx.runtime.clock()
    ctx.session.execute(delete(LoginFailure).where(LoginFailure.occurred_at <= now - WINDOW))
    for key in keys:
        ctx.session.add(LoginFailure(key_hash=key, occurred_at=now))
    ctx.session.flush()


def stage_after_password(ctx: Context, user: User) -> SessionStage:
    """Where a user with a correct password goes next: change the password, enrol TOTP, or in."""
    if user.must_change_password:
        return SessionStage.CHANGE_PASSWORD
    if user.totp_enrolled_at is None and ctx.runtime.settings.require_totp:
        return SessionStage.ENROL_TOTP
    return SessionStage.FULL


def authenticate(ctx: Context, *, username: str, password: str, code: str, client: str) -> LoginResult:
    """Check username, password and (once enrolled) a TOTP code; audited either way."""
    keys = _throttle_keys(ctx, username=username, client=client)
    if _throttled(ctx, keys):
        ctx.audit("auth.login", outcome=Outcome.DENIED, reason="throttled")
        return LoginResult(LoginOutcome.THROTTLED)
    user = ctx.session.scalars(select(User).where(User.username == username.strip().lower())).one_or_none()
    # argon2 runs outside any transaction: on SQLite every transaction holds the write lock (BEGIN
    # IMMEDIATE), and a login storm must not stall every writer, audit group commits included, for its
    # hashes. Nothing of this login is written yet; what follows runs in a new transaction.
    ctx.session.commit()
    passwords = ctx.runtime.passwords  # gated: at most a few argon2 at once per process (app/runtime.py)
    if user is None or user.status != UserStatus.ACTIVE:
        passwords.dummy_verify(password)
        valid = False
    else:
        valid = passwords.verify(user.password_hash, password)
    if valid and user is not None:
        # Re-read (and on PostgreSQL lock) the user: a TOTP code is checked against the latest counter.
        ctx.session.refresh(user, with_for_update={"key_share": True})
        valid = user.status == UserStatus.ACTIVE
    if valid and user is not None and user.totp_enrolled_at is not None:
        secret = totp_store.load(ctx, user)
        counter = totp.verify(
            secret, code, now=ctx.runtime.clock().timestamp(), last_counter=user.totp_last_counter
        )
        valid = counter is not None
        if counter is not None:
            user.totp_last_counter = counter
    if not valid or user is None:
        _record_failure(ctx, keys)
        ctx.audit(
            "auth.login",
            object_type="user" if user else None,
            object_id=user.id if user else None,
            outcome=Outcome.FAILED,
            reason="bad_credentials",
        )
        return LoginResult(LoginOutcome.INVALID)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    ctx.audit("auth.login", object_type="user", object_id=user.id)
    return LoginResult(LoginOutcome.OK, user=user, stage=stage_after_password(ctx, user))
