"""Login: first-login steps, TOTP, throttling and no user enumeration (security tests 18-21)."""

from __future__ import annotations

import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.deps import SESSION_COOKIE_SECURE
from app.auth.models import Role, User
from app.context import Context
from app.runtime import Runtime
from tests import factories
from tests.auth_support import Clock

NEW_PASSWORD = "lantern orchard violet ferry"


def _login_csrf(client: TestClient) -> str:
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def _post_login(client: TestClient, username: str, password: str, code: str = "") -> Response:
    token = _login_csrf(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "code": code, "csrf_token": token},
        follow_redirects=False,
    )


def _csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _enrolled_user(client: TestClient, ctx: Context, clock: Clock) -> tuple[User, str]:
    """Walk a new user through the first login; return the user and their TOTP secret."""
    user, one_time = factories.user(ctx, role=Role.CODER)
    ctx.session.flush()
    response = _post_login(client, user.username, one_time)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/password"
    form = client.get("/account/password")
    response = client.post(
        "/account/password",
        data={
            "current_password": one_time,
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
            "csrf_token": _csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account/totp"
    enrol = client.get("/account/totp")
    assert 'src="data:image/svg+xml' in enrol.text
    secret_match = re.search(r'class="secret">([A-Z2-7 ]+)<', enrol.text)
    assert secret_match
    secret = secret_match.group(1).replace(" ", "")
    code = pyotp.TOTP(secret).at(clock.now)
    response = client.post(
        "/account/totp", data={"code": code, "csrf_token": _csrf_of(enrol.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/")
    clock.advance(seconds=31)  # the enrolment code is spent
    return user, secret


def test_first_login_requires_a_new_password_and_totp_then_logs_in(
    client: TestClient, ctx: Context, clock: Clock
) -> None:
    user, secret = _enrolled_user(client, ctx, clock)
    home = client.get("/")
    assert f"Welcome, {user.username}" in home.text
    client.cookies.clear()
    response = _post_login(client, user.username, NEW_PASSWORD, pyotp.TOTP(secret).at(clock.now))
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_partial_sessions_cannot_reach_anything_but_the_login_steps(
    client: TestClient, ctx: Context, clock: Clock
) -> None:
    user, one_time = factories.user(ctx, role=Role.AUDITOR)
    ctx.session.flush()
    assert _post_login(client, user.username, one_time).status_code == 303
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/auth/me").status_code == 401


def test_totp_code_replay_and_steps_outside_one_are_refused(
    client: TestClient, ctx: Context, clock: Clock
) -> None:
    user, secret = _enrolled_user(client, ctx, clock)
    totp = pyotp.TOTP(secret)
    client.cookies.clear()
    clock.advance(seconds=90)  # well past the enrolment code's step
    for offset in (-60, 60):
        code = totp.at(clock.now.timestamp() + offset)
        assert _post_login(client, user.username, NEW_PASSWORD, code).status_code == 401
    code = totp.at(clock.now.timestamp() - 30)
    assert _post_login(client, user.username, NEW_PASSWORD, code).status_code == 303
    client.cookies.clear()
    # The same code again, also with a space, is a replay.
    assert _post_login(client, user.username, NEW_PASSWORD, code).status_code == 401
    assert _post_login(client, user.username, NEW_PASSWORD, code[:3] + " " + code[3:]).status_code == 401
    for malformed in ("", "12345", "1234567", "abcdef"):
        clock.advance(seconds=61)  # stay clear of the throttle
        assert _post_login(client, user.username, NEW_PASSWORD, malformed).status_code == 401


def test_unknown_user_and_wrong_password_get_the_same_answer_and_the_same_work(
    client: TestClient, ctx: Context, runtime: Runtime, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, _password = factories.user(ctx, role=Role.CODER)
    ctx.session.flush()
    calls: list[str] = []
    original_verify, original_dummy = runtime.passwords.verify, runtime.passwords.dummy_verify

    def counting_verify(hashed: str, password: str) -> bool:
        calls.append("verify")
        return original_verify(hashed, password)

    def counting_dummy(password: str) -> None:
        calls.append("dummy")
        original_dummy(password)

    monkeypatch.setattr(runtime.passwords, "verify", counting_verify)
    monkeypatch.setattr(runtime.passwords, "dummy_verify", counting_dummy)
    wrong = _post_login(client, user.username, "not the password at all")
    work_for_wrong = list(calls)
    calls.clear()
    unknown = _post_login(client, "no-such-person", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401

    def scrub(html: str, username: str) -> str:
        return re.sub(r'value="[^"]*"', 'value=""', html.replace(username, ""))

    assert scrub(wrong.text, user.username) == scrub(unknown.text, "no-such-person")
    assert len(work_for_wrong) == len(calls) == 1  # exactly one argon2 verification either way


def test_five_failures_a_minute_throttle_the_account_without_locking_it_out(
    client: TestClient, ctx: Context, clock: Clock
) -> None:
    user, secret = _enrolled_user(client, ctx, clock)
    client.cookies.clear()
    for _ in range(5):
        assert _post_login(client, user.username, "wrong wrong wrong wrong").status_code == 401
    code = pyotp.TOTP(secret).at(clock.now)
    throttled = _post_login(client, user.username, NEW_PASSWORD, code)
    assert throttled.status_code == 429
    clock.advance(seconds=61)
    code = pyotp.TOTP(secret).at(clock.now)
    assert _post_login(client, user.username, NEW_PASSWORD, code).status_code == 303


def test_failures_from_one_client_throttle_it_across_accounts(client: TestClient, clock: Clock) -> None:
    for index in range(5):
        assert _post_login(client, f"guess-{index}", "wrong wrong wrong wrong").status_code == 401
    assert _post_login(client, "guess-other", "wrong wrong wrong wrong").status_code == 429


def test_logins_and_failures_are_audited_without_content(
    client: TestClient, ctx: Context, clock: Clock, runtime: Runtime
) -> None:
    user, _ = factories.user(ctx, role=Role.CODER)
    ctx.session.flush()
    _post_login(client, user.username, "a wrong password of some length")
    _post_login(client, "nobody-here", "a wrong password of some length")
    with runtime.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.login").order_by(AuditEvent.seq)
        ).all()
    outcomes = [(event.outcome, event.object_id) for event in events[-2:]]
    assert outcomes == [("failed", str(user.id)), ("failed", None)]
    for event in events:
        assert "nobody" not in repr(event.__dict__)


def test_the_session_cookie_is_host_only_secure_httponly_and_strict(
    client: TestClient, ctx: Context, clock: Clock
) -> None:
    user, one_time = factories.user(ctx, role=Role.CODER)
    ctx.session.flush()
    response = _post_login(client, user.username, one_time)
    cookie = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and SESSION_COOKIE_SECURE in value
    )
    lowered = cookie.lower()
    assert cookie.startswith(SESSION_COOKIE_SECURE + "=")
    assert "secure" in lowered
    assert "httponly" in lowered
    assert "samesite=strict" in lowered
    assert "path=/" in lowered
    assert "domain=" not in lowered


def test_login_form_without_its_csrf_token_is_refused(client: TestClient, ctx: Context, clock: Clock) -> None:
    user, one_time = factories.user(ctx, role=Role.CODER)
    ctx.session.flush()
    client.get("/login")
    response = client.post(
        "/login",
        data={"username": user.username, "password": one_time, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_a_hash_made_with_older_parameters_is_upgraded_at_login(
    client: TestClient, ctx: Context, runtime: Runtime, clock: Clock
) -> None:
    from crypto.passwords import PasswordParams, Passwords

    user, one_time = factories.user(ctx, role=Role.CODER)
    legacy = Passwords(PasswordParams(memory_kib=8192, time_cost=2, parallelism=1)).hash(one_time)
    user.password_hash = legacy
    ctx.session.flush()
    assert runtime.passwords.needs_rehash(legacy)
    assert _post_login(client, user.username, one_time).status_code == 303
    ctx.session.refresh(user)
    assert user.password_hash != legacy
    assert not runtime.passwords.needs_rehash(user.password_hash)
    assert runtime.passwords.verify(user.password_hash, one_time)


def test_replacing_the_authenticator_needs_password_and_current_code_and_ends_other_sessions(
    client: TestClient, ctx: Context, clock: Clock
) -> None:
    user, secret = _enrolled_user(client, ctx, clock)
    csrf = _csrf_of(client.get("/account").text)
    code = pyotp.TOTP(secret).at(clock.now)
    wrong_password = client.post(
        "/account/totp/reset",
        data={"current_password": "not my password at all", "code": code, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert wrong_password.status_code == 422
    wrong_code = client.post(
        "/account/totp/reset",
        data={"current_password": NEW_PASSWORD, "code": "000000", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert wrong_code.status_code == 422
    old_cookie = client.cookies.get(SESSION_COOKIE_SECURE)
    done = client.post(
        "/account/totp/reset",
        data={"current_password": NEW_PASSWORD, "code": code, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/account/totp"
    assert client.get("/account/totp").status_code == 200  # the new session may enrol
    client.cookies.clear()
    assert old_cookie
    client.cookies.set(SESSION_COOKIE_SECURE, old_cookie)
    assert client.get("/api/v1/auth/me").status_code == 401  # the old session ended
    client.cookies.clear()
    clock.advance(seconds=90)
    # The old secret no longer logs in: the account is back at enrolment.
    response = _post_login(client, user.username, NEW_PASSWORD, pyotp.TOTP(secret).at(clock.now))
    assert response.headers["location"] == "/account/totp"
