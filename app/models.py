"""The one place that imports every domain's models, so Alembic and the tests see one metadata."""

from app.auth.models import Membership, User
from app.db import Base
from app.projects.models import Project

__all__ = ["Base", "Membership", "Project", "User"]
