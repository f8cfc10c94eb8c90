"""Authentication and authorisation dependencies: every route declares its action or that it is public.

`require(action)` resolves the caller from a bearer token or the session cookie, checks CSRF on unsafe
cookie-authenticated requests, checks the policy, and hands the route a `Context`. `public` marks the short
allowlist of routes anyone may call. tests/auth/test_route_policy.py walks every route of the app and fails
when one declares neither, so deny-by-default cannot be forgotten.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth import sessions
from app.auth.actor import Actor
from app.auth.models import AuthSession, SessionStage
from app.auth.policy import Action
from app.context import Context
from app.deps import RuntimeDep, SessionDep
from app.errors import ForbiddenError, NotFoundError, UnauthenticatedError
from app.runtime import Runtime

SESSION_COOKIE_SECURE = "__Host-harbour"
SESSION_COOKIE_PLAIN = "harbour_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FULL_ONLY = frozenset({SessionStage.FULL})


def cookie_name(runtime: Runtime) -> str:
    """`__Host-` cookies must be Secure; plain-http development uses an unprefixed name."""
    return SESSION_COOKIE_SECURE if runtime.settings.cookie_secure else SESSION_COOKIE_PLAIN


async def _submitted_csrf(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf_token")
        return value if isinstance(value, str) else None
    return None


async def _csrf_of(request: Request) -> str | None:
    """The CSRF token an unsafe request carries (reading a form body is the only async part)."""
    return None if request.method in _SAFE_METHODS else await _submitted_csrf(request)


def _authenticate(
    request: Request, session: Session, runtime: Runtime, *, stages: frozenset[SessionStage], csrf: str | None
) -> tuple[Actor, AuthSession | None]:
    """Find the caller from a bearer token or the session cookie (database work: run in the thread pool)."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        actor = sessions.token_actor(session, runtime, clear=authorization[7:].strip())
        if actor is None:
            raise UnauthenticatedError("Missing, expired or revoked token.")
        request.state.actor = actor
        Context(session, runtime, actor).audit(
            "auth.token_use", object_type="api_token", object_id=actor.token_id
        )
        return actor, None
    sid = request.cookies.get(cookie_name(runtime))
    row = sessions.find(session, runtime, sid=sid) if sid else None
    if sid is None or row is None or SessionStage(row.stage) not in stages:
        raise UnauthenticatedError("Please log in.")
    actor = sessions.actor_for(session, user_id=row.user_id, session_id=row.id)
    if actor is None:
        raise UnauthenticatedError("Please log in.")
    request.state.actor = actor
    request.state.sid = sid
    if request.method not in _SAFE_METHODS and not sessions.csrf_matches(runtime, sid, csrf):
        raise ForbiddenError("The form has expired or did not come from this site; reload and try again.")
    return actor, row


def require(action: Action) -> Callable[..., Awaitable[Context]]:
    """A dependency allowing the action to callers whose roles allow it somewhere.

    Everyone else is refused before any object is loaded: 404 on a route about one object (its path names
    an id), so a role-level refusal looks exactly like an object the caller cannot see; 403 elsewhere.
    """

    async def dependency(request: Request, session: SessionDep, runtime: RuntimeDep) -> Context:
        csrf = await _csrf_of(request)
        actor, _row = await run_in_threadpool(
            _authenticate, request, session, runtime, stages=_FULL_ONLY, csrf=csrf
        )
        if not actor.may(action):
            if _names_an_object(request):
                raise NotFoundError()
            raise ForbiddenError("Your role does not allow this.")
        return Context(session, runtime, actor)

    dependency.harbour_action = action  # type: ignore[attr-defined]
    return dependency


def _names_an_object(request: Request) -> bool:
    """Whether the matched route's path holds a parameter (an object id)."""
    route = request.scope.get("route")
    return "{" in str(getattr(route, "path", ""))


async def login_stage(
    request: Request, session: SessionDep, runtime: RuntimeDep
) -> tuple[Context, AuthSession]:
    """For the pages that finish a login (password change, TOTP enrolment): any live session stage."""
    csrf = await _csrf_of(request)
    actor, row = await run_in_threadpool(
        _authenticate, request, session, runtime, stages=frozenset(SessionStage), csrf=csrf
    )
    if row is None:
        raise UnauthenticatedError("Please log in.")
    return Context(session, runtime, actor), row


login_stage.harbour_action = Action.SELF  # type: ignore[attr-defined]


def public(request: Request, session: SessionDep, runtime: RuntimeDep) -> Context:
    """Marks a route anyone may call; gives it a context with the caller if one is logged in."""
    sid = request.cookies.get(cookie_name(runtime))
    row = sessions.find(session, runtime, sid=sid) if sid else None
    actor = None
    if row is not None and row.stage == SessionStage.FULL:
        actor = sessions.actor_for(session, user_id=row.user_id, session_id=row.id)
        request.state.sid = sid
    return Context(session, runtime, actor)


public.harbour_public = True  # type: ignore[attr-defined]

PublicContext = Annotated[Context, Depends(public)]
LoginStage = Annotated[tuple[Context, AuthSession], Depends(login_stage)]
SelfService = Annotated[Context, Depends(require(Action.SELF))]
UserAdmin = Annotated[Context, Depends(require(Action.USERS_MANAGE))]
AuditReader = Annotated[Context, Depends(require(Action.AUDIT_READ))]
AuditVerifier = Annotated[Context, Depends(require(Action.AUDIT_VERIFY))]
