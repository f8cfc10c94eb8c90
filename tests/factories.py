"""Factories for test data. Every name is fictional."""

from __future__ import annotations

import secrets

from app.auth import service as users
from app.auth.models import Role, User
from app.context import Context
from app.projects import service as projects
from app.projects.models import Project


def project(ctx: Context, *, name: str | None = None) -> Project:
    """A project with a unique name."""
    return projects.create(ctx, name=name or f"proj-{secrets.token_hex(8)}")


def user(
    ctx: Context,
    *,
    role: Role = Role.CODER,
    project_name: str | None = None,
    username: str | None = None,
) -> tuple[User, str]:
    """A user with one role (and a project made for it when needed) and their password."""
    if role is not Role.ADMIN and project_name is None:
        project_name = project(ctx).name
    new = users.create(
        ctx, username=username or f"user-{secrets.token_hex(8)}", role=role, project_name=project_name
    )
    return new.user, new.one_time_password
