"""A fresh installation driven through the HTTP API as its users would: the stage of the security tests.

`Site` is a file-backed installation made by `harbour init` (committed data, real SQLite -wal/-shm files or a
PostgreSQL database of its own), with an interviewer, coders and an auditor holding live sessions, and the
app served in-process by a TestClient.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from app.auth import service as users
from app.auth import sessions
from app.auth.deps import SESSION_COOKIE_SECURE
from app.auth.models import SessionStage
from app.db import unit_of_work
from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from tests.cli_support import Harbour


@dataclass
class Caller:
    """One user with a live full session."""

    username: str
    user_id: uuid.UUID
    sid: str
    csrf: str


@dataclass
class Site:
    """An installation with its users, and a client that acts as any of them."""

    client: TestClient
    settings: Settings
    users: dict[str, Caller] = field(default_factory=dict)

    def call(self, who: str | None, method: str, url: str, **kwargs: Any) -> Response:
        """One request as this user (None: anonymous), with the CSRF token on unsafe methods."""
        self.client.cookies.clear()
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            caller = self.users[who]
            self.client.cookies.set(SESSION_COOKIE_SECURE, caller.sid)
            headers.setdefault("x-csrf-token", caller.csrf)
        return self.client.request(method, url, headers=headers, **kwargs)


def add_users(harbour: Harbour, project: str, roles: dict[str, str]) -> None:
    """Create users (username -> role) in a project through the CLI."""
    for username, role in roles.items():
        assert harbour("users", "add", username, "--role", role, "--project", project).code == 0


def sign_in(settings: Settings, usernames: list[str]) -> dict[str, Caller]:
    """Give each user a full session (login itself is tested in tests/auth), committed."""
    runtime = Runtime.open(settings)
    try:
        callers: dict[str, Caller] = {}
        with unit_of_work(runtime.sessions) as session:
            for username in usernames:
                user = users.get_by_username_or_raise(session, username=username)
                user.must_change_password = False
                new = sessions.start(session, runtime, user=user, stage=SessionStage.FULL)
                callers[username] = Caller(username, user.id, new.sid, sessions.csrf_token(runtime, new.sid))
        return callers
    finally:
        runtime.close()


@contextmanager
def serve(settings: Settings, usernames: list[str]) -> Iterator[Site]:
    """The app over the installation, with sessions for the users."""
    callers = sign_in(settings, usernames)
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield Site(client, settings, callers)
