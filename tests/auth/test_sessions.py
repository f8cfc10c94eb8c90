"""Session lifecycle (security test 20): timeouts, logout, revocation on changes, CSRF."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from app.auth import service as users
from app.auth.deps import SESSION_COOKIE_SECURE
from app.auth.models import Role
from app.context import Context
from tests.auth_support import Clock, LoggedIn, use


def _me(client: TestClient) -> int:
    return client.get("/api/v1/auth/me").status_code


def test_a_live_session_reaches_its_pages(
    client: TestClient, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    use(client, login_as(Role.CODER))
    assert _me(client) == 200
    assert client.get("/account").status_code == 200


def test_idle_timeout_ends_the_session(
    client: TestClient, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    use(client, login_as(Role.CODER))
    clock.advance(minutes=14)
    assert _me(client) == 200
    clock.advance(minutes=14)  # activity above reset the idle timer
    assert _me(client) == 200
    clock.advance(minutes=15)
    assert _me(client) == 401


def test_absolute_timeout_ends_even_a_busy_session(
    client: TestClient, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    use(client, login_as(Role.CODER))
    for _ in range(12 * 6):
        clock.advance(minutes=10)
        if _me(client) != 200:
            break
    assert _me(client) == 401
    assert clock.now.hour == 21  # 12 hours after 09:30, not before


def test_logout_then_replaying_the_cookie_is_refused(
    client: TestClient, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    who = login_as(Role.CODER)
    use(client, who)
    assert client.post("/logout", data={"csrf_token": who.csrf}, follow_redirects=False).status_code == 303
    use(client, who)
    assert _me(client) == 401


def test_changes_to_a_user_end_their_other_sessions(
    client: TestClient, login_as: Callable[..., LoggedIn], ctx: Context, clock: Clock
) -> None:
    for change in ("role", "disable", "totp"):
        who = login_as(Role.CODER)
        use(client, who)
        assert _me(client) == 200
        if change == "role":
            assert who.project_id is not None
            users.grant(ctx, user=who.user, project_id=who.project_id, role=Role.AUDITOR)
        elif change == "disable":
            users.disable(ctx, username=who.user.username)
        else:
            users.reset_totp(ctx, username=who.user.username)
        assert _me(client) == 401, change


def test_log_out_everywhere_ends_every_session(
    client: TestClient, login_as: Callable[..., LoggedIn], runtime: object, clock: Clock
) -> None:
    who = login_as(Role.AUDITOR)
    use(client, who)
    response = client.post("/account/logout-all", data={"csrf_token": who.csrf}, follow_redirects=False)
    assert response.status_code == 303
    use(client, who)
    assert _me(client) == 401


def test_forms_without_the_right_csrf_token_are_refused(
    client: TestClient, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    who = login_as(Role.CODER)
    use(client, who)
    assert client.post("/account/logout-all", data={}).status_code == 403
    assert client.post("/account/logout-all", data={"csrf_token": "0" * 64}).status_code == 403
    other = login_as(Role.CODER)
    assert client.post("/account/logout-all", data={"csrf_token": other.csrf}).status_code == 403
    assert _me(client) == 200


def test_denied_requests_are_audited(
    client: TestClient, login_as: Callable[..., LoggedIn], runtime: object, clock: Clock
) -> None:
    from sqlalchemy import select

    from app.audit.models import AuditEvent
    from app.runtime import Runtime

    assert isinstance(runtime, Runtime)
    who = login_as(Role.CODER)
    use(client, who)
    assert client.post("/account/logout-all", data={}).status_code == 403
    with runtime.sessions() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert (last.action, last.outcome, last.actor_id) == ("request.denied", "denied", who.user.id)
    assert (last.object_type, last.object_id, last.reason) == ("route", "logout_everywhere", "forbidden")


def test_a_session_id_planted_before_login_is_never_adopted(
    client: TestClient, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    from tests.auth.test_login import _post_login

    who = login_as(Role.CODER)
    planted = "attacker-chosen-session-id-0123456789abcdef"
    client.cookies.set(SESSION_COOKIE_SECURE, planted)
    response = _post_login(client, who.user.username, who.password)
    issued = response.cookies.get(SESSION_COOKIE_SECURE)
    assert issued
    assert issued != planted
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE_SECURE, planted)
    assert _me(client) == 401
