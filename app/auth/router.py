"""The authentication API for scripts: tokens and who-am-I."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field

from app.auth import login as login_service
from app.auth import service as users
from app.auth import sessions
from app.auth.deps import PublicContext, SelfService
from app.auth.models import ApiToken, SessionStage
from app.errors import AppError, ErrorEnvelope, ForbiddenError, InvalidInputError, UnauthenticatedError

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenCreate(BaseModel):
    """Credentials for a new API token."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=4096)
    code: str = Field(max_length=16, description="the current TOTP code")
    expires: str = Field(default="1h", max_length=8, description="lifetime such as 90m, 1h or 7d")


class TokenRead(BaseModel):
    """A new API token: shown once."""

    token: str
    expires_at: datetime


class MeRead(BaseModel):
    """The caller and their roles."""

    username: str
    is_admin: bool
    # (project, role) pairs; a list rather than a tuple so the OpenAPI schema is valid 3.1 (no array `items`).
    roles: list[Annotated[list[str], Field(min_length=2, max_length=2)]]


class TooManyAttemptsError(AppError):
    """Throttled login."""

    status_code = 429
    code = "too_many_requests"


@router.post(
    "/token",
    status_code=201,
    responses={429: {"model": ErrorEnvelope, "description": "Too many failed attempts: wait a minute."}},
)
def create_token(request: Request, ctx: PublicContext, body: Annotated[TokenCreate, Body()]) -> TokenRead:
    """Exchange password and TOTP code for an expiring bearer token (audited)."""
    try:
        lifetime = sessions.parse_lifetime(body.expires)
    except ValueError as exc:
        raise InvalidInputError(f"expires: {exc}") from None
    client = request.client.host if request.client else "unknown"
    result = login_service.authenticate(
        ctx, username=body.username, password=body.password, code=body.code, client=client
    )
    if result.outcome is login_service.LoginOutcome.THROTTLED:
        raise TooManyAttemptsError("Too many attempts. Wait a minute and try again.")
    if result.user is None:
        # Commit the failure record and audit entry: this is an answer, not an error to roll back.
        ctx.session.commit()
        raise UnauthenticatedError("Invalid username, password or code.")
    if result.stage is not SessionStage.FULL:
        ctx.session.commit()
        raise ForbiddenError("Finish your first login in the browser (new password, authenticator) first.")
    row, clear = sessions.issue_token(ctx.session, ctx.runtime, user=result.user, lifetime=lifetime)
    ctx.audit("auth.token_issue", object_type="api_token", object_id=row.id)
    return TokenRead(token=clear, expires_at=row.expires_at)


@router.delete("/token", status_code=204)
def revoke_token(ctx: SelfService) -> None:
    """Revoke the bearer token used for this request."""
    assert ctx.actor is not None  # noqa: S101 - require() always sets the actor
    if ctx.actor.token_id is None:
        raise InvalidInputError("This request did not use an API token.")
    token = ctx.session.get(ApiToken, ctx.actor.token_id)
    if token is not None:
        token.revoked_at = ctx.runtime.clock()
    ctx.audit("auth.token_revoke", object_type="api_token", object_id=ctx.actor.token_id)


@router.get("/me")
def me(ctx: SelfService) -> MeRead:
    """Who the caller is."""
    assert ctx.actor is not None  # noqa: S101 - require() always sets the actor
    return MeRead(
        username=ctx.actor.username,
        is_admin=ctx.actor.is_admin,
        roles=[list(pair) for pair in users.roles_of(ctx.session, user_id=ctx.actor.user_id)],
    )
