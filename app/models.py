"""The one place that imports every domain's models, so Alembic and the tests see one metadata."""

from app.audit.models import AuditCheckpoint, AuditEvent
from app.auth.models import ApiToken, AuthSession, LoginFailure, Membership, RoleRequest, User
from app.db import Base
from app.identities.models import Person, PersonNameIndex
from app.keys.models import DataKey
from app.projects.models import Project

__all__ = [
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuthSession",
    "Base",
    "DataKey",
    "LoginFailure",
    "Membership",
    "Person",
    "PersonNameIndex",
    "Project",
    "RoleRequest",
    "User",
]
