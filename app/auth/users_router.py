"""User administration for admins: accounts and roles, never testimony.

A role an admin grants to themselves, and the admin role for anyone, take effect only when a second
administrator approves the request; both steps are audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, Field

from app.auth import service as users
from app.auth.deps import UserAdmin
from app.auth.models import Role, RoleRequest, User
from app.errors import ConflictError, NotFoundError
from app.projects import service as projects

router = APIRouter(prefix="/api/v1", tags=["users"])


class UserRead(BaseModel):
    """An account: handle, status and roles (users have no identity fields)."""

    id: uuid.UUID
    username: str
    status: str
    is_admin: bool
    roles: list[tuple[str, str]]


class UserCreate(BaseModel):
    """A new account with one role."""

    username: str = Field(max_length=64)
    role: str = Field(max_length=16)
    project: str | None = Field(default=None, max_length=64)


class UserCreated(BaseModel):
    """The new account and its one-time password, shown once."""

    user: UserRead
    one_time_password: str


class RoleGrant(BaseModel):
    """A role to grant; project roles name their project."""

    role: str = Field(max_length=16)
    project: str | None = Field(default=None, max_length=64)


class RoleRequestRead(BaseModel):
    """A role change waiting for (or decided by) a second administrator."""

    id: uuid.UUID
    requested_by: uuid.UUID
    user_id: uuid.UUID
    project_id: uuid.UUID | None
    role: str
    created_at: datetime
    decision: str | None


class RoleChangeRead(BaseModel):
    """Applied at once, or pending with the request to approve."""

    applied: bool
    request: RoleRequestRead | None


def _read(ctx: UserAdmin, user: User) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        status=user.status,
        is_admin=user.is_admin,
        roles=users.roles_of(ctx.session, user_id=user.id),
    )


def _user(ctx: UserAdmin, user_id: uuid.UUID) -> User:
    user = ctx.session.get(User, user_id)
    if user is None:
        raise NotFoundError()
    return user


def _request_read(request: RoleRequest) -> RoleRequestRead:
    return RoleRequestRead.model_validate(request, from_attributes=True)


@router.get("/users")
def list_users(ctx: UserAdmin) -> list[UserRead]:
    """Every account, by username."""
    return [_read(ctx, user) for user in users.list_all(ctx.session)]


@router.post("/users", status_code=201)
def create_user(ctx: UserAdmin, body: Annotated[UserCreate, Body()]) -> UserCreated:
    """Create an account with a project role (admins are made through a role request)."""
    role = users.parse_role(body.role)
    if role is Role.ADMIN:
        raise ConflictError("create the account with a project role, then request the admin role for it")
    new = users.create(ctx, username=body.username, role=role, project_name=body.project)
    return UserCreated(user=_read(ctx, new.user), one_time_password=new.one_time_password)


@router.post("/users/{user_id}/disable", status_code=204)
def disable_user(ctx: UserAdmin, user_id: uuid.UUID) -> Response:
    """Disable an account: its sessions and tokens end at once."""
    assert ctx.actor is not None  # noqa: S101 - require() always sets the actor
    user = _user(ctx, user_id)
    if user.id == ctx.actor.user_id:
        raise ConflictError("you cannot disable your own account; ask another administrator")
    users.disable(ctx, username=user.username)
    return Response(status_code=204)


@router.post("/users/{user_id}/roles")
def grant_role(
    ctx: UserAdmin, user_id: uuid.UUID, body: Annotated[RoleGrant, Body()], response: Response
) -> RoleChangeRead:
    """Grant a role: applied at once (201), or waiting for a second administrator (202) when self or admin."""
    user = _user(ctx, user_id)
    role = users.parse_role(body.role)
    project_id = projects.get_by_name_or_raise(ctx.session, name=body.project).id if body.project else None
    change = users.change_role(ctx, user=user, role=role, project_id=project_id)
    response.status_code = 201 if change.applied else 202
    return RoleChangeRead(
        applied=change.applied, request=_request_read(change.request) if change.request else None
    )


@router.get("/role-requests")
def list_role_requests(ctx: UserAdmin) -> list[RoleRequestRead]:
    """Role changes waiting for a second administrator."""
    return [_request_read(request) for request in users.pending_requests(ctx.session)]


@router.post("/role-requests/{request_id}/approve")
def approve_role_request(ctx: UserAdmin, request_id: uuid.UUID) -> RoleRequestRead:
    """Approve a request made by another administrator; the role takes effect and the user's sessions end."""
    return _request_read(users.decide(ctx, request_id=request_id, approve=True))


@router.post("/role-requests/{request_id}/reject")
def reject_role_request(ctx: UserAdmin, request_id: uuid.UUID) -> RoleRequestRead:
    """Reject a request made by another administrator."""
    return _request_read(users.decide(ctx, request_id=request_id, approve=False))
