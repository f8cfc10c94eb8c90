"""Login, first-login steps (password change, TOTP enrolment), logout and the account page."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth import login as login_service
from app.auth import password_policy, sessions, totp_store
from app.auth import service as users
from app.auth.deps import LoginStage, PublicContext, SelfService, cookie_name
from app.auth.models import AuthSession, SessionStage, User
from app.context import Context
from app.errors import InvalidInputError
from app.web.render import page
from crypto import totp

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "harbour_login_csrf"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _set_session_cookie(response: Response, ctx: Context, sid: str) -> None:
    settings = ctx.runtime.settings
    response.set_cookie(
        cookie_name(ctx.runtime),
        sid,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def _continue(ctx: Context, user: User, stage: SessionStage, *, done: str | None = None) -> RedirectResponse:
    """Start a fresh session at the given stage (a new id at every step) and send the user on."""
    new = sessions.start(ctx.session, ctx.runtime, user=user, stage=stage)
    target = {
        SessionStage.CHANGE_PASSWORD: "/account/password",
        SessionStage.ENROL_TOTP: "/account/totp",
        SessionStage.FULL: "/" + (f"?done={done}" if done else ""),
    }[stage]
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(response, ctx, new.sid)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, ctx: PublicContext) -> Response:
    """The login page."""
    if ctx.actor is not None:
        return RedirectResponse("/", status_code=303)
    return _login_page(request, ctx)


def _login_page(request: Request, ctx: Context, *, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(request, "auth/login.html", ctx, {"login_csrf": token, "error": error}, status=status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/login",
        secure=ctx.runtime.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    ctx: PublicContext,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=4096)],
    csrf_token: Annotated[str, Form(max_length=100)],
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Check the credentials; on success start a session at the right stage."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(request, ctx, error="The form expired; please try again.", status=403)
    result = login_service.authenticate(
        ctx, username=username, password=password, code=code, client=_client(request)
    )
    if result.outcome is login_service.LoginOutcome.THROTTLED:
        return _login_page(request, ctx, error="Too many attempts. Wait a minute and try again.", status=429)
    if result.user is None or result.stage is None:
        return _login_page(request, ctx, error="Invalid username, password or code.", status=401)
    response = _continue(ctx, result.user, result.stage)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, stage: LoginStage) -> Response:
    """End this session."""
    ctx, row = stage
    sessions.revoke(ctx.session, ctx.runtime, row=row)
    ctx.audit("auth.logout", object_type="user", object_id=row.user_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(cookie_name(ctx.runtime), path="/")
    return response


@router.post("/account/logout-all")
def logout_everywhere(request: Request, ctx: SelfService) -> Response:
    """End every session and API token of this user."""
    assert ctx.actor is not None  # noqa: S101 - require() always sets the actor
    sessions.revoke_all(ctx.session, ctx.runtime, user_id=ctx.actor.user_id)
    ctx.audit("auth.logout_all", object_type="user", object_id=ctx.actor.user_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(cookie_name(ctx.runtime), path="/")
    return response


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, ctx: SelfService) -> Response:
    """The caller's account: roles, password change, log out everywhere."""
    assert ctx.actor is not None  # noqa: S101 - require() always sets the actor
    roles = users.roles_of(ctx.session, user_id=ctx.actor.user_id)
    return page(request, "auth/account.html", ctx, {"roles": roles})


def _user_of(ctx: Context, row: AuthSession) -> User:
    user = ctx.session.get(User, row.user_id)
    assert user is not None  # noqa: S101 - the session's user exists (FK, checked by actor_for)
    return user


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, stage: LoginStage) -> Response:
    """The password change page (required at first login)."""
    ctx, row = stage
    return page(
        request, "auth/password.html", ctx, {"first_login": row.stage == SessionStage.CHANGE_PASSWORD}
    )


@router.post("/account/password", response_class=HTMLResponse)
def password_submit(
    request: Request,
    stage: LoginStage,
    current_password: Annotated[str, Form(max_length=4096)],
    new_password: Annotated[str, Form(max_length=4096)],
    repeat_password: Annotated[str, Form(max_length=4096)],
) -> Response:
    """Change the password; every other session of the user ends."""
    ctx, row = stage
    user = _user_of(ctx, row)
    first_login = row.stage == SessionStage.CHANGE_PASSWORD
    try:
        if not ctx.runtime.passwords.verify(user.password_hash, current_password):
            raise InvalidInputError("The current password is not right.")
        if new_password != repeat_password:
            raise InvalidInputError("The two new passwords differ.")
        normalised = password_policy.check(new_password, username=user.username)
    except InvalidInputError as exc:
        return page(
            request, "auth/password.html", ctx, {"error": exc.message, "first_login": first_login}, status=422
        )
    users.set_password(ctx, user=user, password=normalised)
    return _continue(ctx, user, login_service.stage_after_password(ctx, user), done="password")


@router.get("/account/totp", response_class=HTMLResponse)
def totp_form(request: Request, stage: LoginStage) -> Response:
    """TOTP enrolment at first login: a QR code to scan and a code to confirm."""
    ctx, row = stage
    if row.stage != SessionStage.ENROL_TOTP:
        return RedirectResponse("/account", status_code=303)
    user = _user_of(ctx, row)
    secret = totp.new_secret()
    totp_store.store(ctx, user, secret)
    uri = totp.provisioning_uri(secret, account=user.username)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, dark="#1b1f24", light="#ffffff")
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return page(request, "auth/totp.html", ctx, {"qr": qr, "secret": grouped})


@router.post("/account/totp", response_class=HTMLResponse)
def totp_submit(request: Request, stage: LoginStage, code: Annotated[str, Form(max_length=16)]) -> Response:
    """Confirm enrolment with a first code; the login then completes."""
    ctx, row = stage
    if row.stage != SessionStage.ENROL_TOTP:
        return RedirectResponse("/account", status_code=303)
    user = _user_of(ctx, row)
    if not users.confirm_totp(ctx, user=user, code=code):
        return page(
            request,
            "auth/totp.html",
            ctx,
            {"error": "That code did not match. Scan the code again and enter the current six digits."},
            status=422,
        )
    return _continue(ctx, user, SessionStage.FULL, done="totp")


@router.post("/account/totp/reset", response_class=HTMLResponse)
def totp_restart(
    request: Request,
    ctx: SelfService,
    current_password: Annotated[str, Form(max_length=4096)],
    code: Annotated[str, Form(max_length=16)],
) -> Response:
    """Replace one's own authenticator after proving both factors; every session ends, enrolment follows."""
    assert ctx.actor is not None  # noqa: S101 - require() always sets the actor
    user = ctx.session.get(User, ctx.actor.user_id)
    assert user is not None  # noqa: S101 - the actor's user exists
    if not users.restart_totp(ctx, user=user, password=current_password, code=code):
        roles = users.roles_of(ctx.session, user_id=user.id)
        message = "The password or the code is not right; your authenticator is unchanged."
        return page(request, "auth/account.html", ctx, {"roles": roles, "totp_error": message}, status=422)
    return _continue(ctx, user, SessionStage.ENROL_TOTP)
