"""User verbs: create, list, disable, grant roles.

One-time passwords are generated here and returned once to the caller (the CLI prints them); only their
argon2id hash is stored, and the user must change the password at first login. Every change to a user's
credentials, roles or status ends all of their sessions and tokens, and is audited.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import validation
from app.audit.service import Outcome
from app.auth import sessions, totp_store
from app.auth.models import PROJECT_ROLES, Membership, Role, RoleRequest, User, UserStatus
from app.context import Context
from app.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from app.projects import service as projects
from app.projects.models import Project
from crypto import totp

# 5 groups of 4 from a 31-character alphabet without look-alikes (about 99 bits), easy to read out once.
_OTP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def one_time_password() -> str:
    """A random first password that meets the password policy (24 characters, about 99 bits)."""
    groups = ("".join(secrets.choice(_OTP_ALPHABET) for _ in range(4)) for _ in range(5))
    return "-".join(groups)


def parse_role(value: str) -> Role:
    """Turn user input into a Role, with a message that lists the valid ones."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        choices = ", ".join(role.value for role in Role)
        raise InvalidInputError(f"unknown role {value!r} (choose from {choices})") from None


@dataclass(frozen=True)
class NewUser:
    """A freshly created user and the one-time password to hand over."""

    user: User
    one_time_password: str


def get_by_username(session: Session, *, username: str) -> User | None:
    """The user with this username, if any."""
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def get_by_username_or_raise(session: Session, *, username: str) -> User:
    """The user with this username, or NotFoundError."""
    user = get_by_username(session, username=username)
    if user is None:
        raise NotFoundError(f"no user named {username!r}")
    return user


def create(ctx: Context, *, username: str, role: Role, project_name: str | None = None) -> NewUser:
    """Create a user with one role: admin is global, project roles need a project."""
    session = ctx.session
    username = validation.handle(username, what="username")
    if role is Role.ADMIN and project_name:
        raise InvalidInputError("admin is a global role: leave out --project")
    if role in PROJECT_ROLES and not project_name:
        raise InvalidInputError(f"the {role.value} role is held in a project: add --project NAME")
    if get_by_username(session, username=username) is not None:
        raise ConflictError(f"a user named {username!r} already exists")
    project = projects.get_by_name_or_raise(session, name=project_name) if project_name else None
    password = one_time_password()
    user = User(
        username=username,
        password_hash=ctx.runtime.passwords.hash(password),
        is_admin=role is Role.ADMIN,
        must_change_password=True,
    )
    session.add(user)
    session.flush()
    ctx.audit("user.create", object_type="user", object_id=user.id)
    if project is not None:
        grant(ctx, user=user, project_id=project.id, role=role)
    return NewUser(user=user, one_time_password=password)


def grant(ctx: Context, *, user: User, project_id: uuid.UUID, role: Role) -> Membership:
    """Give a user a project role; granting a role they hold is a conflict. Their sessions end."""
    session = ctx.session
    if role not in PROJECT_ROLES:
        raise InvalidInputError("only interviewer, coder and auditor are project roles")
    existing = session.scalars(
        select(Membership).where(
            Membership.user_id == user.id, Membership.project_id == project_id, Membership.role == role
        )
    ).one_or_none()
    if existing is not None:
        raise ConflictError(f"{user.username!r} already holds that role in this project")
    membership = Membership(user_id=user.id, project_id=project_id, role=role)
    session.add(membership)
    session.flush()
    sessions.revoke_all(session, ctx.runtime, user_id=user.id)
    ctx.audit(
        "user.role_grant", object_type="user", object_id=user.id, project_id=project_id, reason=role.value
    )
    return membership


def list_all(session: Session) -> Sequence[User]:
    """Every user, by username."""
    return session.scalars(select(User).order_by(User.username)).all()


def roles_of(session: Session, *, user_id: uuid.UUID) -> list[tuple[str, str]]:
    """(project name, role) pairs a user holds, sorted."""
    rows = session.execute(
        select(Project.name, Membership.role)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == user_id)
        .order_by(Project.name, Membership.role)
    ).all()
    return [(name, role) for name, role in rows]


def disable(ctx: Context, *, username: str) -> User:
    """Disable a user; their history stays, their sessions end, they can no longer act."""
    user = get_by_username_or_raise(ctx.session, username=username)
    if user.status == UserStatus.DISABLED:
        raise ConflictError(f"{username!r} is already disabled")
    user.status = UserStatus.DISABLED
    user.disabled_at = ctx.runtime.clock()
    ctx.session.flush()
    sessions.revoke_all(ctx.session, ctx.runtime, user_id=user.id)
    ctx.audit("user.disable", object_type="user", object_id=user.id)
    return user


def set_password(ctx: Context, *, user: User, password: str) -> None:
    """Store a new password (already checked against the policy); every session of the user ends."""
    user.password_hash = ctx.runtime.passwords.hash(password)
    user.must_change_password = False
    user.password_changed_at = ctx.runtime.clock()
    ctx.session.flush()
    sessions.revoke_all(ctx.session, ctx.runtime, user_id=user.id)
    ctx.audit("auth.password_change", object_type="user", object_id=user.id)


def confirm_totp(ctx: Context, *, user: User, code: str) -> bool:
    """Complete TOTP enrolment with a first valid code; every session of the user ends."""
    if user.totp_secret is None:
        return False
    counter = totp.verify(
        totp_store.load(ctx, user), code, now=ctx.runtime.clock().timestamp(), last_counter=None
    )
    if counter is None:
        ctx.audit("auth.totp_enrol", object_type="user", object_id=user.id, outcome=Outcome.FAILED)
        return False
    user.totp_last_counter = counter
    user.totp_enrolled_at = ctx.runtime.clock()
    ctx.session.flush()
    sessions.revoke_all(ctx.session, ctx.runtime, user_id=user.id)
    ctx.audit("auth.totp_enrol", object_type="user", object_id=user.id)
    return True


def reset_totp(ctx: Context, *, username: str) -> User:
    """Forget a user's TOTP secret (lost device): they enrol again at next login; sessions end."""
    user = get_by_username_or_raise(ctx.session, username=username)
    _forget_totp(ctx, user, reason="operator")
    return user


def restart_totp(ctx: Context, *, user: User, password: str, code: str) -> bool:
    """A user replaces their own authenticator: step-up with password and a current code, then enrol anew."""
    valid = ctx.runtime.passwords.verify(user.password_hash, password)
    counter = None
    if valid and user.totp_enrolled_at is not None:
        counter = totp.verify(
            totp_store.load(ctx, user),
            code,
            now=ctx.runtime.clock().timestamp(),
            last_counter=user.totp_last_counter,
        )
    if counter is None:
        ctx.audit(
            "auth.totp_reset", object_type="user", object_id=user.id, outcome=Outcome.FAILED, reason="self"
        )
        return False
    _forget_totp(ctx, user, reason="self")
    return True


def _forget_totp(ctx: Context, user: User, *, reason: str) -> None:
    user.totp_secret = None
    user.totp_last_counter = None
    user.totp_enrolled_at = None
    ctx.session.flush()
    sessions.revoke_all(ctx.session, ctx.runtime, user_id=user.id)
    ctx.audit("auth.totp_reset", object_type="user", object_id=user.id, reason=reason)


@dataclass(frozen=True)
class RoleChange:
    """The result of asking for a role change: applied at once, or waiting for a second admin."""

    applied: bool
    request: RoleRequest | None = None


def needs_second_admin(ctx: Context, *, user: User, role: Role) -> bool:
    """Granting oneself anything, or making anyone an admin, needs another administrator's approval."""
    return role is Role.ADMIN or (ctx.actor is not None and ctx.actor.user_id == user.id)


def change_role(ctx: Context, *, user: User, role: Role, project_id: uuid.UUID | None) -> RoleChange:
    """Grant a role as an administrator; self-grants and admin grants wait for a second administrator."""
    if role is Role.ADMIN and project_id is not None:
        raise InvalidInputError("admin is a global role: leave out the project")
    if role in PROJECT_ROLES and project_id is None:
        raise InvalidInputError(f"the {role.value} role is held in a project")
    if not user.is_active:
        raise ConflictError("that user is disabled")
    if not needs_second_admin(ctx, user=user, role=role) and project_id is not None:
        grant(ctx, user=user, project_id=project_id, role=role)
        return RoleChange(applied=True)
    assert ctx.actor is not None  # noqa: S101 - only an acting admin reaches this
    request = RoleRequest(
        requested_by=ctx.actor.user_id,
        user_id=user.id,
        project_id=project_id,
        role=role,
        created_at=ctx.runtime.clock(),
    )
    ctx.session.add(request)
    ctx.session.flush()
    ctx.audit("user.role_request", object_type="role_request", object_id=request.id, project_id=project_id)
    return RoleChange(applied=False, request=request)


def pending_requests(session: Session) -> Sequence[RoleRequest]:
    """Role requests waiting for a decision, oldest first."""
    return session.scalars(
        select(RoleRequest).where(RoleRequest.decision.is_(None)).order_by(RoleRequest.created_at)
    ).all()


def decide(ctx: Context, *, request_id: uuid.UUID, approve: bool) -> RoleRequest:
    """Approve or reject a pending request; the requester cannot decide their own request."""
    assert ctx.actor is not None  # noqa: S101 - only an acting admin reaches this
    request = ctx.session.get(RoleRequest, request_id)
    if request is None or request.decision is not None:
        raise NotFoundError()
    if request.requested_by == ctx.actor.user_id or request.user_id == ctx.actor.user_id:
        raise ForbiddenError("A second administrator must decide this request.")
    request.decision = "approved" if approve else "rejected"
    request.decided_by = ctx.actor.user_id
    request.decided_at = ctx.runtime.clock()
    ctx.session.flush()
    ctx.audit(
        "user.role_request_" + request.decision,
        object_type="role_request",
        object_id=request.id,
        project_id=request.project_id,
    )
    if approve:
        user = ctx.session.get(User, request.user_id)
        if user is None or not user.is_active:
            raise ConflictError("that user no longer exists or is disabled")
        role = Role(request.role)
        if role is Role.ADMIN:
            make_admin(ctx, user=user)
        else:
            assert request.project_id is not None  # noqa: S101 - project roles always carry a project
            grant(ctx, user=user, project_id=request.project_id, role=role)
    return request


def make_admin(ctx: Context, *, user: User) -> None:
    """Give a user the global admin role (after a second administrator approved); their sessions end."""
    if user.is_admin:
        raise ConflictError(f"{user.username!r} is already an administrator")
    user.is_admin = True
    ctx.session.flush()
    sessions.revoke_all(ctx.session, ctx.runtime, user_id=user.id)
    ctx.audit("user.role_grant", object_type="user", object_id=user.id, reason="admin")
