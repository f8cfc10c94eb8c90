"""API tokens for scripts: issued for password + TOTP, scoped to the user's roles, expiring, revocable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth import sessions, totp_store
from app.auth.models import Role
from app.context import Context
from app.runtime import Runtime
from crypto import totp
from tests.auth_support import Clock, LoggedIn

PASSWORD = "quiet harbour lights"  # the policy is not applied by set-up code


def _enrolled(ctx: Context, login_as: Callable[..., LoggedIn], clock: Clock) -> tuple[LoggedIn, str]:
    who = login_as(Role.AUDITOR)
    secret = totp.new_secret()
    totp_store.store(ctx, who.user, secret)
    who.user.totp_enrolled_at = clock.now
    who.user.password_hash = ctx.runtime.passwords.hash(PASSWORD)
    ctx.session.flush()
    return who, secret


def test_a_token_from_password_and_totp_works_until_it_expires(
    client: TestClient, ctx: Context, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    who, secret = _enrolled(ctx, login_as, clock)
    client.cookies.clear()
    response = client.post(
        "/api/v1/auth/token",
        json={
            "username": who.user.username,
            "password": PASSWORD,
            "code": pyotp.TOTP(secret).at(clock.now),
            "expires": "1h",
        },
    )
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == who.user.username
    assert client.get("/api/v1/audit/events", headers=headers).status_code == 200
    clock.advance(minutes=61)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_bad_credentials_get_no_token_and_the_same_answer(
    client: TestClient, ctx: Context, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    who, _secret = _enrolled(ctx, login_as, clock)
    client.cookies.clear()
    wrong = client.post(
        "/api/v1/auth/token",
        json={"username": who.user.username, "password": "nope nope nope nope", "code": "000000"},
    )
    unknown = client.post(
        "/api/v1/auth/token",
        json={"username": "nobody-at-all", "password": "nope nope nope nope", "code": "000000"},
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_tokens_are_scoped_revocable_stored_hashed_and_audited(
    client: TestClient, ctx: Context, runtime: Runtime, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    who = login_as(Role.CODER)
    row, clear = sessions.issue_token(ctx.session, runtime, user=who.user, lifetime=timedelta(hours=1))
    ctx.session.flush()
    assert clear.encode() not in row.token_hash
    assert len(row.token_hash) == 32
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {clear}"}
    assert client.get("/api/v1/audit/events", headers=headers).status_code == 403  # a coder is no auditor
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    with runtime.sessions() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == who.user.id)).all()
    assert "auth.token_use" in actions
    assert "auth.token_revoke" in actions


def test_token_lifetimes_are_bounded() -> None:
    assert sessions.parse_lifetime("90m") == timedelta(minutes=90)
    assert sessions.parse_lifetime("7d") == timedelta(days=7)
    for bad in ("0m", "31d", "1y", "h", "-1h", "1.5h"):
        try:
            sessions.parse_lifetime(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
