"""Fixtures for tests that act as logged-in users: a frozen clock and users at a given role."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth import sessions
from app.auth.deps import SESSION_COOKIE_SECURE
from app.auth.models import Role, SessionStage, User
from app.context import Context
from app.runtime import Runtime
from tests import factories


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    """Freeze the runtime's clock."""
    frozen = Clock()
    runtime.clock = frozen
    return frozen


@pytest.fixture
def ctx(db: Session, runtime: Runtime) -> Context:
    """A system context over the test transaction."""
    return Context(db, runtime, None)


@dataclass
class LoggedIn:
    """A user with a live full session, and the headers a form post needs."""

    user: User
    password: str
    sid: str
    csrf: str
    project_id: uuid.UUID | None

    def cookies(self) -> dict[str, str]:
        """The session cookie."""
        return {SESSION_COOKIE_SECURE: self.sid}


@pytest.fixture
def login_as(ctx: Context, runtime: Runtime) -> Callable[..., LoggedIn]:
    """Make a user of a role with a full session (TOTP bypassed: login itself is tested elsewhere)."""

    def make(role: Role, *, project_name: str | None = None) -> LoggedIn:
        user, password = factories.user(ctx, role=role, project_name=project_name)
        user.must_change_password = False
        new = sessions.start(ctx.session, runtime, user=user, stage=SessionStage.FULL)
        ctx.session.flush()
        memberships = sessions.actor_for(ctx.session, user_id=user.id)
        project_id = next(iter(memberships.project_roles), None) if memberships else None
        return LoggedIn(user, password, new.sid, sessions.csrf_token(runtime, new.sid), project_id)

    return make


def use(client: TestClient, who: LoggedIn | None) -> TestClient:
    """Point the client's cookie jar at this user (or at nobody)."""
    client.cookies.clear()
    if who is not None:
        client.cookies.set(SESSION_COOKIE_SECURE, who.sid)
    return client
