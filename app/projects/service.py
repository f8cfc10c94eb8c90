"""Project verbs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import validation
from app.coding import codebook
from app.context import Context
from app.errors import ConflictError, NotFoundError
from app.projects.models import Project


def get_by_name(session: Session, *, name: str) -> Project | None:
    """The project with this name, if any."""
    return session.scalars(select(Project).where(Project.name == name)).one_or_none()


def get_by_name_or_raise(session: Session, *, name: str) -> Project:
    """The project with this name, or NotFoundError."""
    project = get_by_name(session, name=name)
    if project is None:
        raise NotFoundError(f"no project named {name!r}")
    return project


def create(ctx: Context, *, name: str, seed_codebook: bool = True) -> Project:
    """Create a project with a unique name and the default codebook (unless an import brings its own)."""
    name = validation.handle(name, what="project name")
    if get_by_name(ctx.session, name=name) is not None:
        raise ConflictError(f"a project named {name!r} already exists")
    project = Project(name=name)
    ctx.session.add(project)
    ctx.session.flush()
    ctx.audit("project.create", object_type="project", object_id=project.id, project_id=project.id)
    if seed_codebook:
        codebook.seed_default(ctx, project_id=project.id)
    return project


def list_all(session: Session) -> Sequence[Project]:
    """Every project, by name."""
    return session.scalars(select(Project).order_by(Project.name)).all()
