"""API token bookkeeping: `last_used_at` is written at most once a minute, every use is still audited."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.audit.models import AuditEvent
from app.auth import sessions
from app.auth.models import ApiToken, Role, UserStatus
from app.context import Context
from app.runtime import Runtime
from tests.auth_support import Clock, LoggedIn


def _token(ctx: Context, login_as: Callable[..., LoggedIn]) -> tuple[LoggedIn, uuid.UUID, dict[str, str]]:
    who = login_as(Role.CODER)
    row, clear = sessions.issue_token(ctx.session, ctx.runtime, user=who.user, lifetime=timedelta(hours=2))
    ctx.session.flush()
    return who, row.id, {"Authorization": f"Bearer {clear}"}


def _last_used(runtime: Runtime, token_id: uuid.UUID) -> datetime | None:
    with runtime.sessions() as session:
        return session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))


def _uses(runtime: Runtime, user_id: uuid.UUID) -> int:
    with runtime.sessions() as session:
        query = select(func.count()).where(
            AuditEvent.action == "auth.token_use", AuditEvent.actor_id == user_id
        )
        return session.scalar(query) or 0


def test_a_token_records_its_use_at_most_once_a_minute_and_every_use_is_audited(
    client: TestClient, ctx: Context, runtime: Runtime, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    who, token_id, headers = _token(ctx, login_as)
    client.cookies.clear()
    assert _last_used(runtime, token_id) is None
    first = clock.now
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert _last_used(runtime, token_id) == first  # the first use is always recorded
    clock.advance(seconds=59)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert _last_used(runtime, token_id) == first  # within the minute: not written again
    clock.advance(seconds=1)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert _last_used(runtime, token_id) == clock.now  # a minute later: written
    assert _uses(runtime, who.user.id) == 3  # the audit log misses no use


def test_a_read_only_route_records_token_use_through_the_group_commit(
    client: TestClient, ctx: Context, runtime: Runtime, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    who, token_id, headers = _token(ctx, login_as)
    client.cookies.clear()
    path = f"/api/v1/projects/{who.project_id}/persons"  # marked `reads_only`
    assert client.get(path, headers=headers).status_code == 200
    assert _last_used(runtime, token_id) == clock.now
    recorded = clock.now
    clock.advance(seconds=30)
    assert client.get(path, headers=headers).status_code == 200
    assert _last_used(runtime, token_id) == recorded
    clock.advance(minutes=2)
    assert client.get(path, headers=headers).status_code == 200
    assert _last_used(runtime, token_id) == clock.now
    assert _uses(runtime, who.user.id) == 3


def test_the_throttle_never_keeps_a_revoked_expired_or_disabled_token_alive(
    client: TestClient, ctx: Context, runtime: Runtime, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    who, token_id, headers = _token(ctx, login_as)
    client.cookies.clear()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    # Revoked a moment after its last recorded use: refused at once, not after the touch interval.
    ctx.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=clock.now))
    ctx.session.flush()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    _other, other_id, other_headers = _token(ctx, login_as)
    assert client.get("/api/v1/auth/me", headers=other_headers).status_code == 200
    clock.advance(hours=2)
    assert client.get("/api/v1/auth/me", headers=other_headers).status_code == 401  # expired
    _third, _third_id, third_headers = _token(ctx, login_as)
    assert client.get("/api/v1/auth/me", headers=third_headers).status_code == 200
    _third.user.status = UserStatus.DISABLED
    ctx.session.flush()
    assert client.get("/api/v1/auth/me", headers=third_headers).status_code == 401  # disabled user
    assert other_id != token_id


def test_the_actor_of_a_token_has_every_membership(ctx: Context, login_as: Callable[..., LoggedIn]) -> None:
    who, token_id, headers = _token(ctx, login_as)
    clear = headers["Authorization"].removeprefix("Bearer ")
    actor = sessions.token_actor(ctx.session, ctx.runtime, clear=clear)
    assert actor is not None
    assert actor.token_id == token_id
    assert actor == sessions.actor_for(ctx.session, user_id=who.user.id, token_id=token_id)
    assert actor.project_roles == {who.project_id: frozenset({Role.CODER})}
    assert sessions.token_actor(ctx.session, ctx.runtime, clear=clear + "x") is None
    assert sessions.token_actor(ctx.session, ctx.runtime, clear="not-a-token") is None
